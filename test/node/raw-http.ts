// HTTP/1.1 over one real TCP connection, byte for byte: what `fetch` hides (keep-alive reuse,
// a response that arrives while the request body is still being sent, a reset connection).
import { connect as tcpConnect, type Socket } from 'node:net';

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** A response, or why none arrived: the connection closed, was reset, or nothing came in time. */
export type RawResult = RawResponse | { error: string };

export interface RawConnection {
  /** Resolves false when the connection is already gone or the write fails. */
  write(data: string | Uint8Array): Promise<boolean>;
  readResponse(timeoutMs?: number): Promise<RawResult>;
  close(): void;
}

/** Opens one connection to `http://host:port`. */
export function rawConnect(url: string): Promise<RawConnection> {
  const { hostname, port } = new URL(url);
  const socket: Socket = tcpConnect(Number(port), hostname);
  let buffered = Buffer.alloc(0);
  let ended: string | undefined;
  const waiters: (() => void)[] = [];
  const wake = () => waiters.splice(0).forEach((wakeUp) => wakeUp());
  socket.on('data', (data) => {
    buffered = Buffer.concat([buffered, data]);
    wake();
  });
  socket.on('close', () => {
    ended ??= 'closed';
    wake();
  });
  socket.on('error', (err: NodeJS.ErrnoException) => {
    ended = err.code ?? err.message;
    wake();
  });

  /** One complete response at the front of the buffer (Content-Length or chunked), if there is one. */
  const take = (): RawResponse | undefined => {
    const headEnd = buffered.indexOf('\r\n\r\n');
    if (headEnd === -1) return undefined;
    const [statusLine, ...lines] = buffered.subarray(0, headEnd).toString('latin1').split('\r\n');
    const headers = Object.fromEntries(lines.map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]));
    const status = Number(statusLine!.split(' ')[1]);
    const rest = buffered.subarray(headEnd + 4);
    if (headers['transfer-encoding']?.toLowerCase() === 'chunked') {
      const parts: Buffer[] = [];
      for (let offset = 0; ;) {
        const lineEnd = rest.indexOf('\r\n', offset);
        if (lineEnd === -1) return undefined;
        const size = parseInt(rest.subarray(offset, lineEnd).toString('latin1'), 16);
        if (rest.length < lineEnd + 2 + size + 2) return undefined;
        parts.push(rest.subarray(lineEnd + 2, lineEnd + 2 + size));
        offset = lineEnd + 2 + size + 2;
        if (size === 0) {
          buffered = rest.subarray(offset);
          return { status, headers, body: Buffer.concat(parts).toString('utf8') };
        }
      }
    }
    const length = Number(headers['content-length'] ?? 0);
    if (rest.length < length) return undefined;
    buffered = rest.subarray(length);
    return { status, headers, body: rest.subarray(0, length).toString('utf8') };
  };

  const connection: RawConnection = {
    write: (data) =>
      new Promise((resolve) => {
        if (ended) return resolve(false);
        socket.write(data, (err) => resolve(!err));
      }),
    async readResponse(timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const response = take();
        if (response) return response;
        if (ended) return { error: ended };
        const left = deadline - Date.now();
        if (left <= 0) return { error: 'timeout' };
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, left);
          waiters.push(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
    },
    close: () => socket.destroy(),
  };
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(connection));
    socket.once('error', reject);
  });
}

/** A request head (no body); `Host` is the URL's. */
export function requestHead(method: string, url: string, headers: Record<string, string> = {}): string {
  const target = new URL(url);
  const lines = Object.entries({ Host: target.host, ...headers }).map(([name, value]) => `${name}: ${value}\r\n`);
  return `${method} ${target.pathname}${target.search} HTTP/1.1\r\n${lines.join('')}\r\n`;
}

const CHUNK = 64 * 1024;

/** Sends a body of `size` bytes of `a`, declared with Content-Length, in 64 KiB writes. */
export async function sendDeclared(connection: RawConnection, method: string, url: string, headers: Record<string, string>, size: number): Promise<void> {
  if (!(await connection.write(requestHead(method, url, { ...headers, 'Content-Length': String(size) })))) return;
  const chunk = Buffer.alloc(CHUNK, 'a');
  for (let sent = 0; sent < size; sent += CHUNK) if (!(await connection.write(chunk.subarray(0, Math.min(CHUNK, size - sent))))) return;
}

/** Sends a body of `size` bytes of `a` with `Transfer-Encoding: chunked`, 64 KiB per chunk. */
export async function sendChunked(connection: RawConnection, method: string, url: string, headers: Record<string, string>, size: number): Promise<void> {
  if (!(await connection.write(requestHead(method, url, { ...headers, 'Transfer-Encoding': 'chunked' })))) return;
  const chunk = Buffer.alloc(CHUNK, 'a');
  for (let sent = 0; sent < size; sent += CHUNK) {
    const part = chunk.subarray(0, Math.min(CHUNK, size - sent));
    if (!(await connection.write(Buffer.concat([Buffer.from(`${part.length.toString(16)}\r\n`), part, Buffer.from('\r\n')])))) return;
  }
  await connection.write('0\r\n\r\n');
}

/** `status` of a response, or the reason there was none (so a failed expectation says what happened). */
export function statusOf(result: RawResult): number | string {
  return 'status' in result ? result.status : result.error;
}

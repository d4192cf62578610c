/**
 * Reads a response body into memory, but never more than `maxBytes`: the stream is cancelled as
 * soon as it is too large (a declared Content-Length is checked first). Returns undefined when too
 * large. For request bodies use `readRequestBody`, which never leaves one half read.
 */
export async function readLimited(
  body: ReadableStream<Uint8Array> | null,
  declaredLength: string | null | undefined,
  maxBytes: number,
): Promise<Uint8Array | undefined> {
  if ((contentLength(declaredLength ?? null) ?? 0) > maxBytes) {
    await body?.cancel();
    return undefined;
  }
  if (!body) return new Uint8Array(0);
  const reader = body.getReader();
  const read = await readAtMost(reader, maxBytes);
  if (read.bytes) return read.bytes;
  await reader.cancel();
  return undefined;
}

/** How much of an over-limit request body is read and thrown away, and for how long. */
export interface DrainLimits {
  /** The longest body read to its end; a longer declared Content-Length is not read at all. */
  maxBytes: number;
  /** Reading stops after this long (a body that trickles in). */
  maxMilliseconds: number;
}

/**
 * RFC 9112 §9.6: a server that refuses a request before its body is complete keeps reading it
 * ("lingering close"), or the client may get a reset instead of the answer. workerd does not: it
 * closes a connection whose request body was not read to its end and resets it while bytes still
 * arrive, and `wrangler dev` fails on a request body that was read in part and then cancelled.
 * So the rest of an over-limit body is read and discarded (memory stays at the cap), within these
 * bounds: the 4xx reaches the client and the connection stays usable.
 */
export const REQUEST_BODY_DRAIN: DrainLimits = { maxBytes: 32 * 1024 * 1024, maxMilliseconds: 5_000 };

/**
 * Reads a request body into memory, never more than `maxBytes`; undefined when it is larger.
 * The rest of a larger body is read and discarded within `drain`; a declared Content-Length past
 * `drain.maxBytes` is refused without touching the body (the runtime then closes the connection).
 * Rejects when the body fails while being read within the cap (the client went away).
 */
export async function readRequestBody(request: Request, maxBytes: number, drain: DrainLimits = REQUEST_BODY_DRAIN): Promise<Uint8Array | undefined> {
  const body = request.body;
  if (!body) return new Uint8Array(0);
  const declared = contentLength(request.headers.get('Content-Length'));
  if (declared !== undefined && declared > maxBytes) {
    if (declared <= drain.maxBytes) await discard(body.getReader(), 0, drain);
    return undefined;
  }
  const reader = body.getReader();
  const read = await readAtMost(reader, maxBytes);
  if (read.bytes) return read.bytes;
  await discard(reader, read.size, drain);
  return undefined;
}

/**
 * The one bounded read: a stream's bytes to its end, or, at the first chunk past `maxBytes`, no
 * bytes and how many were read (the caller cancels or drains the rest). Memory stays at the cap.
 */
async function readAtMost(reader: ReadableStreamDefaultReader<Uint8Array>, maxBytes: number): Promise<{ bytes?: Uint8Array; size: number }> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return { bytes: concat(chunks, size), size };
    size += value.byteLength;
    if (size > maxBytes) return { size };
    chunks.push(value);
  }
}

/** RFC 9110 §8.6: Content-Length = 1*DIGIT; anything else is not a declared length. */
function contentLength(header: string | null): number | undefined {
  return header !== null && /^\d{1,15}$/.test(header) ? Number(header) : undefined;
}

/** Reads and drops the rest of a body, `alreadyRead` bytes in; cancels it at a bound. */
async function discard(reader: ReadableStreamDefaultReader<Uint8Array>, alreadyRead: number, limits: DrainLimits): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<'expired'>((resolve) => {
    timer = setTimeout(() => resolve('expired'), limits.maxMilliseconds);
  });
  try {
    for (let read = alreadyRead; read <= limits.maxBytes;) {
      const result = await Promise.race([reader.read(), expired]);
      if (result === 'expired') break;
      if (result.done) return;
      read += result.value.byteLength;
    }
    await reader.cancel();
  } catch {
    // The client went away: nothing is left to read.
  } finally {
    clearTimeout(timer);
  }
}

function concat(chunks: readonly Uint8Array[], size: number): Uint8Array {
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes;
}

// Over-limit request bodies over real keep-alive connections (Miniflare on a loopback port, the
// same workerd HTTP server as self-hosted workerd): the refusal must reach the client, and the
// connection and the server must stay usable.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAuthorizedExample } from './mcp-client-provider';
import { rawConnect, requestHead, sendChunked, sendDeclared, statusOf, type RawResult } from './raw-http';
import { startWorker, type RunningWorker } from './worker-server';

const KiB = 1024;
const MiB = 1024 * KiB;
const FORM = { 'Content-Type': 'application/x-www-form-urlencoded' };
const JSON_BODY = { 'Content-Type': 'application/json' };

interface Outcome {
  refused: RawResult;
  /** The next request on the same connection. */
  next: RawResult;
  /** A request of another client, right after. */
  other: RawResult;
}

/**
 * Sends an over-limit body on a fresh connection, reads the answer while the body is still
 * going out, then asks `nextUrl` on the same connection and on a new one.
 */
async function overLimit(
  target: string,
  headers: Record<string, string>,
  framing: 'declared' | 'chunked',
  size: number,
  nextUrl: string,
  nextHeaders: Record<string, string> = {},
): Promise<Outcome> {
  const connection = await rawConnect(target);
  const sending = (framing === 'declared' ? sendDeclared : sendChunked)(connection, 'POST', target, headers, size);
  const refused = await connection.readResponse();
  await Promise.race([sending, new Promise((resolve) => setTimeout(resolve, 5_000))]);
  await connection.write(requestHead('GET', nextUrl, nextHeaders));
  const next = await connection.readResponse();
  connection.close();
  const another = await rawConnect(nextUrl);
  await another.write(requestHead('GET', nextUrl, nextHeaders));
  const other = await another.readResponse();
  another.close();
  return { refused, next, other };
}

function expectRefusedThenServed(outcome: Outcome, cap: number, error = 'invalid_request'): void {
  expect({ refused: statusOf(outcome.refused), next: statusOf(outcome.next), other: statusOf(outcome.other) }).toEqual({ refused: 413, next: 200, other: 200 });
  if (!('body' in outcome.refused)) return;
  expect(outcome.refused.headers['cache-control']).toBe('no-store');
  expect(JSON.parse(outcome.refused.body)).toEqual({ error, error_description: `The request body exceeds ${cap} bytes.` });
}

describe('RFC 9110 §15.5.14, RFC 9112 §9.6: an over-limit body is refused with 413 and never breaks the next request', () => {
  let worker: RunningWorker;
  let metadata: string;
  beforeAll(async () => {
    worker = await startWorker();
    metadata = `${worker.url}/.well-known/oauth-authorization-server`;
  });
  afterAll(() => worker?.dispose());

  const endpoints = [
    { endpoint: '/register', headers: JSON_BODY, error: 'invalid_client_metadata' },
    { endpoint: '/token', headers: FORM },
    { endpoint: '/introspect', headers: FORM },
    { endpoint: '/revoke', headers: FORM },
    { endpoint: '/authorize', headers: FORM },
  ];
  for (const { endpoint, headers, error } of endpoints)
    for (const framing of ['declared', 'chunked'] as const)
      it(`POST ${endpoint}, ${framing} 64 KiB body on a keep-alive connection: 413 ${error ?? 'invalid_request'}, then the same connection and another client are served`, async () => {
        expectRefusedThenServed(await overLimit(`${worker.url}${endpoint}`, headers, framing, 64 * KiB, metadata), 16 * KiB, error);
      });

  for (const framing of ['declared', 'chunked'] as const)
    it(`POST /token, ${framing} 30 MB body: read and discarded (never buffered), 413, then the same connection is served`, async () => {
      expectRefusedThenServed(await overLimit(`${worker.url}/token`, FORM, framing, 30 * MiB, metadata), 16 * KiB);
    });

  it('a declared length past what is worth reading is answered at once, without waiting for the body, and the server stays up', async () => {
    const connection = await rawConnect(worker.url);
    await connection.write(requestHead('POST', `${worker.url}/token`, { ...FORM, 'Content-Length': String(1024 * MiB) }));
    const refused = await connection.readResponse(2_000);
    connection.close();
    expect(statusOf(refused)).toBe(413);
    const other = await fetch(metadata);
    expect(other.status).toBe(200);
  });
});

describe('the example MCP server: an over-limit body at /mcp is refused with 413 and never breaks the next request (RFC 9110 §15.5.14)', () => {
  let worker: RunningWorker;
  let mcp: string;
  let bearer: Record<string, string>;
  beforeAll(async () => {
    let accessToken: string;
    ({ worker, mcp, accessToken } = await startAuthorizedExample({ callbackPort: 53701, username: 'body-user' }));
    bearer = { Authorization: `Bearer ${accessToken}` };
  });
  afterAll(() => worker?.dispose());

  for (const framing of ['declared', 'chunked'] as const)
    it(`authenticated POST /mcp with a ${framing} 2 MiB body: 413 JSON-RPC error, then the same connection and another client are served`, async () => {
      const headers = { ...JSON_BODY, Accept: 'application/json, text/event-stream', ...bearer };
      const outcome = await overLimit(mcp, headers, framing, 2 * MiB, `${worker.url}/.well-known/oauth-protected-resource/mcp`);
      expect({ refused: statusOf(outcome.refused), next: statusOf(outcome.next), other: statusOf(outcome.other) }).toEqual({
        refused: 413,
        next: 200,
        other: 200,
      });
      expect(JSON.parse((outcome.refused as { body: string }).body)).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: -32000 } });
    });
});

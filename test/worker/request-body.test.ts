import { describe, expect, it } from 'vitest';
import { readRequestBody, type DrainLimits } from '../../src/body';

const CHUNK = 1024;

/** A body of `chunks` chunks of 1 KiB (Infinity: endless) that counts what was pulled and whether it was cancelled. */
function countedBody(chunks: number) {
  const seen = { pulled: 0, cancelled: false };
  const stream = new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        if (seen.pulled >= chunks) return controller.close();
        seen.pulled += 1;
        controller.enqueue(new Uint8Array(CHUNK).fill(97));
      },
      cancel() {
        seen.cancelled = true;
      },
    },
    { highWaterMark: 0 },
  );
  return { stream, seen };
}

const post = (body: ReadableStream<Uint8Array> | string, headers: Record<string, string> = {}) =>
  new Request('https://as.example.com/token', { method: 'POST', body, headers, duplex: 'half' } as RequestInit);

const DRAIN: DrainLimits = { maxBytes: 64 * CHUNK, maxMilliseconds: 1_000 };

describe('readRequestBody: bounded in memory, and an over-limit body is never left half read', () => {
  it('a body within the cap is returned whole, up to exactly the cap', async () => {
    expect(new TextDecoder().decode(await readRequestBody(post('grant_type=x'), 16))).toBe('grant_type=x');
    const { stream } = countedBody(4);
    expect((await readRequestBody(post(stream), 4 * CHUNK, DRAIN))?.byteLength).toBe(4 * CHUNK);
    expect((await readRequestBody(new Request('https://as.example.com/'), 16))?.byteLength).toBe(0);
  });

  it('RFC 9112 §9.6: an over-limit body is read to its end and discarded before it is refused', async () => {
    const { stream, seen } = countedBody(32);
    expect(await readRequestBody(post(stream), 4 * CHUNK, DRAIN)).toBeUndefined();
    expect(seen).toEqual({ pulled: 32, cancelled: false });
  });

  it('RFC 9112 §9.6: past the drain bound reading stops and the body is cancelled', async () => {
    const { stream, seen } = countedBody(Infinity);
    expect(await readRequestBody(post(stream), 4 * CHUNK, DRAIN)).toBeUndefined();
    expect(seen.cancelled).toBe(true);
    expect(seen.pulled).toBeLessThanOrEqual(DRAIN.maxBytes / CHUNK + 1);
  });

  it('RFC 9112 §9.6: a body that trickles in is given up after the drain time bound', async () => {
    let cancelled = false;
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new Uint8Array(8 * CHUNK)); // over the cap, then nothing more
      },
      cancel() {
        cancelled = true;
      },
    });
    const started = Date.now();
    expect(await readRequestBody(post(stream), 4 * CHUNK, { maxBytes: DRAIN.maxBytes, maxMilliseconds: 50 })).toBeUndefined();
    expect(cancelled).toBe(true);
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it('a declared Content-Length past the drain bound is refused without reading the body', async () => {
    const request = post('a'.repeat(128 * CHUNK), { 'Content-Length': String(128 * CHUNK) });
    expect(await readRequestBody(request, 4 * CHUNK, DRAIN)).toBeUndefined();
    expect(request.bodyUsed).toBe(false);
  });

  it('a declared Content-Length over the cap but within the drain bound is read to its end', async () => {
    const request = post('a'.repeat(32 * CHUNK), { 'Content-Length': String(32 * CHUNK) });
    expect(await readRequestBody(request, 4 * CHUNK, DRAIN)).toBeUndefined();
    expect(request.bodyUsed).toBe(true);
  });
});

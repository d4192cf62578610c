/**
 * Reads a body into memory, but never more than `maxBytes`: the stream is cancelled as soon as
 * it is too large (a declared Content-Length is checked first). Returns undefined when too large.
 */
export async function readLimited(body: ReadableStream<Uint8Array> | null, declaredLength: string | null | undefined, maxBytes: number): Promise<Uint8Array | undefined> {
  if (Number(declaredLength ?? '0') > maxBytes) {
    await body?.cancel();
    return undefined;
  }
  if (!body) return new Uint8Array(0);
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel();
      return undefined;
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes;
}

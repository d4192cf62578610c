/** RFC 8259 §4: a JSON object (not null, not an array), as `JSON.parse` returns it. */
export function isJsonObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

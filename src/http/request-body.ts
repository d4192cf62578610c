import { OAuthError } from '../errors.js';
import { readRequestBody } from '../body.js';
import type { AppContext } from './context.js';

/** Largest accepted request body. Form and JSON bodies of this protocol are small. */
export const MAX_BODY_BYTES = 16 * 1024;

async function readBody(c: AppContext, maxBytes: number): Promise<string> {
  let bytes: Uint8Array | undefined;
  try {
    bytes = await readRequestBody(c.req.raw, maxBytes);
  } catch {
    throw new OAuthError('invalid_request', 'The request body could not be read.');
  }
  // RFC 9110 §15.5.14: 413 Content Too Large, with the RFC 6749 §5.2 error body.
  if (!bytes) throw new OAuthError('invalid_request', `The request body exceeds ${maxBytes} bytes.`, { status: 413 });
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new OAuthError('invalid_request', 'The request body is not valid UTF-8.');
  }
}

/** The request's media type (RFC 9110 §8.3.1): the `Content-Type` before any parameter, lower-cased. */
export function mediaType(c: AppContext): string {
  return (c.req.header('Content-Type') ?? '').split(';')[0]!.trim().toLowerCase();
}

/**
 * An `application/x-www-form-urlencoded` body (OAuth 2.1 §3.2). RFC 6749 §3.1: a parameter
 * may appear once, except those listed in `repeatable` (RFC 8707 `resource`).
 */
export async function readForm(c: AppContext, options: { acceptJson?: boolean; repeatable?: string[] } = {}): Promise<URLSearchParams> {
  const type = mediaType(c);
  if (options.acceptJson && type === 'application/json') {
    const body = await readJson(c);
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new OAuthError('invalid_request', 'The JSON body must be an object.');
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(body)) if (typeof value === 'string') params.append(key, value);
    return params;
  }
  if (type !== 'application/x-www-form-urlencoded') throw new OAuthError('invalid_request', 'The request body must be application/x-www-form-urlencoded.');
  const params = new URLSearchParams(await readBody(c, MAX_BODY_BYTES));
  rejectRepeatedParameters(params, options.repeatable ?? []);
  return params;
}

export function rejectRepeatedParameters(params: URLSearchParams, repeatable: readonly string[]): void {
  const seen = new Set<string>();
  for (const key of params.keys()) {
    if (seen.has(key) && !repeatable.includes(key)) throw new OAuthError('invalid_request', `Parameter "${key}" must not be repeated (RFC 6749 §3.1).`);
    seen.add(key);
  }
}

export async function readJson(c: AppContext): Promise<unknown> {
  const text = await readBody(c, MAX_BODY_BYTES);
  try {
    return JSON.parse(text);
  } catch {
    throw new OAuthError('invalid_request', 'The request body is not valid JSON.');
  }
}

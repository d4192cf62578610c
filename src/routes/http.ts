import type { Context, MiddlewareHandler } from 'hono';
import { OAuthError } from '../errors.js';
import { readLimited } from '../body.js';
import { authenticateClient, extractClientCredentials } from '../protocol/client-auth.js';
import type { ClientRecord } from '../storage/client-store.js';
import { defer, type Services } from '../services.js';
import { rateLimitHeaders, type RateLimit, type RateLimitedEndpoint } from '../rate-limit/limits.js';

export type AppEnv = { Bindings: Record<string, unknown>; Variables: { services: Services } };
export type AppContext = Context<AppEnv>;

/** Largest accepted request body. Form and JSON bodies of this protocol are small. */
export const MAX_BODY_BYTES = 16 * 1024;

async function readBody(c: AppContext, maxBytes: number): Promise<string> {
  const declared = c.req.header('Content-Length');
  // With a small declared length the runtime holds the body to it: read it at once. Otherwise
  // (chunked), stream it and stop past the cap.
  const bytes =
    declared !== undefined && Number(declared) <= maxBytes
      ? new Uint8Array(await c.req.arrayBuffer())
      : await readLimited(c.req.raw.body, declared, maxBytes);
  if (!bytes) throw new OAuthError('invalid_request', `The request body exceeds ${maxBytes} bytes.`);
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new OAuthError('invalid_request', 'The request body is not valid UTF-8.');
  }
}

function mediaType(c: AppContext): string {
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
  if (type !== 'application/x-www-form-urlencoded')
    throw new OAuthError('invalid_request', 'The request body must be application/x-www-form-urlencoded.');
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

/** JSON that must not be cached: token, introspection, registration responses (RFC 6749 §5.1). */
export function noStoreJson(c: AppContext, body: unknown, status: 200 | 201 = 200): Response {
  return c.json(body, status, { 'Cache-Control': 'no-store', Pragma: 'no-cache' });
}

/**
 * CORS for browser-based MCP clients (RFC 9700 §2.6: never on the authorization endpoint).
 * Credentials are never allowed, so `*` is safe; `MCP-Protocol-Version` may be sent.
 */
export function cors(headers: Record<string, string>): MiddlewareHandler<AppEnv> {
  const entries = Object.entries(headers);
  return async (c, next) => {
    if (c.req.method === 'OPTIONS') return corsPreflight();
    await next();
    for (const [name, value] of entries) c.res.headers.set(name, value);
  };
}

/**
 * Headers of an actual cross-origin response (Fetch §3.2.3), exposing exactly the headers the
 * endpoint can send: the challenge and `Retry-After` of client authentication and of an
 * unavailable grant authority, the rate-limit fields (and their `Retry-After`) where a limit applies.
 */
export function corsResponseHeaders({ authenticatesClients = false, rateLimited = false }): Record<string, string> {
  const exposed = [...(authenticatesClients ? ['WWW-Authenticate'] : []), ...(rateLimited ? ['RateLimit', 'RateLimit-Policy'] : []), ...(authenticatesClients || rateLimited ? ['Retry-After'] : [])];
  return { 'Access-Control-Allow-Origin': '*', ...(exposed.length > 0 ? { 'Access-Control-Expose-Headers': exposed.join(', ') } : {}) };
}

/** The answer to a CORS preflight. */
export function corsPreflight(): Response {
  return new Response(null, {
    status: 204,
    headers: {
      'Access-Control-Allow-Origin': '*',
      'Access-Control-Allow-Methods': 'GET, POST, OPTIONS',
      'Access-Control-Allow-Headers': 'Authorization, Content-Type, MCP-Protocol-Version',
      'Access-Control-Max-Age': '86400',
    },
  });
}

/** The client address to count against: Cloudflare's `CF-Connecting-IP`, or one local bucket. */
export function clientAddress(c: AppContext): string {
  return c.req.header('CF-Connecting-IP') ?? 'local';
}

/** Counts the request in the endpoint's bucket (a Durable Object per endpoint and address). */
export function rateLimit(endpoint: RateLimitedEndpoint, limit: RateLimit): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const services = c.var.services;
    const key = clientAddress(c);
    const decision = await services.rateLimitBucket(endpoint, key).hitRateLimit({ ...limit, now: services.now() });
    const headers = rateLimitHeaders(endpoint, decision);
    if (!decision.allowed) {
      defer(c, services.emit({ type: 'security.rate_limited', endpoint, key, limit: limit.limit, windowSeconds: limit.windowSeconds }));
      throw new OAuthError('temporarily_unavailable', 'Too many requests; retry later.', { status: 429, headers });
    }
    await next();
    for (const [name, value] of Object.entries(headers)) c.res.headers.set(name, value);
  };
}

/** Authenticates the client of a token, introspection or revocation request (RFC 6749 §2.3). */
export async function authenticatedClient(c: AppContext, form: URLSearchParams): Promise<ClientRecord> {
  const credentials = extractClientCredentials(c.req.header('Authorization'), form);
  const services = c.var.services;
  return authenticateClient(credentials, await services.clients.get(credentials.clientId), services.now());
}

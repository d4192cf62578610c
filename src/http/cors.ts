import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from './context.js';

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
  const exposed = [
    ...(authenticatesClients ? ['WWW-Authenticate'] : []),
    ...(rateLimited ? ['RateLimit', 'RateLimit-Policy'] : []),
    ...(authenticatesClients || rateLimited ? ['Retry-After'] : []),
  ];
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

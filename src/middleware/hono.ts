/** `mcp-auth-edge/hono`: protect MCP routes with Bearer tokens and serve RFC 9728 metadata. */
import type { Context, Handler, MiddlewareHandler } from 'hono';
import { createMiddleware } from 'hono/factory';
import type { McpGrant } from '../verify/index.js';
import { createRequestAuthenticator, protectedResourceMetadataParts, type ProtectedResourceMetadataOptions, type RequireMcpAuthOptions } from './challenge.js';
import { createCorsPolicy, isCorsPreflight, type McpCorsOptions } from './cors.js';

export type { McpGrant, ScopeHierarchy, TokenVerifier, VerifyAlgorithm, Logger } from '../verify/index.js';
export type { ProtectedResourceMetadataOptions, RequireMcpAuthOptions } from './challenge.js';
export { isCorsPreflight, MCP_CORS_ALLOW_HEADERS, MCP_CORS_EXPOSE_HEADERS, MCP_CORS_METHODS, type McpCorsOptions } from './cors.js';
/**
 * For the protected route's own body: bounded in memory, and an over-limit body is never left half read.
 *
 * @example
 * ```ts
 * import { readRequestBody } from 'mcp-auth-edge/hono';
 *
 * app.post('/mcp', requireMcpAuth(options), async (c) => {
 *   const body = await readRequestBody(c.req.raw, 1 << 20); // at most 1 MiB
 *   if (!body) return c.json({ error: 'request too large' }, 413);
 *   return handleMcp(JSON.parse(new TextDecoder().decode(body)), c.get('mcpGrant'));
 * });
 * ```
 */
export { readRequestBody } from '../body.js';

export type McpAuthVariables = { mcpGrant: McpGrant };
export type McpAuthEnv = { Variables: McpAuthVariables };

/** Hono options: besides `scopes`, a request may need more (e.g. per MCP tool being called). */
export interface HonoMcpAuthOptions extends RequireMcpAuthOptions {
  /**
   * The scopes this request needs besides `scopes`. Called only once the token has verified, so
   * nothing of it runs for anonymous callers; it may read the body, or throw (an `HTTPException`)
   * to answer instead. The 403 challenge names `scopes` and these together.
   */
  scopesFor?: (c: Context) => string[] | Promise<string[]>;
}

/**
 * Verifies the Bearer token (header only), then checks `scopes` and `scopesFor`, and sets
 * `c.get('mcpGrant')`. The verifier and challenges are built here, once; per request only the
 * token is checked. A refusal is thrown as an `OAuthError` (Hono's `HTTPException`): the app's
 * `onError` sees it, and `err.getResponse()` is the RFC 6750 challenge Hono answers by default.
 *
 * @example
 * ```ts
 * import { Hono } from 'hono';
 * import { requireMcpAuth } from 'mcp-auth-edge/hono';
 *
 * const app = new Hono();
 * app.post(
 *   '/mcp',
 *   requireMcpAuth({ issuer: 'https://auth.example.com', audience: 'https://api.example.com/mcp', scopes: ['mcp:tools:read'] }),
 *   (c) => c.json({ user: c.get('mcpGrant').sub }),
 * );
 * ```
 */
export function requireMcpAuth(options: HonoMcpAuthOptions): MiddlewareHandler<McpAuthEnv> {
  const { scopesFor } = options;
  const authenticate = createRequestAuthenticator(options);
  return createMiddleware<McpAuthEnv>(async function requireMcpAuth(c, next) {
    // Fetch §3.2.2: a CORS preflight carries no credentials, so it is not challenged; nor does it
    // reach the handler, which would run without a grant. It is answered here with no CORS
    // headers: `mcpCors`, mounted before this middleware, answers it with them.
    if (isCorsPreflight(c.req.method, (name) => c.req.header(name))) return c.body(null, 204);
    const result = await authenticate({ method: c.req.method, url: c.req.url, headers: c.req.raw.headers }, scopesFor && (() => scopesFor(c)));
    if (!result.ok) throw result.error;
    c.set('mcpGrant', result.grant);
    await next();
  });
}

/**
 * CORS for an MCP route, so browser-based MCP clients can call it: answers preflights (204, the MCP
 * request headers and methods allowed) and lets the listed origins read every answer, the 401/403
 * `WWW-Authenticate` challenge and `Mcp-Session-Id` included. Mount it before `requireMcpAuth` or
 * `protect()`.
 *
 * @example
 * ```ts
 * import { mcpCors, requireMcpAuth } from 'mcp-auth-edge/hono';
 *
 * app.use('/mcp', mcpCors({ origins: ['https://app.example.com'] }));
 * app.use('/mcp', requireMcpAuth({ issuer: 'https://auth.example.com', audience: 'https://api.example.com/mcp' }));
 * ```
 */
export function mcpCors(options: McpCorsOptions): MiddlewareHandler {
  const corsHeaders = createCorsPolicy(options);
  return createMiddleware(async function mcpCors(c, next) {
    const origin = c.req.header('Origin');
    if (isCorsPreflight(c.req.method, (name) => c.req.header(name))) return new Response(null, { status: 204, headers: corsHeaders(origin, true) });
    const { Vary, ...headers } = corsHeaders(origin, false);
    // Set before the handler runs, so the answer it (or a middleware after this one) returns keeps them.
    for (const [name, value] of Object.entries(headers)) c.res.headers.set(name, value);
    await next();
    if (Vary) c.header('Vary', Vary, { append: true });
  });
}

/**
 * Serves the RFC 9728 document; mount it on GET and OPTIONS (CORS preflight) at the metadata URL.
 *
 * @example
 * ```ts
 * import { protectedResourceMetadata } from 'mcp-auth-edge/hono';
 *
 * const metadata = protectedResourceMetadata({
 *   resource: 'https://api.example.com/mcp',
 *   authorizationServers: ['https://auth.example.com'],
 *   scopesSupported: ['mcp:tools:read'],
 * });
 * app.get('/.well-known/oauth-protected-resource/mcp', metadata);
 * app.options('/.well-known/oauth-protected-resource/mcp', metadata);
 * ```
 */
export function protectedResourceMetadata(options: ProtectedResourceMetadataOptions): Handler {
  const { headers, body, preflightHeaders } = protectedResourceMetadataParts(options);
  return function protectedResourceMetadata(c) {
    if (c.req.method === 'OPTIONS') return new Response(null, { status: 204, headers: preflightHeaders });
    return new Response(body, { headers });
  };
}

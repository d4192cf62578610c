/** `mcp-auth-edge/hono`: protect MCP routes with Bearer tokens and serve RFC 9728 metadata. */
import type { Context, Handler, MiddlewareHandler } from 'hono';
import { createMiddleware } from 'hono/factory';
import type { McpGrant } from '../verify/index.js';
import {
  createRequestAuthenticator,
  protectedResourceMetadataParts,
  type AuthFailure,
  type ProtectedResourceMetadataOptions,
  type RequireMcpAuthOptions,
} from './challenge.js';

export type { McpGrant } from '../verify/index.js';
export type { ProtectedResourceMetadataOptions, RequireMcpAuthOptions } from './challenge.js';

export type McpAuthVariables = { mcpGrant: McpGrant };
export type McpAuthEnv = { Variables: McpAuthVariables };

/** Hono options: `scopes` may depend on the request (e.g. on the MCP tool being called). */
export interface HonoMcpAuthOptions extends Omit<RequireMcpAuthOptions, 'scopes'> {
  scopes?: string[] | ((c: Context) => string[] | Promise<string[]>);
}

/**
 * Verifies the Bearer token (header only), checks `scopes`, and sets `c.get('mcpGrant')`.
 * The verifier and challenges are built here, once; per request only the token is checked.
 */
export function requireMcpAuth(options: HonoMcpAuthOptions): MiddlewareHandler<McpAuthEnv> {
  const { scopes } = options;
  const authenticate = createRequestAuthenticator({ ...options, scopes: typeof scopes === 'function' ? [] : scopes });
  return createMiddleware<McpAuthEnv>(async function requireMcpAuth(c, next) {
    const result = await authenticate(c.req.header('Authorization'), typeof scopes === 'function' ? await scopes(c) : undefined);
    if (!result.ok) return failureResponse(result.failure);
    c.set('mcpGrant', result.grant);
    await next();
  });
}

/** Serves the RFC 9728 document; mount it on GET and OPTIONS (CORS preflight) at the metadata URL. */
export function protectedResourceMetadata(options: ProtectedResourceMetadataOptions): Handler {
  const { headers, body, preflightHeaders } = protectedResourceMetadataParts(options);
  return function protectedResourceMetadata(c) {
    if (c.req.method === 'OPTIONS') return new Response(null, { status: 204, headers: preflightHeaders });
    return new Response(body, { headers });
  };
}

function failureResponse(failure: AuthFailure): Response {
  return new Response(failure.body === '' ? null : failure.body, { status: failure.status, headers: failure.headers });
}

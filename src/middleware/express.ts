/** `mcp-auth-edge/express`: the same middleware for Node/Express resource servers (no Hono). */
import type { Request, RequestHandler, Response } from 'express';
import type { McpGrant } from '../verify/index.js';
import {
  createRequestAuthenticator,
  protectedResourceMetadataParts,
  type AuthFailure,
  type ProtectedResourceMetadataOptions,
  type RequireMcpAuthOptions,
} from './challenge.js';
import { createCorsPolicy, isCorsPreflight, type McpCorsOptions } from './cors.js';

export type { McpGrant } from '../verify/index.js';
export type { ProtectedResourceMetadataOptions, RequireMcpAuthOptions } from './challenge.js';
export { isCorsPreflight, MCP_CORS_ALLOW_HEADERS, MCP_CORS_EXPOSE_HEADERS, MCP_CORS_METHODS, type McpCorsOptions } from './cors.js';

declare global {
  namespace Express {
    interface Request {
      /** Set by `requireMcpAuth` on the routes it protects. */
      mcpGrant?: McpGrant;
    }
  }
}

/** Verifies the Bearer token (header only), checks `scopes`, and sets `req.mcpGrant`. */
export function requireMcpAuth(options: RequireMcpAuthOptions): RequestHandler {
  const authenticate = createRequestAuthenticator(options);
  return async function requireMcpAuth(req, res, next) {
    // Fetch §3.2.2: a CORS preflight carries no credentials, so it is not challenged; nor does it
    // reach the handler, which would run without `req.mcpGrant`. It is answered here with no CORS
    // headers: `mcpCors`, mounted before this middleware, answers it with them.
    if (isCorsPreflight(req.method, (name) => req.get(name))) return void res.status(204).end();
    // Node keeps only the first of repeated Authorization headers in `req.headers`; look at all.
    const result = await authenticate(req.headersDistinct.authorization);
    if (!result.ok) return sendFailure(res, result.failure);
    req.mcpGrant = result.grant;
    next();
  };
}

/** The grant of a request that passed `requireMcpAuth`; throws when the route is not protected. */
export function getMcpGrant(req: Request): McpGrant {
  if (!req.mcpGrant) throw new Error('getMcpGrant: the route is not protected by requireMcpAuth');
  return req.mcpGrant;
}

/**
 * CORS for an MCP route (see the Hono `mcpCors`): answers preflights with 204 and lets the listed
 * origins read every answer, the 401/403 challenge included. Mount it before `requireMcpAuth`.
 */
export function mcpCors(options: McpCorsOptions): RequestHandler {
  const corsHeaders = createCorsPolicy(options);
  return function mcpCors(req, res, next) {
    const preflight = isCorsPreflight(req.method, (name) => req.get(name));
    const { Vary, ...headers } = corsHeaders(req.get('Origin'), preflight);
    if (Vary) res.vary(Vary);
    res.set(headers);
    if (preflight) res.status(204).end();
    else next();
  };
}

/** Serves the RFC 9728 document; mount it with `app.get` and `app.options` at the metadata URL. */
export function protectedResourceMetadata(options: ProtectedResourceMetadataOptions): RequestHandler {
  const { headers, body, preflightHeaders } = protectedResourceMetadataParts(options);
  return function protectedResourceMetadata(req, res) {
    if (req.method === 'OPTIONS') res.status(204).set(preflightHeaders).end();
    else res.status(200).set(headers).end(body);
  };
}

function sendFailure(res: Response, failure: AuthFailure): void {
  res.status(failure.status).set(failure.headers);
  if (failure.body === '') res.end();
  else res.end(failure.body);
}

/** `mcp-auth-edge/express`: the same middleware for Node/Express resource servers (no Hono). */
import type { Request, RequestHandler, Response } from 'express';
import type { OAuthError } from '../errors.js';
import type { McpGrant } from '../verify/index.js';
import {
  createRequestAuthenticator,
  protectedResourceMetadataParts,
  type ResourceRequest,
  type ProtectedResourceMetadataOptions,
  type RequireMcpAuthOptions,
} from './challenge.js';
import { createCorsPolicy, isCorsPreflight, type McpCorsOptions } from './cors.js';

export type { McpGrant, ScopeHierarchy, TokenVerifier, VerifyAlgorithm, Logger } from '../verify/index.js';
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

/**
 * Verifies the Bearer token (header only), checks `scopes`, and sets `req.mcpGrant`. It answers
 * the 400/401/403/503 challenges itself; any other error (a bug, a failing hook) goes to
 * `next(err)`, the app's error middleware (Express 4 and 5).
 *
 * @example
 * ```ts
 * import express from 'express';
 * import { getMcpGrant, requireMcpAuth } from 'mcp-auth-edge/express';
 *
 * const app = express();
 * app.post(
 *   '/mcp',
 *   requireMcpAuth({ issuer: 'https://auth.example.com', audience: 'https://api.example.com/mcp', scopes: ['mcp:tools:read'] }),
 *   (req, res) => res.json({ user: getMcpGrant(req).sub }),
 * );
 * ```
 */
export function requireMcpAuth(options: RequireMcpAuthOptions): RequestHandler {
  const authenticate = createRequestAuthenticator(options);
  return async function requireMcpAuth(req, res, next) {
    try {
      // Fetch §3.2.2: a CORS preflight carries no credentials, so it is not challenged; nor does it
      // reach the handler, which would run without `req.mcpGrant`. It is answered here with no CORS
      // headers: `mcpCors`, mounted before this middleware, answers it with them.
      if (isCorsPreflight(req.method, (name) => req.get(name))) return void res.status(204).end();
      const result = await authenticate(resourceRequest(req));
      if (!result.ok) return await sendError(res, result.error);
      req.mcpGrant = result.grant;
    } catch (err) {
      return next(err);
    }
    next();
  };
}

/** The request as the check reads it. Node keeps only the first of repeated headers in `req.headers`: all are read. */
function resourceRequest(req: Request): ResourceRequest {
  return {
    method: req.method,
    get url() {
      return `${req.protocol}://${req.get('host') ?? 'localhost'}${req.originalUrl}`;
    },
    headers: { get: (name) => req.headersDistinct[name.toLowerCase()]?.join(', ') ?? null },
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
 *
 * @example
 * ```ts
 * import { mcpCors, requireMcpAuth } from 'mcp-auth-edge/express';
 *
 * app.use('/mcp', mcpCors({ origins: ['https://app.example.com'] }));
 * app.use('/mcp', requireMcpAuth({ issuer: 'https://auth.example.com', audience: 'https://api.example.com/mcp' }));
 * ```
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

/**
 * Serves the RFC 9728 document; mount it with `app.get` and `app.options` at the metadata URL.
 *
 * @example
 * ```ts
 * import { protectedResourceMetadata } from 'mcp-auth-edge/express';
 *
 * const metadata = protectedResourceMetadata({ resource: 'https://api.example.com/mcp', authorizationServers: ['https://auth.example.com'] });
 * app.get('/.well-known/oauth-protected-resource/mcp', metadata);
 * app.options('/.well-known/oauth-protected-resource/mcp', metadata);
 * ```
 */
export function protectedResourceMetadata(options: ProtectedResourceMetadataOptions): RequestHandler {
  const { headers, body, preflightHeaders } = protectedResourceMetadataParts(options);
  return function protectedResourceMetadata(req, res) {
    if (req.method === 'OPTIONS') res.status(204).set(preflightHeaders).end();
    else res.status(200).set(headers).end(body);
  };
}

/** The challenge as `OAuthError.toResponse()` renders it (status, headers, JSON body or none). */
async function sendError(res: Response, error: OAuthError): Promise<void> {
  const response = error.toResponse();
  const body = await response.text();
  res.status(response.status);
  response.headers.forEach((value, name) => res.setHeader(name, value));
  if (body === '') res.end();
  else res.end(body);
}

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

export type { McpGrant } from '../verify/index.js';
export type { ProtectedResourceMetadataOptions, RequireMcpAuthOptions } from './challenge.js';

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

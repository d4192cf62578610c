import { Hono, type MiddlewareHandler } from 'hono';
import { errorResponse, OAuthError } from './errors.js';
import { resolveOptions, type McpAuthOptions, type ResolvedOptions } from './options.js';
import { createServiceFactory } from './services.js';
import { cors, rateLimit, type AppEnv } from './routes/http.js';
import { authorizationServerMetadata, protectedResourceDocuments } from './routes/metadata.js';
import { registerClient } from './routes/register.js';
import { decideConsent, showConsent } from './routes/authorize.js';
import { issueToken } from './routes/token.js';
import { introspectToken } from './routes/introspect.js';
import { revokeToken } from './routes/revoke.js';

export interface McpAuth {
  /** The authorization server; mount it at the root of the host app: `app.route('/', auth.app)`. */
  app: Hono<AppEnv>;
  options: ResolvedOptions;
}

/**
 * Builds the authorization server for one issuer. Every route lives under the issuer's path,
 * and the well-known documents at the origin's root (RFC 8414 §3.1, RFC 9728 §3.1), so the
 * app is always mounted at `/`.
 */
export function createMcpAuth(input: McpAuthOptions): McpAuth {
  const options = resolveOptions(input);
  const services = createServiceFactory(options);
  const base = options.basePath;
  const app = new Hono<AppEnv>();

  app.onError((err, c) => {
    // Hono's own body-limit and parsing errors are client mistakes, never 5xx.
    if (!(err instanceof OAuthError) && err instanceof Error && 'status' in err && (err as { status: number }).status < 500)
      return new OAuthError('invalid_request', 'The request could not be parsed.').toResponse();
    return errorResponse(err);
  });

  const paths = {
    asMetadata: base ? [`/.well-known/oauth-authorization-server${base}`, `${base}/.well-known/oauth-authorization-server`] : ['/.well-known/oauth-authorization-server'],
    oidc: base ? [`/.well-known/openid-configuration${base}`, `${base}/.well-known/openid-configuration`] : ['/.well-known/openid-configuration'],
    jwks: `${base}/.well-known/jwks.json`,
    register: `${base}/register`,
    authorize: `${base}/authorize`,
    token: `${base}/token`,
    introspect: `${base}/introspect`,
    revoke: `${base}/revoke`,
  };

  const withServices: MiddlewareHandler<AppEnv> = async (c, next) => {
    c.set('services', services(c.env));
    await next();
  };

  const metadata = authorizationServerMetadata(options);
  for (const path of paths.asMetadata) {
    app.use(path, cors(), withServices, rateLimit('other'));
    app.get(path, (c) => c.json(metadata, 200, { 'Cache-Control': 'public, max-age=3600' }));
  }
  // This is not an OpenID Provider: the OIDC discovery document does not exist (404, never 5xx).
  for (const path of paths.oidc) {
    app.use(path, cors());
    app.get(path, () => new OAuthError('not_found', 'This server is an OAuth 2.1 authorization server, not an OpenID Provider.').toResponse());
  }
  for (const [path, document] of protectedResourceDocuments(options)) {
    app.use(path, cors(), withServices, rateLimit('other'));
    app.get(path, (c) => c.json(document, 200, { 'Cache-Control': 'public, max-age=3600' }));
  }

  app.use(paths.jwks, cors(), withServices, rateLimit('other'));
  app.get(paths.jwks, async (c) => c.json((await c.var.services.keys()).jwks, 200, { 'Cache-Control': 'public, max-age=300' }));

  if (options.registrationEnabled) {
    app.use(paths.register, cors(), withServices, rateLimit('register'));
    app.post(paths.register, registerClient);
  }

  // RFC 9700 §2.6: no CORS on the authorization endpoint.
  app.use(paths.authorize, withServices, rateLimit('authorize'));
  app.get(paths.authorize, showConsent);
  app.post(paths.authorize, decideConsent);

  app.use(paths.token, cors(), withServices, rateLimit('token'));
  app.post(paths.token, issueToken);
  app.use(paths.introspect, cors(), withServices, rateLimit('introspect'));
  app.post(paths.introspect, introspectToken);
  app.use(paths.revoke, cors(), withServices, rateLimit('revoke'));
  app.post(paths.revoke, revokeToken);

  return { app, options };
}

import { Hono, type MiddlewareHandler } from 'hono';
import { errorResponse, OAuthError } from './errors.js';
import { resolveOptions, type McpAuthOptions } from './options.js';
import { createServiceFactory, type Services } from './services.js';
import { createTokenVerifier, type TokenVerifier } from './verify/index.js';
import { requireMcpAuth, type HonoMcpAuthOptions, type McpAuthEnv } from './middleware/hono.js';
import { isCorsPreflight } from './middleware/cors.js';
import { protectedResourceMetadataUrl } from './protocol/resource-metadata.js';
import type { AppEnv } from './http/context.js';
import { cors, corsPreflight, corsResponseHeaders } from './http/cors.js';
import { rateLimit } from './http/rate-limit.js';
import { effectiveLimit, type RateLimitedEndpoint } from './rate-limit/limits.js';
import { ENDPOINT_PATHS, authorizationServerMetadata, protectedResourceDocuments } from './metadata/documents.js';
import { registerClient } from './routes/register.js';
import { authorityPage, decideConsent, misdirectedPage, showConsent } from './routes/authorize.js';
import { resumeAuthorization } from './routes/sign-in.js';
import { SIGN_IN_RESUME_PATH } from './principal/pending-sign-in.js';
import { createMisdirectedWarning, issuerOriginOnly } from './http/issuer-origin.js';
import { selectGrantAuthority } from './authority/index.js';
import { issueToken } from './routes/token.js';
import { introspectToken } from './routes/introspect.js';
import { revokeToken } from './routes/revoke.js';
import { deleteClient, listClients, operatorAuthentication, revokeUserGrants, rotateSigningKey } from './routes/operator.js';
import { healthCheck } from './routes/health.js';

/** What `createMcpAuth` returns: the authorization server's routes and the middleware bound to its keys. */
export interface McpAuth {
  /** The authorization server; mount it at the root of the host app: `app.route('/', auth.app)`. */
  app: Hono<AppEnv>;
  /**
   * Middleware for the co-located MCP resource: verifies this issuer's tokens with its own keys
   * (no network hop) and answers with RFC 6750 / RFC 9728 challenges.
   */
  protect(options?: ProtectOptions): MiddlewareHandler<McpAuthEnv>;
}

/** How many verified tokens `protect()` remembers per signing key set unless told otherwise. */
const PROTECT_VERIFIED_TOKEN_CACHE_SIZE = 1000;

/** Options of `McpAuth.protect()`, per protected route. */
export interface ProtectOptions {
  /** Scopes every request of the route needs; the challenge to a request without a valid token names them. */
  scopes?: string[];
  /**
   * More scopes this request needs (e.g. per MCP tool), called only once the token has verified:
   * nothing of it runs for anonymous callers.
   */
  scopesFor?: HonoMcpAuthOptions['scopesFor'];
  /** The resource this route serves; default the first configured resource. */
  resource?: string;
  scopeHierarchy?: HonoMcpAuthOptions['scopeHierarchy'];
  /**
   * The bound on how long a revoked token is still accepted, seconds (default 5; 0: every request).
   * A verified token's status (local: its grant is live and its `jti` not revoked; Grantex: its
   * grant is linked to a live grant of ours) is asked of that grant's own Durable Object at most
   * once per this interval per token and isolate, and remembered for it. Revocations made at
   * Grantex directly (not through this server) are not seen: README "Tokens, revocation and recovery".
   */
  revocationCheckSeconds?: number;
  /** Verified tokens remembered per signing key set (default 1000; 0 turns it off): see `VerifyOptions`. */
  verifiedTokenCacheSize?: number;
}

/**
 * Builds the authorization server for one issuer. Every route lives under the issuer's path,
 * and the well-known documents at the origin's root (RFC 8414 §3.1, RFC 9728 §3.1), so the
 * app is always mounted at `/`. Options are checked here: a mistake is a `TypeError` at start-up.
 *
 * @example
 * ```ts
 * import { Hono } from 'hono';
 * import { createMcpAuth, cloudflareAccess } from 'mcp-auth-edge';
 * export { McpAuthState } from 'mcp-auth-edge'; // the Durable Object class, bound as MCP_AUTH_STATE
 *
 * const auth = createMcpAuth({
 *   issuer: 'https://mcp.example.com',
 *   resources: ['https://mcp.example.com/mcp'],
 *   scopes: ['mcp:tools:read', 'mcp:tools:write', 'offline_access'],
 *   principal: cloudflareAccess({ teamDomain: 'https://acme.cloudflareaccess.com', audience: '<AUD tag>' }),
 * });
 * const app = new Hono();
 * app.route('/', auth.app);
 * app.post('/mcp', auth.protect({ scopes: ['mcp:tools:read'] }), (c) => c.json({ user: c.get('mcpGrant').sub }));
 * export default app;
 * ```
 */
export function createMcpAuth(input: McpAuthOptions): McpAuth {
  const options = resolveOptions(input);
  // The grant authority, picked once: routes only call it (src/authority).
  const authority = selectGrantAuthority(options);
  const services = createServiceFactory(options, authority);
  const base = options.basePath;
  const app = new Hono<AppEnv>();

  app.onError((err) => {
    // Hono's own body-limit and parsing errors are client mistakes, never 5xx.
    if (!(err instanceof OAuthError) && err instanceof Error && 'status' in err && (err as { status: number }).status < 500)
      return new OAuthError('invalid_request', 'The request could not be parsed.').toResponse();
    return errorResponse(err, options.logger);
  });

  const paths = {
    asMetadata: base
      ? [`/.well-known/oauth-authorization-server${base}`, `${base}/.well-known/oauth-authorization-server`]
      : ['/.well-known/oauth-authorization-server'],
    oidc: base ? [`/.well-known/openid-configuration${base}`, `${base}/.well-known/openid-configuration`] : ['/.well-known/openid-configuration'],
    jwks: `${base}${ENDPOINT_PATHS.jwks}`,
    register: `${base}${ENDPOINT_PATHS.registration}`,
    authorize: `${base}${ENDPOINT_PATHS.authorization}`,
    token: `${base}${ENDPOINT_PATHS.token}`,
    introspect: `${base}${ENDPOINT_PATHS.introspection}`,
    revoke: `${base}${ENDPOINT_PATHS.revocation}`,
    health: `${base}/healthz`,
    operator: `${base}/operator`,
  };

  const withServices: MiddlewareHandler<AppEnv> = async (c, next) => {
    c.set('services', services(c.env));
    await next();
  };
  const warnMisdirected = createMisdirectedWarning(options.issuerUrl.origin, options.clock, options.logger);
  /** RFC 9110 §15.5.20: only the issuer's origin is served; browser endpoints answer with a page. */
  const issuerOrigin = ({ page = false } = {}) => issuerOriginOnly(options, warnMisdirected, page ? misdirectedPage : undefined);
  /**
   * The middleware of one endpoint: the issuer-origin check (before anything else, so a
   * misdirected request costs nothing), CORS (never on authorize), services, its rate limit if any.
   */
  const chain = (
    endpoint: RateLimitedEndpoint,
    { withCors = true, needsServices = true, authenticatesClients = false, page = false } = {},
  ): MiddlewareHandler<AppEnv>[] => {
    const limit = effectiveLimit(endpoint, options.rateLimits);
    return [
      issuerOrigin({ page }),
      ...(withCors ? [cors(corsResponseHeaders({ authenticatesClients, rateLimited: limit !== undefined }))] : []),
      ...(needsServices || limit ? [withServices] : []),
      ...(limit ? [rateLimit(endpoint, limit)] : []),
    ];
  };
  /** A document that never changes while the isolate lives: serialised once, CORS headers included. */
  const serveStatic = (path: string, document: unknown) => {
    const body = JSON.stringify(document);
    const rateLimited = effectiveLimit('other', options.rateLimits) !== undefined;
    const headers = { 'Content-Type': 'application/json', 'Cache-Control': 'public, max-age=3600', ...corsResponseHeaders({ rateLimited }) };
    app.use(path, ...chain('other', { withCors: false, needsServices: false }));
    app.get(path, () => new Response(body, { headers }));
    app.options(path, corsPreflight);
  };

  const metadata = authorizationServerMetadata(options);
  for (const path of paths.asMetadata) serveStatic(path, metadata);
  // This is not an OpenID Provider: the OIDC discovery document does not exist (404, never 5xx).
  for (const path of paths.oidc) {
    app.use(path, issuerOrigin(), cors(corsResponseHeaders({})));
    app.get(path, () => new OAuthError('not_found', 'This server is an OAuth 2.1 authorization server, not an OpenID Provider.').toResponse());
  }
  for (const [path, document] of protectedResourceDocuments(options)) serveStatic(path, document);

  app.use(paths.jwks, ...chain('other'));
  app.get(paths.jwks, async (c) => c.json((await c.var.services.keys()).jwks, 200, { 'Cache-Control': 'public, max-age=300' }));

  if (options.registrationEnabled) {
    app.use(paths.register, ...chain('register'));
    app.post(paths.register, registerClient);
  }

  // RFC 9700 §2.6: no CORS on the authorization endpoint. A sign-in is counted once, at the GET
  // that starts it; the consent form's POST and the Grantex callback only continue one, in their
  // own per-address bucket (continuationLimitOf in rate-limit/limits.ts).
  for (const step of chain('authorize', { withCors: false, page: true })) app.get(paths.authorize, step);
  for (const step of chain('authorize-continue', { withCors: false, page: true })) app.post(paths.authorize, step);
  app.get(paths.authorize, showConsent);
  app.post(paths.authorize, decideConsent);
  // A principal that signs users in on another page comes back here (src/routes/sign-in.ts).
  if (options.principal.resume) {
    app.use(`${base}${SIGN_IN_RESUME_PATH}`, ...chain('authorize-continue', { withCors: false, page: true }));
    app.get(`${base}${SIGN_IN_RESUME_PATH}`, resumeAuthorization);
  }
  // The grant authority's own browser routes (Grantex: its consent callback).
  for (const route of authority.routes) {
    app.use(`${base}${route.path}`, ...chain('authorize-continue', { withCors: false, page: true }));
    app.get(`${base}${route.path}`, authorityPage(route));
  }

  app.use(paths.token, ...chain('token', { authenticatesClients: true }));
  app.post(paths.token, issueToken);
  app.use(paths.introspect, ...chain('introspect', { authenticatesClients: true }));
  app.post(paths.introspect, introspectToken);
  app.use(paths.revoke, ...chain('revoke', { authenticatesClients: true }));
  app.post(paths.revoke, revokeToken);

  // Liveness of KV and the Durable Object for monitors: never rate limited (see routes/health.ts).
  app.use(paths.health, issuerOrigin());
  app.get(paths.health, healthCheck(options, services));

  // The operator API exists only with an operator secret (README "Operate"); no CORS: not for browsers.
  if (options.operatorSecret) {
    const operatorRoutes = {
      clients: `${paths.operator}/clients`,
      revokeGrants: `${paths.operator}/grants/revoke`,
      rotateKeys: `${paths.operator}/keys/rotate`,
    };
    app.use(`${paths.operator}/*`, ...chain('other', { withCors: false }), operatorAuthentication(options.operatorSecret));
    app.get(operatorRoutes.clients, listClients);
    app.delete(operatorRoutes.clients, deleteClient);
    app.post(operatorRoutes.revokeGrants, revokeUserGrants);
    app.post(operatorRoutes.rotateKeys, rotateSigningKey);
    app.all(operatorRoutes.clients, () =>
      new OAuthError('invalid_request', 'This endpoint accepts GET and DELETE only.', { status: 405, headers: { Allow: 'GET, DELETE' } }).toResponse(),
    );
    for (const path of [operatorRoutes.revokeGrants, operatorRoutes.rotateKeys])
      app.all(path, () => new OAuthError('invalid_request', 'This endpoint accepts POST only.', { status: 405, headers: { Allow: 'POST' } }).toResponse());
  }

  // RFC 9110 §15.5.6: a known endpoint with the wrong method is 405, not 404.
  const postOnly = [paths.token, paths.introspect, paths.revoke, ...(options.registrationEnabled ? [paths.register] : [])];
  for (const path of postOnly)
    app.all(path, () => new OAuthError('invalid_request', 'This endpoint accepts POST only.', { status: 405, headers: { Allow: 'POST' } }).toResponse());

  const protect = (protectOptions: ProtectOptions = {}): MiddlewareHandler<McpAuthEnv> => {
    if ('checkRevocation' in protectOptions)
      throw new TypeError('protect: checkRevocation was replaced by revocationCheckSeconds (default 5; 0 checks every request)');
    const revocationCheckSeconds = protectOptions.revocationCheckSeconds ?? 5;
    if (!(revocationCheckSeconds >= 0) || !Number.isFinite(revocationCheckSeconds))
      throw new TypeError('protect: revocationCheckSeconds must be a finite number >= 0');
    const resource = protectOptions.resource ?? options.resources[0]!;
    const guardOptions = {
      scopes: protectOptions.scopes,
      scopesFor: protectOptions.scopesFor,
      scopeHierarchy: protectOptions.scopeHierarchy,
      resourceMetadataUrl: protectedResourceMetadataUrl(resource),
    };
    // The authority's verifier options and status check (RFC 7009: is the token revoked?, asked of
    // the grant's own Durable Object); one verifier per signing key set (Grantex mode: per bindings),
    // so a verified token is only ever remembered under the keys that verified it.
    const tokenCheck = authority.resourceTokenCheck(resource);
    const verifiers = new WeakMap<object, TokenVerifier>();
    const verifierFor = async (current: Services): Promise<TokenVerifier> => {
      const { scope, options: verifierOptions } = await tokenCheck.verifierFor(current);
      let verifier = verifiers.get(scope);
      if (!verifier)
        verifiers.set(
          scope,
          (verifier = createTokenVerifier({
            ...verifierOptions(),
            revocationCheckIntervalSeconds: revocationCheckSeconds,
            // On in both modes (Grantex's keys are remote, yet the revocation bound relies on it).
            verifiedTokenCacheSize: protectOptions.verifiedTokenCacheSize ?? PROTECT_VERIFIED_TOKEN_CACHE_SIZE,
            logger: options.logger,
          })),
        );
      return verifier;
    };
    // One guard per bindings. The keys are loaded only when a request presents a token: a request
    // without one is answered from the challenge alone.
    const guards = new WeakMap<object, MiddlewareHandler<McpAuthEnv>>();
    return async (c, next) => {
      // Fetch §3.2.2: a preflight is answered here, before any storage is read; never passed on without a grant.
      if (isCorsPreflight(c.req.method, (name) => c.req.header(name))) return c.body(null, 204);
      const current = services(c.env as Record<string, unknown>);
      let guard = guards.get(current);
      if (!guard) guards.set(current, (guard = requireMcpAuth({ ...guardOptions, verifier: async (token) => (await verifierFor(current))(token) })));
      return guard(c, next);
    };
  };

  return { app, protect };
}

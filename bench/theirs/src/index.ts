// Benchmark fixture for `npm run bench` (scripts/bench.mjs): @cloudflare/workers-oauth-provider.
//
//   /.well-known/…, /token, /register   the provider's own endpoints
//   GET /authorize     auto-approves (parseAuthRequest + completeAuthorization), 302 with the code
//   GET /mcp-ping      apiRoute: the provider checks the token, the handler checks the scope
//   GET /ping          defaultHandler, no auth: the floor
//
// It has no token introspection endpoint (RFC 7662), so that scenario runs on our side only.
import { OAuthProvider, type AuthRequest, type OAuthHelpers } from '@cloudflare/workers-oauth-provider';

interface Env {
  BASE_URL: string;
  OAUTH_KV: KVNamespace;
  OAUTH_PROVIDER: OAuthHelpers;
}

const SCOPES = ['mcp:tools:read', 'mcp:tools:write', 'offline_access'];

const apiHandler = {
  async fetch(_request: Request, _env: Env, ctx: ExecutionContext & { auth?: { scope: string[] } }) {
    // Same policy as bench/ours: the route needs mcp:tools:read.
    if (!ctx.auth?.scope.includes('mcp:tools:read')) return new Response('insufficient_scope', { status: 403 });
    return new Response('pong');
  },
};

const defaultHandler = {
  async fetch(request: Request, env: Env) {
    const url = new URL(request.url);
    if (url.pathname === '/ping') return new Response('pong');
    if (url.pathname === '/authorize' && request.method === 'GET') {
      const oauth = env.OAUTH_PROVIDER;
      const authRequest: AuthRequest = await oauth.parseAuthRequest(request);
      const { redirectTo } = await oauth.completeAuthorization({
        request: authRequest,
        userId: 'alice',
        metadata: {},
        scope: authRequest.scope,
        props: { userId: 'alice' },
        // Every prepared code is its own grant, as on our side (the default revokes the
        // user's earlier grants for the same client and resource).
        revokeExistingGrants: false,
      });
      return Response.redirect(redirectTo, 302);
    }
    return new Response('not found', { status: 404 });
  },
};

let provider: OAuthProvider<Env> | undefined;

export default {
  fetch(request: Request, env: Env, ctx: ExecutionContext) {
    provider ??= new OAuthProvider<Env>({
      apiRoute: '/mcp-ping',
      apiHandler,
      defaultHandler,
      authorizeEndpoint: '/authorize',
      tokenEndpoint: '/token',
      clientRegistrationEndpoint: '/register',
      scopesSupported: SCOPES,
      resourceMetadata: { resource: `${env.BASE_URL}/mcp-ping`, authorization_servers: [env.BASE_URL] },
      requiredScopes: ['mcp:tools:read'],
      accessTokenTTL: 900, // our default
    });
    return provider.fetch(request, env, ctx);
  },
};

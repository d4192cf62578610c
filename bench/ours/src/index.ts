// Benchmark fixture for `npm run bench` (scripts/bench.mjs): our side.
//
//   /…                 the authorization server at issuer BASE_URL, rate limits OFF
//   GET /mcp-ping      protected by auth.protect() (needs mcp:tools:read), answers "pong"
//   GET /mcp-ping-every-time  the same with verifiedTokenCacheSize: 0: a signature check per request
//   GET /ping          the same trivial handler without auth: the floor
//   GET /mcp-jose      reference only: the least a verifying Hono middleware can do (read the
//                      header, jose.jwtVerify against the issuer's JWKS, set a variable)
//   /rl/…              a second issuer (BASE_URL/rl) with only the /token rate limit ON
//                      (a limit no run reaches), to show what the per-request DO round trip costs;
//                      a separate app picked by prefix, so its routes never slow down the main one
//
// The audit log is off (`log: false`): the other side logs nothing per request either, and a
// console line per token through Miniflare's stdout pipe would measure the pipe.
import { Hono } from 'hono';
import { createLocalJWKSet, jwtVerify, type JWTVerifyGetKey } from 'jose';
import { createMcpAuth, McpAuthState } from 'mcp-auth-edge';

interface Env {
  BASE_URL: string;
}

const SCOPES = ['mcp:tools:read', 'mcp:tools:write', 'offline_access'];

function build(base: string): { main: Hono<{ Bindings: Env }>; limited: Hono<{ Bindings: Env }>; limitedPrefix: string } {
  const auth = createMcpAuth({
    issuer: base,
    resources: [`${base}/mcp-ping`],
    scopes: SCOPES,
    rateLimits: { enabled: false },
    log: false,
  });
  const limited = createMcpAuth({
    issuer: `${base}/rl`,
    resources: [`${base}/rl/mcp-ping`],
    scopes: SCOPES,
    rateLimits: { authorize: false, introspect: false, revoke: false, register: false, other: false, token: { limit: 1_000_000_000, windowSeconds: 3600 } },
    log: false,
  });
  const main = new Hono<{ Bindings: Env }>();
  main.route('/', auth.app);
  main.get('/mcp-ping', auth.protect({ scopes: ['mcp:tools:read'] }), (c) => c.text('pong'));
  main.get('/mcp-ping-every-time', auth.protect({ scopes: ['mcp:tools:read'], verifiedTokenCacheSize: 0 }), (c) => c.text('pong'));
  main.get('/ping', (c) => c.text('pong'));
  let jwks: Promise<JWTVerifyGetKey> | undefined;
  const joseOptions = { issuer: base, audience: `${base}/mcp-ping`, algorithms: ['ES256'] };
  main.get(
    '/mcp-jose',
    async (c, next) => {
      jwks ??= Promise.resolve(auth.app.fetch(new Request(`${base}/.well-known/jwks.json`), c.env, c.executionCtx))
        .then((res) => res.json())
        .then((set) => createLocalJWKSet(set as Parameters<typeof createLocalJWKSet>[0]));
      const getKey: JWTVerifyGetKey = await jwks;
      const { payload } = await jwtVerify(c.req.header('Authorization')!.slice(7), getKey, joseOptions);
      c.set('claims' as never, payload as never);
      await next();
    },
    (c) => c.text('pong'),
  );
  const rl = new Hono<{ Bindings: Env }>();
  rl.route('/', limited.app);
  return { main, limited: rl, limitedPrefix: `${base}/rl/` };
}

let apps: ReturnType<typeof build> | undefined;

export default {
  fetch(request: Request, env: Env, ctx: ExecutionContext) {
    apps ??= build(env.BASE_URL);
    return (request.url.startsWith(apps.limitedPrefix) ? apps.limited : apps.main).fetch(request, env, ctx);
  },
};
export { McpAuthState };

// Benchmark fixture for `npm run bench` (scripts/bench.mjs): our side.
//
//   /…                 the authorization server at issuer BASE_URL, rate limits OFF
//   GET /mcp-ping      protected by auth.protect() (needs mcp:tools:read), answers "pong"
//   GET /ping          the same trivial handler without auth: the floor
//   /rl/…              a second issuer (BASE_URL/rl) with only the /token rate limit ON
//                      (a limit no run reaches), to show what the per-request DO round trip costs
//
// The audit log is off (`log: false`): the other side logs nothing per request either, and a
// console line per token through Miniflare's stdout pipe would measure the pipe.
import { Hono } from 'hono';
import { createMcpAuth, McpAuthState } from 'mcp-auth-edge';

interface Env {
  BASE_URL: string;
}

const SCOPES = ['mcp:tools:read', 'mcp:tools:write', 'offline_access'];

function build(base: string) {
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
  const app = new Hono<{ Bindings: Env }>();
  app.route('/', auth.app);
  app.route('/', limited.app);
  app.get('/mcp-ping', auth.protect({ scopes: ['mcp:tools:read'] }), (c) => c.text('pong'));
  app.get('/ping', (c) => c.text('pong'));
  return app;
}

let app: ReturnType<typeof build> | undefined;

export default {
  fetch(request: Request, env: Env, ctx: ExecutionContext) {
    app ??= build(env.BASE_URL);
    return app.fetch(request, env, ctx);
  },
};
export { McpAuthState };

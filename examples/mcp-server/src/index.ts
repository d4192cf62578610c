// A real MCP server on Hono in one Worker, protected by the co-located authorization server.
// `npm run dev:example` serves it on http://localhost:8787: MCP at /mcp, OAuth beside it.
import { Hono, type Context } from 'hono';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import { z } from 'zod';
import { createMcpAuth, grantexFromEnv, McpAuthState, type WorkerEnv } from 'mcp-auth-edge';
import type { McpAuthEnv, McpGrant } from 'mcp-auth-edge/hono';

/** ISSUER, ACCESS_TOKEN_TTL_SECONDS and, to use Grantex as the grant authority, the GRANTEX_* variables. */
type Env = WorkerEnv;

/** The scope each tool needs; `/mcp` itself needs read. */
const TOOL_SCOPES: Record<string, string[]> = {
  whoami: ['mcp:tools:read'],
  create_ticket: ['mcp:tools:read', 'mcp:tools:write'],
};

function buildServer(grant: McpGrant): McpServer {
  const server = new McpServer({ name: 'mcp-auth-edge example', version: '1.0.0' });
  server.registerTool('whoami', { description: 'Who is calling, and with which scopes (needs mcp:tools:read).' }, async () => ({
    content: [{ type: 'text', text: JSON.stringify({ sub: grant.sub, clientId: grant.clientId, scopes: grant.scopes }) }],
  }));
  server.registerTool(
    'create_ticket',
    { description: 'Opens a support ticket (needs mcp:tools:write).', inputSchema: { title: z.string().min(1).max(200) } },
    async ({ title }) => ({ content: [{ type: 'text', text: `Ticket "${title}" opened for ${grant.sub}.` }] }),
  );
  return server;
}

/** JSON-RPC: the scopes a `tools/call` needs; any other MCP request needs read. */
async function scopesForRequest(c: Context): Promise<string[]> {
  if (c.req.method !== 'POST') return TOOL_SCOPES.whoami!;
  const body = await c.req.json().catch(() => undefined);
  const messages = Array.isArray(body) ? body : [body];
  const needed = new Set<string>(TOOL_SCOPES.whoami);
  for (const message of messages) {
    if (message?.method === 'tools/call') for (const scope of TOOL_SCOPES[message.params?.name] ?? []) needed.add(scope);
  }
  return [...needed];
}

let app: Hono<McpAuthEnv & { Bindings: Env }> | undefined;

function build(env: Env) {
  const auth = createMcpAuth({
    issuer: env.ISSUER,
    resources: [`${env.ISSUER}/mcp`],
    scopes: ['mcp:tools:read', 'mcp:tools:write', 'offline_access'],
    defaultScopes: ['mcp:tools:read'],
    accessTokenTtlSeconds: env.ACCESS_TOKEN_TTL_SECONDS ? Number(env.ACCESS_TOKEN_TTL_SECONDS) : undefined,
    scopeDescriptions: {
      'mcp:tools:read': 'See who you are and use read-only tools',
      'mcp:tools:write': 'Open support tickets on your behalf',
      offline_access: 'Stay connected when you are away',
    },
    consentUi: { appName: 'Example MCP server' },
    authority: grantexFromEnv(env), // undefined → the embedded signer
  });
  const host = new Hono<McpAuthEnv & { Bindings: Env }>();
  host.route('/', auth.app); // authorization server + RFC 9728 metadata for /mcp
  host.all('/mcp', auth.protect({ scopes: scopesForRequest }), async (c) => {
    // Stateless Streamable HTTP: a server and a transport per request.
    const transport = new WebStandardStreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    const server = buildServer(c.get('mcpGrant'));
    await server.connect(transport);
    const parsedBody = c.req.method === 'POST' ? await c.req.json() : undefined;
    return transport.handleRequest(c.req.raw, { parsedBody });
  });
  return host;
}

export default {
  fetch(request: Request, env: Env, ctx: ExecutionContext) {
    app ??= build(env);
    return app.fetch(request, env, ctx);
  },
};
export { McpAuthState };

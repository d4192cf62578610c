// A real MCP server (MCP SDK v2: spec 2026-07-28, and 2025-era clients through the SDK's stateless
// fallback) on Hono in one Worker, protected by the co-located authorization server.
// `npm run dev:example` serves it on http://localhost:8787: MCP at /mcp, OAuth beside it.
import { Hono, type Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { createMcpHandler, fromJsonSchema, McpServer, type AuthInfo, type McpHttpHandler } from '@modelcontextprotocol/server';
// Inside this repository the library is imported from its sources; copied out, import the same
// names from 'mcp-auth-edge' and 'mcp-auth-edge/hono' (see README.md).
import { createMcpAuth, grantexFromEnv, McpAuthState, type WorkerEnv } from '../../../src/lib.js';
import { mcpCors, readRequestBody, type McpAuthEnv, type McpGrant } from '../../../src/middleware/hono.js';

/**
 * ISSUER, ACCESS_TOKEN_TTL_SECONDS, to use Grantex as the grant authority the GRANTEX_* variables,
 * and MCP_CORS_ORIGINS: the browser origins allowed to call /mcp, space-separated, or `*`.
 */
type Env = WorkerEnv & { MCP_CORS_ORIGINS?: string };
/** The JSON-RPC body of a POST, once read and parsed. */
type McpHostEnv = McpAuthEnv & { Bindings: Env; Variables: { mcpBody: { message: unknown } } };

/** Every MCP request needs read. */
const READ_SCOPES = ['mcp:tools:read'];
/** The scopes a tool needs besides read. A Map: the tool name is caller input, never an object key. */
const TOOL_SCOPES = new Map<string, string[]>([['create_ticket', ['mcp:tools:write']]]);
/** The largest JSON-RPC body accepted. */
const MAX_MCP_BODY_BYTES = 1024 * 1024;

/** The `create_ticket` arguments, as JSON Schema (validated by the SDK before the tool runs). */
const TICKET_INPUT = fromJsonSchema<{ title: string }>({
  type: 'object',
  properties: { title: { type: 'string', minLength: 1, maxLength: 200 } },
  required: ['title'],
  additionalProperties: false,
});

/** What the verified grant tells a tool, handed to the SDK as its AuthInfo (never read from headers). */
function authInfoOf(grant: McpGrant, resource: string): AuthInfo {
  return {
    token: grant.raw,
    clientId: grant.clientId ?? '',
    scopes: grant.scopes,
    expiresAt: grant.exp,
    resource: new URL(resource),
    extra: { sub: grant.sub, clientId: grant.clientId },
  };
}

/** One server per request (stateless): both protocol eras are served by this one definition. */
function buildServer(auth: AuthInfo | undefined): McpServer {
  if (!auth) throw new Error('the MCP handler ran without a verified grant'); // protect() runs first
  const sub = String(auth.extra?.sub);
  const server = new McpServer({ name: 'mcp-auth-edge example', version: '1.0.0' });
  server.registerTool('whoami', { description: 'Who is calling, and with which scopes (needs mcp:tools:read).' }, async () => ({
    content: [{ type: 'text', text: JSON.stringify({ sub, clientId: auth.extra?.clientId, scopes: auth.scopes }) }],
  }));
  server.registerTool('create_ticket', { description: 'Opens a support ticket (needs mcp:tools:write).', inputSchema: TICKET_INPUT }, async ({ title }) => ({
    content: [{ type: 'text', text: `Ticket "${title}" opened for ${sub}.` }],
  }));
  return server;
}

/** A refusal with a JSON-RPC error and no id, as the MCP Streamable HTTP transport answers. */
function jsonRpcError(status: 400 | 413, code: number, message: string): HTTPException {
  return new HTTPException(status, { res: Response.json({ jsonrpc: '2.0', id: null, error: { code, message } }, { status }) });
}

/**
 * The JSON-RPC body of a POST: read once within the cap, parsed once, kept for the transport.
 * Too large → 413; not UTF-8 JSON → 400 parse error (-32700, JSON-RPC 2.0 §5.1).
 */
async function mcpMessage(c: Context<McpHostEnv>): Promise<unknown> {
  const read = c.get('mcpBody');
  if (read) return read.message;
  const bytes = await readRequestBody(c.req.raw, MAX_MCP_BODY_BYTES).catch(() => new Uint8Array(0)); // broke off: parses as nothing
  if (!bytes) throw jsonRpcError(413, -32000, `Request body exceeds ${MAX_MCP_BODY_BYTES} bytes`);
  let message: unknown;
  try {
    message = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    throw jsonRpcError(400, -32700, 'Parse error: Invalid JSON');
  }
  c.set('mcpBody', { message });
  return message;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

/** The scopes the `tools/call` messages of a POST need besides read (asked only once the token verified). */
async function toolScopes(c: Context<McpHostEnv>): Promise<string[]> {
  if (c.req.method !== 'POST') return [];
  const message = await mcpMessage(c);
  const needed = new Set<string>();
  for (const each of Array.isArray(message) ? message : [message]) {
    if (!isObject(each) || each.method !== 'tools/call' || !isObject(each.params) || typeof each.params.name !== 'string') continue;
    for (const scope of TOOL_SCOPES.get(each.params.name) ?? []) needed.add(scope);
  }
  return [...needed];
}

let app: Hono<McpHostEnv> | undefined;

function build(env: Env) {
  const resource = `${env.ISSUER}/mcp`;
  const auth = createMcpAuth({
    issuer: env.ISSUER,
    resources: [resource],
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
  const host = new Hono<McpHostEnv>();
  host.route('/', auth.app); // authorization server + RFC 9728 metadata for /mcp
  // Streamable HTTP, stateless: 2026-07-28 requests per request, 2025-era ones (initialize, no
  // sessions; GET and DELETE answer 405) by the SDK's stateless fallback, from the same factory.
  const mcp: McpHttpHandler = createMcpHandler(({ authInfo }) => buildServer(authInfo), { maxRequestBodySize: MAX_MCP_BODY_BYTES });
  const corsOrigins = (env.MCP_CORS_ORIGINS ?? '*').trim();
  host.use('/mcp', mcpCors({ origins: corsOrigins === '*' ? '*' : corsOrigins.split(/\s+/) }));
  host.all('/mcp', auth.protect({ scopes: READ_SCOPES, scopesFor: toolScopes }), async (c) => {
    const parsedBody = c.req.method === 'POST' ? await mcpMessage(c) : undefined;
    return mcp.fetch(c.req.raw, { parsedBody, authInfo: authInfoOf(c.get('mcpGrant'), resource) });
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

import { beforeAll, describe, expect, it } from 'vitest';
import { Hono, type Context } from 'hono';
import { env } from 'cloudflare:workers';
import { createTokenMint, ISSUER as MINT_ISSUER, now, PRM, RESOURCE as MINT_RESOURCE, type TokenMint } from '../shared/token-mint';
import { requireMcpAuth, type McpAuthEnv } from '../../src/middleware/hono.js';
import { workerAuth, tokensFor } from './helpers';

/**
 * A per-request scope function that records every call: the write tool needs write, anything
 * else read. It reads the body, which is the work that must never run for anonymous callers.
 */
function recordingScopes() {
  const calls: string[] = [];
  const scopesFor = async (c: Context): Promise<string[]> => {
    const body = await c.req.text();
    calls.push(body);
    return body.includes('write_tool') ? ['mcp:tools:read', 'mcp:tools:write'] : ['mcp:tools:read'];
  };
  return { calls, scopesFor };
}

const post = (app: Hono<McpAuthEnv>, authorization: string | undefined, body: string) =>
  app.request('/mcp', { method: 'POST', body, headers: authorization ? { Authorization: authorization } : {} }, env);

/** Requests that must be refused before the scope function runs. */
const anonymous = (bad: string): [string, string | undefined, number][] => [
  ['no Authorization header', undefined, 401],
  ['another scheme', 'Basic dXNlcjpwYXNz', 401],
  ['an empty Bearer value', 'Bearer ', 400],
  ['a token that fails verification', `Bearer ${bad}`, 401],
];

describe('requireMcpAuth (Hono): the token is verified before any per-request work (RFC 6750 §3.1)', () => {
  let mint: TokenMint;
  let app: Hono<McpAuthEnv>;
  let recorded: ReturnType<typeof recordingScopes>;
  beforeAll(async () => {
    mint = await createTokenMint();
    recorded = recordingScopes();
    app = new Hono<McpAuthEnv>();
    app.post(
      '/mcp',
      requireMcpAuth({ issuer: MINT_ISSUER, audience: MINT_RESOURCE, keys: mint.jwks, now, scopes: ['mcp:tools:read'], scopesFor: recorded.scopesFor }),
      (c) => c.text(`ok ${c.get('mcpGrant').sub}`),
    );
  });

  it('RFC 6750 §3.1: no token, another scheme, a malformed or a bad token → the challenge, and the scope function never runs', async () => {
    const bad = await mint.token({ iss: 'https://evil.example' });
    for (const [what, authorization, status] of anonymous(bad)) {
      const res = await post(app, authorization, '{"method":"tools/call","params":{"name":"write_tool"}}');
      expect(res.status, what).toBe(status);
      if (status === 401) expect(res.headers.get('WWW-Authenticate'), what).toContain(`resource_metadata="${PRM}", scope="mcp:tools:read"`);
    }
    expect(recorded.calls).toEqual([]);
  });

  it('RFC 6750 §3.1: with a verified token the request scopes decide: 403 insufficient_scope naming every scope it needs, or the handler', async () => {
    recorded.calls.length = 0;
    const reader = await mint.withScopes('mcp:tools:read');
    const refused = await post(app, `Bearer ${reader}`, 'write_tool');
    expect(refused.status).toBe(403);
    expect(refused.headers.get('WWW-Authenticate')).toContain('error="insufficient_scope"');
    expect(refused.headers.get('WWW-Authenticate')).toContain('scope="mcp:tools:read mcp:tools:write"');
    const served = await post(app, `Bearer ${reader}`, 'read_tool');
    expect(served.status).toBe(200);
    expect(await served.text()).toBe('ok user-1');
    expect(recorded.calls).toEqual(['write_tool', 'read_tool']);
  });
});

describe('auth.protect(): the token is verified before any per-request work (RFC 6750 §3.1)', () => {
  const recorded = recordingScopes();
  const auth = workerAuth();
  const app = new Hono<McpAuthEnv>();
  app.post('/mcp', auth.protect({ scopes: ['mcp:tools:read'], scopesFor: recorded.scopesFor }), (c) => c.text(`ok ${c.get('mcpGrant').sub}`));

  it('RFC 6750 §3.1: no token, another scheme, a malformed or a bad token → the challenge, and the scope function never runs', async () => {
    const { tokens } = await tokensFor();
    const [header, payload] = tokens.access_token.split('.');
    const forged = `${header}.${payload}.${'A'.repeat(86)}`;
    for (const [what, authorization, status] of anonymous(forged)) {
      const res = await post(app, authorization, 'write_tool');
      expect(res.status, what).toBe(status);
      if (status === 401) expect(res.headers.get('WWW-Authenticate'), what).toContain('scope="mcp:tools:read"');
    }
    expect(recorded.calls).toEqual([]);
  });

  it('RFC 6750 §3.1: with a verified token the request scopes decide: 403 insufficient_scope naming every scope it needs, or the handler', async () => {
    const { tokens } = await tokensFor({ scope: 'mcp:tools:read' });
    const refused = await post(app, `Bearer ${tokens.access_token}`, 'write_tool');
    expect(refused.status).toBe(403);
    expect(refused.headers.get('WWW-Authenticate')).toContain('scope="mcp:tools:read mcp:tools:write"');
    const served = await post(app, `Bearer ${tokens.access_token}`, 'read_tool');
    expect(served.status).toBe(200);
    expect(recorded.calls).toEqual(['write_tool', 'read_tool']);
  });
});

describe('per-request scopes are a separate option', () => {
  it('a function given as scopes is refused when the middleware is built, naming scopesFor', async () => {
    const { jwks } = await createTokenMint();
    const scopes = (() => ['mcp:tools:read']) as unknown as string[];
    expect(() => requireMcpAuth({ issuer: MINT_ISSUER, audience: MINT_RESOURCE, keys: jwks, scopes })).toThrow(/scopesFor/);
  });
});

import { describe, expect, it } from 'vitest';
import { Hono } from 'hono';
import { env } from 'cloudflare:workers';
import { mcpCors, requireMcpAuth } from '../../src/middleware/hono';
import { createCorsPolicy, isCorsPreflight, type McpCorsOptions } from '../../src/middleware/cors';
import { ISSUER, RESOURCE, workerAuth, tokensFor } from './helpers';

/**
 * Browser-based MCP clients (Fetch standard §3.2): a preflight is answered without verification,
 * and every answer of the protected route, its 401/403 challenge included, is readable by the
 * listed origins.
 */
const APP_ORIGIN = 'https://app.example';
const OTHER_ORIGIN = 'https://evil.example';
const PREFLIGHT = {
  Origin: APP_ORIGIN,
  'Access-Control-Request-Method': 'POST',
  'Access-Control-Request-Headers': 'authorization,content-type,mcp-session-id,mcp-protocol-version',
};

/** Bindings that fail the test on any use: a preflight must not touch storage. */
function untouchableEnv(): { env: Record<string, unknown>; reads: string[] } {
  const reads: string[] = [];
  const proxy = new Proxy(
    {},
    {
      get(_, name) {
        reads.push(String(name));
        throw new Error(`binding ${String(name)} read`);
      },
      has(_, name) {
        reads.push(String(name));
        return false;
      },
    },
  );
  return { env: proxy, reads };
}

/** protect() on /mcp as a host mounts it, with mcpCors before it unless `cors` is false. */
function host(options: { cors?: McpCorsOptions | false; scopes?: string[] } = {}) {
  const auth = workerAuth();
  const handled: string[] = [];
  const app = new Hono();
  if (options.cors !== false) app.use('/mcp', mcpCors(options.cors ?? { origins: [APP_ORIGIN] }));
  app.all('/mcp', auth.protect({ scopes: options.scopes ?? ['mcp:tools:read'] }), (c) => {
    handled.push(`${c.req.method} ${c.get('mcpGrant')?.sub ?? 'no grant'}`);
    return c.json({ jsonrpc: '2.0', id: 1, result: {} }, 200, { 'Mcp-Session-Id': 'session-1', Vary: 'Accept' });
  });
  const request = (method: string, headers: Record<string, string>, bindings: Record<string, unknown> = env as unknown as Record<string, unknown>) =>
    app.fetch(new Request(RESOURCE, { method, headers }), bindings);
  return { request, handled };
}

const list = (value: string | null) =>
  (value ?? '')
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean);

describe('CORS preflight through protect() (Fetch §3.2.2)', () => {
  it('a preflight gets 204 with the MCP headers and methods allowed, without a token and without reading storage', async () => {
    const { request, handled } = host();
    const bindings = untouchableEnv();
    const res = await request('OPTIONS', PREFLIGHT, bindings.env);
    expect(res.status).toBe(204);
    expect(res.headers.get('Access-Control-Allow-Origin')).toBe(APP_ORIGIN);
    expect(list(res.headers.get('Access-Control-Allow-Headers'))).toEqual([
      'authorization',
      'content-type',
      'mcp-session-id',
      'mcp-protocol-version',
      'last-event-id',
      'mcp-method',
      'mcp-name',
    ]);
    expect(list(res.headers.get('Access-Control-Allow-Methods'))).toEqual(['get', 'post', 'delete', 'options']);
    expect(res.headers.get('Access-Control-Allow-Credentials')).toBeNull();
    expect(list(res.headers.get('Vary'))).toContain('origin');
    expect(res.headers.get('WWW-Authenticate')).toBeNull();
    expect(bindings.reads).toEqual([]);
    expect(handled).toEqual([]);
  });

  it('without CORS middleware, protect() answers a preflight itself: 204 without CORS headers, no challenge, no storage read, the handler never runs', async () => {
    const { request, handled } = host({ cors: false });
    const bindings = untouchableEnv();
    const res = await request('OPTIONS', PREFLIGHT, bindings.env);
    expect(res.status).toBe(204);
    expect(res.headers.get('WWW-Authenticate')).toBeNull();
    expect(res.headers.get('Access-Control-Allow-Origin')).toBeNull();
    expect(bindings.reads).toEqual([]);
    expect(handled).toEqual([]);
  });

  it('requireMcpAuth answers a preflight without calling the verifier or the handler', async () => {
    let verified = 0;
    let handled = 0;
    const app = new Hono();
    app.all(
      '/mcp',
      requireMcpAuth({
        audience: RESOURCE,
        verifier: async () => {
          verified++;
          throw new Error('verifier called');
        },
      }),
      (c) => (handled++, c.text(`handler ${c.req.method}`)),
    );
    const res = await app.fetch(new Request(RESOURCE, { method: 'OPTIONS', headers: { ...PREFLIGHT, Authorization: 'Bearer abc' } }));
    expect(res.status).toBe(204);
    expect(res.headers.get('WWW-Authenticate')).toBeNull();
    expect(verified).toBe(0);
    expect(handled).toBe(0);
  });

  it('an OPTIONS without the preflight headers is an ordinary request: challenged, with or without mcpCors', async () => {
    for (const cors of [undefined, false] as const) {
      const { request, handled } = host({ cors });
      for (const headers of [{}, { Origin: APP_ORIGIN }, { 'Access-Control-Request-Method': 'POST' }] as Record<string, string>[]) {
        const res = await request('OPTIONS', headers);
        expect(res.status, JSON.stringify({ cors, headers })).toBe(401);
        expect(res.headers.get('WWW-Authenticate')).toMatch(/^Bearer resource_metadata="/);
      }
      expect(handled).toEqual([]);
    }
  });
});

describe('CORS headers on the answers of protect()', () => {
  it('a 401 to a cross-origin request is readable: the origin allowed, WWW-Authenticate and Mcp-Session-Id exposed', async () => {
    const { request } = host();
    const res = await request('POST', { Origin: APP_ORIGIN, 'Content-Type': 'application/json' });
    expect(res.status).toBe(401);
    expect(res.headers.get('WWW-Authenticate')).toBe(`Bearer resource_metadata="${ISSUER}/.well-known/oauth-protected-resource/mcp", scope="mcp:tools:read"`);
    expect(res.headers.get('Access-Control-Allow-Origin')).toBe(APP_ORIGIN);
    expect(list(res.headers.get('Access-Control-Expose-Headers'))).toEqual(['www-authenticate', 'mcp-session-id']);
    expect(list(res.headers.get('Vary'))).toContain('origin');
  });

  it('a 401 invalid_token and a 403 insufficient_scope carry the CORS headers too', async () => {
    const { request } = host({ scopes: ['mcp:tools:write'] });
    const bad = await request('POST', { Origin: APP_ORIGIN, Authorization: 'Bearer not.a.token' });
    expect(bad.status).toBe(401);
    expect(bad.headers.get('WWW-Authenticate')).toContain('error="invalid_token"');
    expect(bad.headers.get('Access-Control-Allow-Origin')).toBe(APP_ORIGIN);
    expect(list(bad.headers.get('Access-Control-Expose-Headers'))).toContain('www-authenticate');

    const { tokens } = await tokensFor({ scope: 'mcp:tools:read' });
    const narrow = await request('POST', { Origin: APP_ORIGIN, Authorization: `Bearer ${tokens.access_token}` });
    expect(narrow.status).toBe(403);
    expect(narrow.headers.get('WWW-Authenticate')).toContain('error="insufficient_scope"');
    expect(narrow.headers.get('Access-Control-Allow-Origin')).toBe(APP_ORIGIN);
    expect(list(narrow.headers.get('Access-Control-Expose-Headers'))).toContain('www-authenticate');
  });

  it("the handler's answer keeps its own headers and gets the CORS ones (Vary appended)", async () => {
    const { request, handled } = host();
    const { tokens } = await tokensFor({ scope: 'mcp:tools:read' });
    const res = await request('POST', { Origin: APP_ORIGIN, Authorization: `Bearer ${tokens.access_token}` });
    expect(res.status).toBe(200);
    expect(handled).toHaveLength(1);
    expect(handled[0]).toMatch(/^POST (?!no grant$)/);
    expect(res.headers.get('Mcp-Session-Id')).toBe('session-1');
    expect(res.headers.get('Access-Control-Allow-Origin')).toBe(APP_ORIGIN);
    expect(list(res.headers.get('Vary'))).toEqual(['accept', 'origin']);
  });

  it('an origin not on the list gets no Access-Control-Allow-Origin, on the preflight or the 401', async () => {
    const { request } = host();
    const preflight = await request('OPTIONS', { ...PREFLIGHT, Origin: OTHER_ORIGIN });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('Access-Control-Allow-Origin')).toBeNull();
    expect(preflight.headers.get('Access-Control-Allow-Headers')).toBeNull();
    const challenged = await request('POST', { Origin: OTHER_ORIGIN });
    expect(challenged.status).toBe(401);
    expect(challenged.headers.get('Access-Control-Allow-Origin')).toBeNull();
    expect(challenged.headers.get('Access-Control-Expose-Headers')).toBeNull();
    expect(list(challenged.headers.get('Vary'))).toContain('origin');
    // A same-origin or non-browser request (no Origin) gets no CORS headers either.
    expect((await request('POST', {})).headers.get('Access-Control-Allow-Origin')).toBeNull();
  });

  it("origins '*' allows any origin with ACAO * (no Vary), never with credentials", async () => {
    const { request } = host({ cors: { origins: '*' } });
    const res = await request('POST', { Origin: OTHER_ORIGIN });
    expect(res.status).toBe(401);
    expect(res.headers.get('Access-Control-Allow-Origin')).toBe('*');
    expect(res.headers.get('Access-Control-Allow-Credentials')).toBeNull();
    expect(res.headers.get('Vary')).toBeNull();
  });
});

describe('mcpCors options, checked up front', () => {
  it.each([
    ['no origins', undefined],
    ['an empty list', []],
    ['the null origin', ['null']],
    ['* inside a list', ['*']],
    ['a path', ['https://app.example/mcp']],
    ['not a URL', ['app.example']],
    ['another scheme', ['ftp://app.example']],
  ])('%s is refused', (_, origins) => {
    expect(() => mcpCors({ origins } as unknown as McpCorsOptions)).toThrow(TypeError);
  });

  it('extra headers are added once, invalid names refused, maxAgeSeconds validated', () => {
    const policy = createCorsPolicy({ origins: [APP_ORIGIN], allowHeaders: ['X-Trace', 'authorization'], exposeHeaders: ['X-Request-Id'], maxAgeSeconds: 60 });
    expect(policy(APP_ORIGIN, true)).toMatchObject({
      'Access-Control-Allow-Headers': 'Authorization, Content-Type, Mcp-Session-Id, MCP-Protocol-Version, Last-Event-ID, Mcp-Method, Mcp-Name, X-Trace',
      'Access-Control-Max-Age': '60',
    });
    expect(policy(APP_ORIGIN, false)).toMatchObject({ 'Access-Control-Expose-Headers': 'WWW-Authenticate, Mcp-Session-Id, X-Request-Id' });
    expect(() => createCorsPolicy({ origins: [APP_ORIGIN], allowHeaders: ['Bad Header'] })).toThrow(TypeError);
    expect(() => createCorsPolicy({ origins: [APP_ORIGIN], maxAgeSeconds: -1 })).toThrow(TypeError);
  });

  it('isCorsPreflight needs OPTIONS, Origin and Access-Control-Request-Method', () => {
    const h = (headers: Record<string, string>) => (name: string) => headers[name];
    expect(isCorsPreflight('OPTIONS', h({ Origin: APP_ORIGIN, 'Access-Control-Request-Method': 'POST' }))).toBe(true);
    expect(isCorsPreflight('OPTIONS', h({ Origin: APP_ORIGIN }))).toBe(false);
    expect(isCorsPreflight('OPTIONS', h({ 'Access-Control-Request-Method': 'POST' }))).toBe(false);
    expect(isCorsPreflight('POST', h({ Origin: APP_ORIGIN, 'Access-Control-Request-Method': 'POST' }))).toBe(false);
  });
});

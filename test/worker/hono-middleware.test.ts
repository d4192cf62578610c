import { beforeAll, describe, expect, it } from 'vitest';
import { claims, createTokenMint, ISSUER, NOW, now, PRM, RESOURCE, type TokenMint } from '../shared/token-mint';
import { Hono } from 'hono';
import { UnsecuredJWT, type JWK } from 'jose';
import { protectedResourceMetadata, requireMcpAuth, type McpAuthEnv, type RequireMcpAuthOptions } from '../../src/middleware/hono.js';
import { bearerChallenge, readBearerCredentials } from '../../src/middleware/challenge.js';
import { createTokenVerifier } from '../../src/verify/index.js';

let jwks: { keys: JWK[] };
let app: Hono<McpAuthEnv>;

let token: TokenMint['token'];
let withScopes: TokenMint['withScopes'];

function call(path: string, authorization?: string | string[], init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  for (const value of [authorization ?? []].flat()) headers.append('Authorization', value);
  return Promise.resolve(app.request(path, { method: 'POST', ...init, headers }));
}

const MISSING = `Bearer resource_metadata="${PRM}", scope="mcp:tools:read"`;
const invalidToken = (description: string) =>
  `Bearer error="invalid_token", error_description="${description}", resource_metadata="${PRM}", scope="mcp:tools:read"`;

beforeAll(async () => {
  const mint = await createTokenMint();
  ({ jwks, token, withScopes } = mint);
  const base: RequireMcpAuthOptions = { issuer: ISSUER, audience: RESOURCE, keys: jwks, now };

  app = new Hono<McpAuthEnv>();
  app.on(
    ['GET', 'OPTIONS'],
    '/.well-known/oauth-protected-resource/mcp',
    protectedResourceMetadata({
      resource: RESOURCE,
      authorizationServers: [ISSUER],
      scopesSupported: ['mcp:tools:read', 'mcp:tools:write', 'offline_access'],
      resourceName: 'Test MCP',
    }),
  );
  app.use('/mcp', requireMcpAuth({ ...base, scopes: ['mcp:tools:read'] }));
  app.post('/mcp', (c) => {
    const grant = c.get('mcpGrant');
    return c.json({ sub: grant.sub, clientId: grant.clientId, scopes: grant.scopes });
  });
  app.use('/admin', requireMcpAuth({ ...base, scopes: ['mcp:tools:read', 'mcp:admin', 'offline_access'] }));
  app.post('/admin', (c) => c.text('admin ok'));
  app.use(
    '/hier',
    requireMcpAuth({
      ...base,
      scopes: ['mcp:tools:read'],
      scopeHierarchy: { 'mcp:admin': ['mcp:tools:write'], 'mcp:tools:write': ['mcp:tools:read'] },
    }),
  );
  app.post('/hier', (c) => c.text('hier ok'));
  app.use('/revoked', requireMcpAuth({ ...base, scopes: ['mcp:tools:read'], checkRevocation: async () => true }));
  app.post('/revoked', (c) => c.text('unreachable'));
  app.use(
    '/keys-down',
    requireMcpAuth({
      issuer: ISSUER,
      audience: RESOURCE,
      now,
      fetch: (async () => new Response('maintenance', { status: 503 })) as typeof fetch,
    }),
  );
  app.post('/keys-down', (c) => c.text('unreachable'));
  app.use('/introspection-down', requireMcpAuth({ ...base, checkRevocation: async () => Promise.reject(new Error('down')) }));
  app.post('/introspection-down', (c) => c.text('unreachable'));
  app.use(
    '/prebuilt',
    requireMcpAuth({ verifier: createTokenVerifier({ ...base, issuer: ISSUER }), resourceMetadataUrl: 'https://mcp.example.com/.well-known/custom' }),
  );
  app.post('/prebuilt', (c) => c.text(c.get('mcpGrant').jti));
  app.use('/open', requireMcpAuth(base));
  app.post('/open', (c) => c.text('open ok'));
});

describe('requireMcpAuth (Hono): challenges', () => {
  it('PR-2 RFC 6750 §3.1 + RFC 9728 §5.1: no credentials → 401 with resource_metadata and scope, no error code, no body', async () => {
    const res = await call('/mcp');
    expect(res.status).toBe(401);
    expect(res.headers.get('WWW-Authenticate')).toBe(MISSING);
    expect(res.headers.get('Cache-Control')).toBe('no-store');
    expect(await res.text()).toBe('');
  });

  it('PR-2 RFC 7235 §2.1: another auth scheme counts as no Bearer credentials', async () => {
    for (const header of ['Basic dXNlcjpwYXNz', 'DPoP abc.def.ghi', 'Bearerx abc']) {
      const res = await call('/mcp', header);
      expect(res.status).toBe(401);
      expect(res.headers.get('WWW-Authenticate')).toBe(MISSING);
    }
  });

  it('PR-2: a route without required scopes sends a challenge without scope', async () => {
    const res = await call('/open');
    expect(res.headers.get('WWW-Authenticate')).toBe(`Bearer resource_metadata="${PRM}"`);
  });

  it.each([
    ['Bearer', 'The Bearer credentials are empty'],
    ['Bearer    ', 'The Bearer credentials are empty'],
    ['Bearer a b', 'The Authorization header must carry exactly one Bearer token'],
    ['Bearer a,b', 'The Authorization header must carry exactly one Bearer token'],
    ['Bearer tok%en', 'The Authorization header must carry exactly one Bearer token'],
    ['Bearer "quoted"', 'The Authorization header must carry exactly one Bearer token'],
  ])('PR-4 RFC 6750 §3.1: malformed Bearer credentials %j → 400 invalid_request', async (header, description) => {
    const res = await call('/mcp', header);
    expect(res.status).toBe(400);
    expect(res.headers.get('WWW-Authenticate')).toBe(`Bearer error="invalid_request", error_description="${description}", resource_metadata="${PRM}"`);
    expect(res.headers.get('Cache-Control')).toBe('no-store');
    expect(await res.json()).toEqual({ error: 'invalid_request', error_description: description });
  });

  it('PR-4 RFC 6750 §2.1: two Authorization headers → 400 invalid_request', async () => {
    const valid = await token();
    const res = await call('/mcp', [`Bearer ${valid}`, `Bearer ${valid}`]);
    expect(res.status).toBe(400);
    expect(res.headers.get('WWW-Authenticate')).toContain('error="invalid_request"');
  });

  it.each([
    ['expired', () => token({ exp: NOW - 60 }), 'The access token has expired'],
    ['wrong issuer', () => token({ iss: 'https://evil.example' }), 'The access token was issued by another issuer'],
    ['wrong audience (token passthrough)', () => token({ aud: 'https://other.example/mcp' }), 'The access token is not intended for this resource'],
    ['wrong typ', () => token({}, { typ: 'JWT' }), 'The access token has the wrong JWT type (typ)'],
    ['alg none', async () => new UnsecuredJWT(claims()).encode(), 'The access token signing algorithm is not accepted'],
    ['unknown kid', () => token({}, { kid: 'k-unknown' }), 'No key of the issuer matches the access token'],
    ['missing client_id', () => token({ client_id: undefined }), 'The access token lacks the required client_id claim'],
    ['not a JWT', async () => 'opaque-token', 'The access token is not a well-formed JWT'],
  ])('PR-2 RFC 6750 §3.1: %s → 401 invalid_token with description and resource_metadata', async (_, make, description) => {
    const res = await call('/mcp', `Bearer ${await make()}`);
    expect(res.status).toBe(401);
    expect(res.headers.get('WWW-Authenticate')).toBe(invalidToken(description));
    expect(res.headers.get('Cache-Control')).toBe('no-store');
    expect(res.headers.get('Content-Type')).toBe('application/json');
    expect(await res.json()).toEqual({ error: 'invalid_token', error_description: description });
  });

  it('PR-2: a revoked token → 401 invalid_token (never 500)', async () => {
    const res = await call('/revoked', `Bearer ${await token()}`);
    expect(res.status).toBe(401);
    expect(res.headers.get('WWW-Authenticate')).toBe(invalidToken('The access token has been revoked'));
  });

  it('PR-2: JWKS unreachable → 503 with Retry-After, not 401 or 500', async () => {
    const res = await call('/keys-down', `Bearer ${await token()}`);
    expect(res.status).toBe(503);
    expect(res.headers.get('Retry-After')).toBe('5');
    expect(res.headers.get('WWW-Authenticate')).toBeNull();
    expect(res.headers.get('Cache-Control')).toBe('no-store');
    expect(await res.json()).toEqual({ error: 'temporarily_unavailable', error_description: 'The issuer keys could not be retrieved' });
  });

  it('PR-2: revocation status unavailable → 503 with Retry-After (fail closed)', async () => {
    const res = await call('/introspection-down', `Bearer ${await token()}`);
    expect(res.status).toBe(503);
    expect(res.headers.get('Retry-After')).toBe('5');
  });

  it('PR-3 [2025-11] RFC 6750 §3.1: insufficient scope → 403 listing every scope the operation needs, never offline_access', async () => {
    const res = await call('/admin', `Bearer ${await withScopes('mcp:tools:read', 'offline_access')}`);
    expect(res.status).toBe(403);
    expect(res.headers.get('WWW-Authenticate')).toBe(
      `Bearer error="insufficient_scope", error_description="The access token lacks a scope this operation requires", resource_metadata="${PRM}", scope="mcp:tools:read mcp:admin"`,
    );
    expect(res.headers.get('Cache-Control')).toBe('no-store');
    expect(await res.json()).toEqual({ error: 'insufficient_scope', error_description: 'The access token lacks a scope this operation requires' });
  });

  it('PR-3 [2026-07]: offline_access never appears in any challenge', async () => {
    const responses = await Promise.all([
      call('/admin'),
      call('/admin', 'Bearer'),
      call('/admin', `Bearer ${await token({ exp: NOW - 600 })}`),
      call('/admin', `Bearer ${await withScopes('mcp:tools:read')}`),
    ]);
    expect(responses.map((r) => r.status)).toEqual([401, 400, 401, 403]);
    for (const res of responses) {
      expect(res.headers.get('WWW-Authenticate')).toContain(`resource_metadata="${PRM}"`);
      expect(res.headers.get('WWW-Authenticate')).not.toContain('offline_access');
    }
    expect(responses[0]!.headers.get('WWW-Authenticate')).toBe(`Bearer resource_metadata="${PRM}", scope="mcp:tools:read mcp:admin"`);
  });

  it('PR-2: an explicit resourceMetadataUrl and a prebuilt verifier are used as given', async () => {
    const missing = await call('/prebuilt');
    expect(missing.headers.get('WWW-Authenticate')).toBe('Bearer resource_metadata="https://mcp.example.com/.well-known/custom"');
    const ok = await call('/prebuilt', `Bearer ${await token({ jti: 'prebuilt-1' })}`);
    expect(await ok.text()).toBe('prebuilt-1');
  });
});

describe('requireMcpAuth (Hono): accepting tokens', () => {
  it('PR-4: a valid token reaches the handler with c.get("mcpGrant")', async () => {
    const res = await call('/mcp', `Bearer ${await token()}`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ sub: 'user-1', clientId: 'client-1', scopes: ['mcp:tools:read'] });
  });

  it('PR-4 RFC 7235 §2.1: the scheme name is case-insensitive', async () => {
    const valid = await token();
    for (const scheme of ['bearer', 'BEARER', 'bEaReR']) expect((await call('/mcp', `${scheme} ${valid}`)).status).toBe(200);
  });

  it('PR-5 MCP: a token in the query string is ignored (treated as absent)', async () => {
    const res = await call(`/mcp?access_token=${await token()}`);
    expect(res.status).toBe(401);
    expect(res.headers.get('WWW-Authenticate')).toBe(MISSING);
  });

  it('PR-5 MCP (RFC 6750 §2.2 not supported): a token in a form body is ignored (treated as absent)', async () => {
    const res = await call('/mcp', undefined, {
      body: new URLSearchParams({ access_token: await token() }),
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    });
    expect(res.status).toBe(401);
    expect(res.headers.get('WWW-Authenticate')).toBe(MISSING);
  });

  it('PR-3 [2026-07]: scope hierarchy — a broader scope satisfies a narrower requirement, transitively', async () => {
    expect((await call('/hier', `Bearer ${await withScopes('mcp:tools:write')}`)).status).toBe(200);
    expect((await call('/hier', `Bearer ${await withScopes('mcp:admin')}`)).status).toBe(200);
    const res = await call('/hier', `Bearer ${await withScopes('mcp:other')}`);
    expect(res.status).toBe(403);
    expect(res.headers.get('WWW-Authenticate')).toContain('scope="mcp:tools:read"');
  });

  it('PR-3: the hierarchy does not work downwards (read does not imply write)', async () => {
    const res = await call('/admin', `Bearer ${await withScopes('mcp:tools:read', 'mcp:admin', 'offline_access')}`);
    expect(res.status).toBe(200);
    const weaker = await call('/admin', `Bearer ${await withScopes('mcp:admin')}`);
    expect(weaker.status).toBe(403); // no hierarchy configured on /admin
  });
});

describe('requireMcpAuth (Hono): option validation', () => {
  it('PR-4: refuses to build without issuer (and no verifier) or without a resource', () => {
    expect(() => requireMcpAuth({ audience: RESOURCE, keys: jwks })).toThrow(TypeError);
    expect(() => requireMcpAuth({ verifier: async () => Promise.reject(new Error('x')) })).toThrow(TypeError);
    expect(() => requireMcpAuth({ issuer: ISSUER, audience: RESOURCE, keys: jwks, scopes: ['bad scope'] })).toThrow(TypeError);
  });
});

describe('protectedResourceMetadata (Hono)', () => {
  it('PR-1 RFC 9728 §3.2: serves the document at the path-aware URL with CORS *, without offline_access', async () => {
    const res = await app.request('/.well-known/oauth-protected-resource/mcp');
    expect(res.status).toBe(200);
    expect(res.headers.get('Access-Control-Allow-Origin')).toBe('*');
    expect(res.headers.get('Content-Type')).toBe('application/json');
    expect(await res.json()).toEqual({
      resource: RESOURCE,
      authorization_servers: [ISSUER],
      scopes_supported: ['mcp:tools:read', 'mcp:tools:write'],
      bearer_methods_supported: ['header'],
      resource_name: 'Test MCP',
    });
  });

  it('PR-1: answers the CORS preflight', async () => {
    const res = await app.request('/.well-known/oauth-protected-resource/mcp', {
      method: 'OPTIONS',
      headers: { Origin: 'https://app.example', 'Access-Control-Request-Method': 'GET', 'Access-Control-Request-Headers': 'mcp-protocol-version' },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get('Access-Control-Allow-Origin')).toBe('*');
    expect(res.headers.get('Access-Control-Allow-Methods')).toBe('GET, OPTIONS');
  });

  it('PR-1: the challenge resource_metadata URL is exactly where the document is served', async () => {
    const challenge = (await call('/mcp')).headers.get('WWW-Authenticate')!;
    const url = new URL(/resource_metadata="([^"]+)"/.exec(challenge)![1]!);
    const doc = await (await app.request(url.pathname)).json<{ resource: string }>();
    expect(doc.resource).toBe(RESOURCE);
  });
});

describe('challenge helpers', () => {
  it('RFC 7230 §3.2.6: auth-param values are quoted-strings with \\ and " escaped', () => {
    expect(
      bearerChallenge([
        ['error_description', 'say "hi" \\ bye'],
        ['scope', undefined],
        ['realm', ''],
      ]),
    ).toBe('Bearer error_description="say \\"hi\\" \\\\ bye"');
    expect(bearerChallenge([['error_description', 'line\r\nbreak']])).toBe('Bearer error_description="line  break"');
  });

  it.each([
    [undefined, { missing: true }],
    ['', { missing: true }],
    ['Basic abc', { missing: true }],
    ['Bearer abc.DEF-_~+/==', { token: 'abc.DEF-_~+/==' }],
    ['Bearer  abc', { token: 'abc' }],
    ['Bearer abc=def', { invalid: 'The Authorization header must carry exactly one Bearer token' }],
    [['Bearer a', 'Bearer b'], { invalid: 'The Authorization header must carry exactly one Bearer token' }],
  ] as const)('RFC 6750 §2.1: readBearerCredentials(%j)', (header, expected) => {
    expect(readBearerCredentials(header)).toEqual(expected);
  });
});

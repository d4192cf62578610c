import { describe, expect, it } from 'vitest';
import { createMcpAuth } from '../../src/create-mcp-auth';
import { sha256 } from '../../src/crypto';
import type { ClientRecord } from '../../src/storage/client-store';
import { issuerKey, kvKeys } from '../../src/storage/keys';
import { call, ISSUER, RESOURCE } from './helpers';
import { bindings, expectOAuthError, fetchApp, filler, nullPaths, postJson } from './foundation-helpers';

const HTTPS_REDIRECT = 'https://app.example.com/callback';
const LOOPBACK_REDIRECT = 'http://127.0.0.1:9999/callback';

type Registered = Record<string, unknown> & { client_id: string; client_secret?: string };

function register(body: unknown, contentType = 'application/json'): Promise<Response> {
  return call('/register', { method: 'POST', headers: { 'Content-Type': contentType }, body: typeof body === 'string' ? body : JSON.stringify(body) });
}

async function registered(body: Record<string, unknown>): Promise<Registered> {
  const res = await register(body);
  const text = await res.text();
  expect(res.status, text).toBe(201);
  expect(res.headers.get('Cache-Control')).toBe('no-store');
  return JSON.parse(text) as Registered;
}

describe('RFC 7591 §3.2.1 successful registration (AS-11)', () => {
  it('AS-11: 201 with client_id and client_id_issued_at, echoing the registered metadata', async () => {
    const before = Math.floor(Date.now() / 1000);
    const client = await registered({ redirect_uris: [HTTPS_REDIRECT], client_name: 'Example', token_endpoint_auth_method: 'none' });
    expect(client.client_id).toMatch(/^[A-Za-z0-9_-]{16,}$/);
    expect(client.client_id_issued_at).toEqual(expect.any(Number));
    expect(client.client_id_issued_at as number).toBeGreaterThanOrEqual(before - 1);
    expect(client.redirect_uris).toEqual([HTTPS_REDIRECT]);
    expect(client.client_name).toBe('Example');
  });

  it('AS-11 / RFC 7591 §2: no token_endpoint_auth_method → client_secret_basic, authorization_code grant and code response type by default, with a never-expiring secret', async () => {
    const client = await registered({ redirect_uris: [HTTPS_REDIRECT] });
    expect(client.token_endpoint_auth_method).toBe('client_secret_basic');
    expect(client.grant_types).toEqual(['authorization_code']);
    expect(client.response_types).toEqual(['code']);
    expect(client.client_secret).toEqual(expect.any(String));
    expect((client.client_secret as string).length).toBeGreaterThanOrEqual(32);
    expect(client.client_secret_expires_at).toBe(0);
    expect(client).not.toHaveProperty('client_secret_hash');
  });

  it('AS-11: client_secret_post clients get a secret and client_secret_expires_at 0', async () => {
    const client = await registered({ redirect_uris: [HTTPS_REDIRECT], token_endpoint_auth_method: 'client_secret_post' });
    expect(client.token_endpoint_auth_method).toBe('client_secret_post');
    expect(client.client_secret).toEqual(expect.any(String));
    expect(client.client_secret_expires_at).toBe(0);
  });

  it('AS-11: public clients (token_endpoint_auth_method none) get no secret and no secret expiry', async () => {
    const client = await registered({ redirect_uris: [LOOPBACK_REDIRECT], token_endpoint_auth_method: 'none' });
    expect(client).not.toHaveProperty('client_secret');
    expect(client).not.toHaveProperty('client_secret_expires_at');
    expect(client).not.toHaveProperty('client_secret_hash');
  });

  it('MCP SDK compatibility: the registration response has no null fields, even when the request sent nulls', async () => {
    const client = await registered({ redirect_uris: [HTTPS_REDIRECT], client_name: null, logo_uri: null, scope: null, contacts: null });
    expect(nullPaths(client)).toEqual([]);
    expect(client).not.toHaveProperty('client_name');
  });

  it('AS-11 (MCP 2026-07): application_type defaults to native when every redirect URI is loopback', async () => {
    const client = await registered({
      redirect_uris: ['http://127.0.0.1:3000/cb', 'http://localhost/cb', 'http://[::1]:8080/cb'],
      token_endpoint_auth_method: 'none',
    });
    expect(client.application_type).toBe('native');
  });

  it('AS-11 (MCP 2026-07): application_type defaults to web when any redirect URI is not loopback; an explicit value is kept', async () => {
    expect((await registered({ redirect_uris: [HTTPS_REDIRECT, LOOPBACK_REDIRECT] })).application_type).toBe('web');
    expect((await registered({ redirect_uris: [HTTPS_REDIRECT], application_type: 'native' })).application_type).toBe('native');
  });

  it('RFC 7591 §3.1: application/json with a charset parameter is accepted', async () => {
    const res = await register({ redirect_uris: [HTTPS_REDIRECT], token_endpoint_auth_method: 'none' }, 'application/json; charset=utf-8');
    expect(res.status).toBe(201);
  });

  it('AS-15: the client secret is stored in KV only as its SHA-256 hash', async () => {
    const client = await registered({ redirect_uris: [HTTPS_REDIRECT], token_endpoint_auth_method: 'client_secret_basic' });
    const raw = await bindings.MCP_AUTH_CLIENTS.get(kvKeys.client(await issuerKey(ISSUER), client.client_id));
    expect(raw).not.toBeNull();
    expect(raw).not.toContain(client.client_secret!);
    const stored = JSON.parse(raw!) as ClientRecord & Record<string, unknown>;
    expect(stored).not.toHaveProperty('client_secret');
    expect(stored.client_secret_hash).toBe(await sha256(client.client_secret!));
  });

  it('AS-11: a registered client can be used at once (its metadata is what the token endpoint authenticates against)', async () => {
    const client = await registered({ redirect_uris: [HTTPS_REDIRECT], token_endpoint_auth_method: 'client_secret_post' });
    // Right secret, missing grant parameters → past client authentication (400, not 401).
    const ok = await call('/token', {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ client_id: client.client_id, client_secret: client.client_secret! }),
    });
    await expectOAuthError(ok, 400, 'invalid_request');
    const wrong = await call('/token', {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ client_id: client.client_id, client_secret: 'wrong' }),
    });
    await expectOAuthError(wrong, 401, 'invalid_client');
  });
});

describe('RFC 7591 §3.2.2 registration errors (AS-6, AS-11)', () => {
  const invalidRedirects: [string, unknown][] = [
    ['missing redirect_uris', { client_name: 'no redirects' }],
    ['empty redirect_uris', { redirect_uris: [] }],
    ['http on a non-loopback host', { redirect_uris: ['http://app.example.com/cb'] }],
    ['a fragment', { redirect_uris: ['https://app.example.com/cb#frag'] }],
    ['an empty fragment', { redirect_uris: ['https://app.example.com/cb#'] }],
    ['a relative URI', { redirect_uris: ['/cb'] }],
    ['the javascript: scheme', { redirect_uris: ['javascript:alert(1)'] }],
    ['a custom scheme', { redirect_uris: ['com.example.app:/cb'] }],
    ['userinfo', { redirect_uris: ['https://user:pass@app.example.com/cb'] }],
    ['a look-alike loopback host', { redirect_uris: ['http://localhost.evil.example/cb'] }],
    ['one bad URI among good ones', { redirect_uris: [HTTPS_REDIRECT, 'http://evil.example/cb'] }],
    ['a tab hidden in the host (RFC 3986 §2: no whitespace in URIs)', { redirect_uris: ['https://app.exa\tmple.com/cb'] }],
  ];
  for (const [what, body] of invalidRedirects) {
    it(`AS-6 / OAuth 2.1 §2.3.1: redirect_uris with ${what} → 400 invalid_redirect_uri`, async () => {
      await expectOAuthError(await register(body), 400, 'invalid_redirect_uri');
    });
  }

  const invalidMetadata: [string, Record<string, unknown>][] = [
    ['an unknown token_endpoint_auth_method', { token_endpoint_auth_method: 'private_key_jwt' }],
    ['a non-string token_endpoint_auth_method', { token_endpoint_auth_method: 7 }],
    ['grant_types without authorization_code', { grant_types: ['refresh_token'] }],
    ['the implicit grant', { grant_types: ['authorization_code', 'implicit'] }],
    ['the client_credentials grant', { grant_types: ['authorization_code', 'client_credentials'] }],
    ['response_types token', { response_types: ['token'] }],
    ['response_types code and token', { response_types: ['code', 'token'] }],
    ['an unknown application_type', { application_type: 'browser' }],
    ['an unknown scope', { scope: 'mcp:tools:read admin' }],
    ['a numeric client_name', { client_name: 42 }],
    ['redirect_uris as a string', { redirect_uris: HTTPS_REDIRECT }],
    ['a non-array grant_types', { grant_types: 'authorization_code' }],
    ['a non-https logo_uri', { logo_uri: 'javascript:alert(1)' }],
    ['contacts that are not strings', { contacts: [1, 2] }],
  ];
  for (const [what, extra] of invalidMetadata) {
    it(`AS-11 / RFC 7591 §2: ${what} → 400 invalid_client_metadata`, async () => {
      await expectOAuthError(await register({ redirect_uris: [HTTPS_REDIRECT], ...extra }), 400, 'invalid_client_metadata');
    });
  }

  it('RFC 7591 §3.1: a body that is not a JSON object (array, string, null) → 400 invalid_client_metadata', async () => {
    for (const body of ['[]', '"text"', 'null', '42']) await expectOAuthError(await register(body), 400, 'invalid_client_metadata');
  });

  it('RFC 7591 §3.1: malformed JSON → 400, never 5xx', async () => {
    for (const body of ['{', '{"redirect_uris": [', 'not json', '']) await expectOAuthError(await register(body), 400, 'invalid_client_metadata');
  });

  it('RFC 7591 §3.1: a non-JSON content type → 400, even with a valid JSON body', async () => {
    const body = JSON.stringify({ redirect_uris: [HTTPS_REDIRECT] });
    for (const type of ['application/x-www-form-urlencoded', 'text/plain', 'text/json'])
      await expectOAuthError(await register(body, type), 400, ['invalid_request', 'invalid_client_metadata']);
    await expectOAuthError(await call('/register', { method: 'POST', body }), 400, ['invalid_request', 'invalid_client_metadata']);
  });

  it('bounded bodies, RFC 9110 §15.5.14: a registration body over 16 KiB → 413, never 5xx', async () => {
    const body = JSON.stringify({ redirect_uris: [HTTPS_REDIRECT], software_id: filler(17 * 1024) });
    await expectOAuthError(await register(body), 413, ['invalid_request', 'invalid_client_metadata']);
  });

  it('bounded bodies, RFC 9110 §15.5.14: an oversized body without Content-Length (streamed) → 413, never 5xx', async () => {
    const chunk = new TextEncoder().encode(`{"redirect_uris":["${HTTPS_REDIRECT}"],"software_id":"${filler(17 * 1024)}"}`);
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(chunk);
        controller.close();
      },
    });
    const res = await call('/register', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: stream });
    await expectOAuthError(res, 413, ['invalid_request', 'invalid_client_metadata']);
  });
});

describe('registration policy options', () => {
  const auth = createMcpAuth({
    issuer: ISSUER,
    resources: [RESOURCE],
    scopes: ['mcp:tools:read'],
    allowedRedirectUris: ['https://app.example.com/cb', /^http:\/\/127\.0\.0\.1:\d+\/cb$/],
    rateLimits: { enabled: false },
  });

  it('allowedRedirectUris: exact strings and patterns from the option may be registered', async () => {
    for (const uri of ['https://app.example.com/cb', 'http://127.0.0.1:5173/cb']) {
      const res = await postJson(auth.app, '/register', { redirect_uris: [uri], token_endpoint_auth_method: 'none' });
      expect(res.status, uri).toBe(201);
    }
  });

  it('allowedRedirectUris: any other redirect URI, even a valid https or loopback one, → 400 invalid_redirect_uri', async () => {
    for (const uri of [
      'https://app.example.com/cb2',
      'https://app.example.com/cb?x=1',
      'https://other.example.com/cb',
      'http://localhost:5173/cb',
      'http://127.0.0.1:5173/cb/extra',
    ]) {
      const res = await postJson(auth.app, '/register', { redirect_uris: [uri], token_endpoint_auth_method: 'none' });
      await expectOAuthError(res, 400, 'invalid_redirect_uri');
    }
  });

  it('AS-11 / RFC 8414 §2: registration disabled by option → POST /register is 404 and metadata has no registration_endpoint', async () => {
    const closed = createMcpAuth({
      issuer: ISSUER,
      resources: [RESOURCE],
      scopes: ['mcp:tools:read'],
      registration: { enabled: false },
      rateLimits: { enabled: false },
    });
    const res = await postJson(closed.app, '/register', { redirect_uris: [HTTPS_REDIRECT] });
    expect(res.status).toBe(404);
    const doc = (await (await fetchApp(closed.app, '/.well-known/oauth-authorization-server')).json()) as Record<string, unknown>;
    expect(doc).not.toHaveProperty('registration_endpoint');
    expect(doc.token_endpoint).toBe(`${ISSUER}/token`);
  });
});

import { afterEach, describe, expect, it, vi } from 'vitest';
import { Hono } from 'hono';
import { env, exports } from 'cloudflare:workers';
import { createMcpAuth } from '../../src/create-mcp-auth';
import { grantex } from '../../src/authority/grantex/config';
import { developmentSignIn } from '../../src/principal/development';
import { customPrincipal } from '../../src/principal/custom';
import { ISSUER, RESOURCE, authorizeUrl, call, consentForm, form, freshAddress, pkce, registerClient, type RegisteredClient } from './helpers';

/** One request to the default worker at any absolute URL (the URL's host is the request's Host). */
function callAt(url: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (!headers.has('CF-Connecting-IP')) headers.set('CF-Connecting-IP', freshAddress());
  return exports.default.fetch(new Request(url, { ...init, headers, redirect: 'manual' }));
}

const FORM = { 'Content-Type': 'application/x-www-form-urlencoded' };
/** Every endpoint of the default worker, with a request that it would otherwise serve. */
const ENDPOINTS: [string, string, RequestInit][] = [
  ['GET', '/.well-known/oauth-authorization-server', {}],
  ['GET', '/.well-known/openid-configuration', {}],
  ['GET', '/.well-known/oauth-protected-resource', {}],
  ['GET', '/.well-known/oauth-protected-resource/mcp', {}],
  ['GET', '/.well-known/jwks.json', {}],
  [
    'POST',
    '/register',
    {
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ redirect_uris: ['http://127.0.0.1:9999/callback'], token_endpoint_auth_method: 'none' }),
    },
  ],
  ['POST', '/token', { headers: FORM, body: 'grant_type=authorization_code&code=x' }],
  ['GET', '/token', {}],
  ['OPTIONS', '/token', { headers: { Origin: 'https://app.example', 'Access-Control-Request-Method': 'POST' } }],
  ['POST', '/introspect', { headers: FORM, body: 'token=x' }],
  ['POST', '/revoke', { headers: FORM, body: 'token=x' }],
];
/** Origins that are not the issuer's http://localhost:8787: host, port, scheme, a loopback alias. */
const FOREIGN = ['http://evil.example:8787', 'http://localhost:9999', 'https://localhost:8787', 'http://127.0.0.1:8787', 'https://auth.example.com'];

afterEach(() => vi.restoreAllMocks());

describe('RFC 9110 §15.5.20: a request for another origin is misdirected (421), never served as the issuer', () => {
  for (const origin of FOREIGN) {
    for (const [method, path, init] of ENDPOINTS) {
      it(`RFC 9110 §15.5.20: ${method} ${path} at ${origin} answers 421 with an RFC 6749 §5.2 JSON error`, async () => {
        const res = await callAt(`${origin}${path}`, { method, ...init });
        const text = await res.text();
        expect(res.status, text).toBe(421);
        expect(res.headers.get('Content-Type')).toMatch(/^application\/json/);
        expect(res.headers.get('Cache-Control')).toBe('no-store');
        expect(JSON.parse(text)).toMatchObject({ error: 'invalid_request' });
        expect(text).not.toContain('jwks_uri');
        expect(text).not.toContain('"keys"');
      });
    }

    it(`RFC 9110 §15.5.20: GET /authorize at ${origin} answers 421 with the secure HTML page, no form and no cookie`, async () => {
      const client = await registerClient();
      const url = authorizeUrl(client, (await pkce()).challenge);
      const res = await callAt(`${origin}${url}`);
      const html = await res.text();
      expect(res.status).toBe(421);
      expect(res.headers.get('Content-Type')).toMatch(/^text\/html/);
      expect(res.headers.get('Cache-Control')).toBe('no-store');
      expect(res.headers.get('X-Frame-Options')).toBe('DENY');
      expect(res.headers.get('Content-Security-Policy')).toContain("frame-ancestors 'none'");
      expect(res.headers.get('Set-Cookie')).toBeNull();
      expect(res.headers.get('Location')).toBeNull();
      expect(html).not.toContain('<form');
      // It tells the operator what to configure.
      expect(html).toContain(ISSUER);
      expect(html).toContain('ISSUER');
      expect(html).toContain('cloudflareAccess');
      expect(html).toContain('customPrincipal');
    });
  }

  it('RFC 9110 §15.5.20: the Grantex callback at another origin answers 421 with the HTML page', async () => {
    const auth = createMcpAuth({
      issuer: ISSUER,
      resources: [RESOURCE],
      scopes: ['mcp:tools:read'],
      rateLimits: { enabled: false },
      log: false,
      authority: grantex({ baseUrl: 'https://grantex.test', apiKey: 'gx_test_key_for_origin_0001', agentId: 'agent', developerId: 'dev_origin' }),
    });
    const res = await auth.app.fetch(new Request('http://evil.example:8787/grantex/callback?state=a.b&code=c', { redirect: 'manual' }), env);
    expect(res.status).toBe(421);
    expect(res.headers.get('Content-Type')).toMatch(/^text\/html/);
    expect(res.headers.get('Location')).toBeNull();
    const same = await auth.app.fetch(new Request(`${ISSUER}/grantex/callback?state=x`, { redirect: 'manual' }), env);
    expect(same.status).toBe(400); // the issuer's own origin is served as before
  });

  it('RFC 9110 §15.5.20: a path issuer checks the origin on every endpoint and leaves the host app routes alone', async () => {
    const tenant = 'https://auth.example.com/tenant-a';
    const auth = createMcpAuth({
      issuer: tenant,
      resources: [`${tenant}/mcp`],
      scopes: ['read'],
      principal: customPrincipal(() => ({ id: 'erin' })),
      rateLimits: { enabled: false },
      log: false,
    });
    const host = new Hono();
    host.route('/', auth.app);
    host.get('/hello', (c) => c.text('hello from the host'));
    const at = (url: string) => host.fetch(new Request(url, { redirect: 'manual' }), env);
    expect((await at('https://auth.example.com/.well-known/oauth-authorization-server/tenant-a')).status).toBe(200);
    expect((await at('https://other.example.com/.well-known/oauth-authorization-server/tenant-a')).status).toBe(421);
    expect((await at('https://other.example.com/.well-known/oauth-protected-resource/tenant-a/mcp')).status).toBe(421);
    expect((await at('https://other.example.com/tenant-a/.well-known/jwks.json')).status).toBe(421);
    expect((await at('http://auth.example.com/tenant-a/authorize')).status).toBe(421);
    const hello = await at('https://other.example.com/hello');
    expect(hello.status).toBe(200);
    expect(await hello.text()).toBe('hello from the host');
  });

  it('RFC 9110 §15.5.20: a misdirected request logs one structured warning with both origins, rate-limited per isolate', async () => {
    let now = 1_800_000_000;
    const auth = createMcpAuth({ issuer: ISSUER, resources: [RESOURCE], scopes: ['mcp:tools:read'], rateLimits: { enabled: false }, clock: () => now });
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const misdirected = () => auth.app.fetch(new Request('http://evil.example/.well-known/jwks.json'), env);
    for (let i = 0; i < 5; i++) expect((await misdirected()).status).toBe(421);
    const lines = () => warn.mock.calls.map((args) => JSON.parse(String(args[0])) as Record<string, unknown>);
    expect(lines()).toHaveLength(1);
    expect(lines()[0]).toMatchObject({ level: 'warn', source: 'mcp-auth-edge', requestOrigin: 'http://evil.example', issuerOrigin: ISSUER });
    expect(String(lines()[0]!.msg)).not.toContain('evil.example');
    now += 61;
    await misdirected();
    expect(lines()).toHaveLength(2);
    expect(lines()[1]).toMatchObject({ requestOrigin: 'http://evil.example', issuerOrigin: ISSUER, suppressed: 4 });
  });
});

describe('development sign-in only on the issuer loopback origin', () => {
  it('RFC 9110 §15.5.20: the default worker (a localhost issuer) reached at a public origin offers no sign-in and mints no code for a typed name', async () => {
    const client = await registerClient();
    const url = authorizeUrl(client, (await pkce()).challenge);
    // The form and cookie as the issuer's own origin hands them out ...
    const { request, cookie } = await consentForm(await call(url));
    // ... posted to the same worker reached under a public name.
    const publicOrigin = 'https://mcp-auth-edge.example.workers.dev';
    const page = await callAt(`${publicOrigin}${url}`);
    expect(page.status).toBe(421);
    expect(await page.text()).not.toContain('name="username"');
    const posted = await callAt(`${publicOrigin}/authorize`, {
      method: 'POST',
      headers: { ...FORM, Cookie: cookie, Origin: publicOrigin },
      body: form({ request, action: 'approve', username: 'mallory' }),
    });
    expect(posted.status).toBe(421);
    expect(posted.headers.get('Location')).toBeNull();
  });

  it('the development sign-in still works on the loopback issuer reached at its own origin', async () => {
    const client = await registerClient();
    const res = await call(authorizeUrl(client, (await pkce()).challenge));
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('name="username"');
  });

  it('developmentSignIn({ force: true }) on a public issuer works only at the issuer origin', async () => {
    const issuer = 'https://auth.example.com';
    const auth = createMcpAuth({
      issuer,
      resources: [`${issuer}/mcp`],
      scopes: ['mcp:tools:read'],
      principal: developmentSignIn({ force: true }),
      rateLimits: { enabled: false },
      log: false,
    });
    // Clients belong to their issuer: register at this one.
    const registered = await auth.app.fetch(
      new Request(`${issuer}/register`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ redirect_uris: ['https://app.example.com/cb'], token_endpoint_auth_method: 'none' }),
      }),
      env,
    );
    expect(registered.status).toBe(201);
    const client = (await registered.json()) as RegisteredClient;
    const url = authorizeUrl(client, (await pkce()).challenge, { resource: `${issuer}/mcp` });
    const own = await auth.app.fetch(new Request(`${issuer}${url}`), env);
    expect(own.status).toBe(200);
    expect(await own.text()).toContain('name="username"');
    const foreign = await auth.app.fetch(new Request(`https://evil.example${url}`), env);
    expect(foreign.status).toBe(421);
    expect(await foreign.text()).not.toContain('name="username"');
  });

  const table: [string, { force?: boolean }, string, string, boolean][] = [
    ['loopback issuer at its own origin', {}, 'http://localhost:8787', 'http://localhost:8787/authorize', true],
    ['loopback issuer (127.0.0.1) at its own origin', {}, 'http://127.0.0.1:8787', 'http://127.0.0.1:8787/authorize', true],
    ['loopback issuer with a path at its own origin', {}, 'http://localhost:8787/t', 'http://localhost:8787/t/authorize', true],
    ['loopback issuer reached under another host', {}, 'http://localhost:8787', 'http://evil.example:8787/authorize', false],
    ['loopback issuer reached under a loopback alias', {}, 'http://localhost:8787', 'http://127.0.0.1:8787/authorize', false],
    ['loopback issuer reached on another port', {}, 'http://localhost:8787', 'http://localhost:8788/authorize', false],
    ['loopback issuer reached over https', {}, 'http://localhost:8787', 'https://localhost:8787/authorize', false],
    ['public issuer at its own origin, not forced', {}, 'https://auth.example.com', 'https://auth.example.com/authorize', false],
    ['public issuer at its own origin, forced', { force: true }, 'https://auth.example.com', 'https://auth.example.com/authorize', true],
    ['public issuer reached under another host, forced', { force: true }, 'https://auth.example.com', 'https://evil.example/authorize', false],
  ];
  for (const [name, options, issuer, requestUrl, allowed] of table) {
    it(`development sign-in refusal: ${name} → ${allowed ? 'offered' : 'refused with an operator message'}`, () => {
      const refusal = developmentSignIn(options).refusal?.({ requestUrl: new URL(requestUrl), issuerUrl: new URL(issuer) });
      if (allowed) expect(refusal).toBeUndefined();
      else expect(refusal).toMatch(/cloudflareAccess.*customPrincipal.*force: true/s);
    });
  }
});

import { afterEach, describe, expect, it, vi } from 'vitest';
import { Hono } from 'hono';
import { env } from 'cloudflare:workers';
import { createMcpAuth } from '../../src/create-mcp-auth';
import type { McpAuthOptions } from '../../src/options';
import { optionsFromEnv } from '../../src/env';
import { clientAddressReader, rateLimitAddress } from '../../src/rate-limit/client-address';
import { ISSUER, authorizeUrl, basic, call, consentForm, pkce, registerClient } from './helpers';
import { grantexSetup } from './grantex-setup';
import { consentRedirect } from '../fixtures/fake-grantex/consent';
import { formatLogLine, type Logger } from '../../src/log';

const T0 = 1_800_000_020; // 20 s into a minute

function app(options: Partial<McpAuthOptions> = {}) {
  const auth = createMcpAuth({
    issuer: 'http://localhost:8787',
    resources: ['http://localhost:8787/mcp'],
    scopes: ['mcp:tools:read'],
    log: false,
    clock: () => T0,
    ...options,
  });
  const host = new Hono().route('/', auth.app);
  /** `cf` stands for a request that came through Cloudflare's edge (or wrangler dev). */
  return (path: string, init: RequestInit & { headers?: Record<string, string>; cf?: Record<string, unknown> } = {}) =>
    Promise.resolve(host.fetch(new Request(`http://localhost:8787${path}`, { redirect: 'manual', ...init } as RequestInit), env));
}

const tokenPost = (body: Record<string, string>, headers: Record<string, string> = {}) => ({
  method: 'POST',
  headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...headers },
  body: new URLSearchParams(body).toString(),
});

const statuses = async (responses: Promise<Response>[]) => (await Promise.all(responses)).map((r) => r.status);

describe('rateLimitAddress: the bucket of a client address', () => {
  const cases: [string, string, string | undefined][] = [
    ['an IPv4 address is its own bucket', '192.0.2.7', '192.0.2.7'],
    ['RFC 4291 §2.5.4: an IPv6 address counts by its /64', '2001:db8:1:2:3:4:5:6', '2001:db8:1:2::/64'],
    ['RFC 4291 §2.5.4: a compressed IPv6 address in the same /64 shares the bucket', '2001:DB8:1:2::9', '2001:db8:1:2::/64'],
    ['RFC 4291 §2.5.4: another /64 is another bucket', '2001:db8:1:3::9', '2001:db8:1:3::/64'],
    ['RFC 4291 §2.5.5.2: an IPv4-mapped IPv6 address counts as its IPv4 address', '::ffff:192.0.2.7', '192.0.2.7'],
    ['a bracketed IPv6 address is accepted', '[2001:db8::1]', '2001:db8:0:0::/64'],
    ['an opaque key of visible ASCII is kept', 'tenant-7', 'tenant-7'],
    ['an empty value is no address', '', undefined],
    ['a value with spaces is no address', '192.0.2.7, 10.0.0.1', undefined],
    ['an overlong value is no address', 'a'.repeat(300), undefined],
    ['a control character is no address', '192.0.2.7\n', undefined],
  ];
  for (const [what, raw, expected] of cases) it(what, () => expect(rateLimitAddress(raw)).toBe(expected));
});

describe('clientAddressReader: where the client address comes from', () => {
  const withCf = (headers: Record<string, string>) => new Request('http://localhost/', { headers, cf: { colo: 'AMS' } } as RequestInit);
  const plain = (headers: Record<string, string>) => new Request('http://localhost/', { headers });

  it('auto (default): CF-Connecting-IP only on a request that came through Cloudflare (request.cf is set)', () => {
    const read = clientAddressReader('auto');
    expect(read(withCf({ 'CF-Connecting-IP': '192.0.2.1' }))).toBe('192.0.2.1');
    expect(read(plain({ 'CF-Connecting-IP': '192.0.2.1' }))).toBeUndefined();
    expect(read(withCf({}))).toBeUndefined();
  });
  it('cloudflare: CF-Connecting-IP always', () => {
    expect(clientAddressReader('cloudflare')(plain({ 'CF-Connecting-IP': '2001:db8:5:6::1' }))).toBe('2001:db8:5:6::/64');
  });
  it('{ header }: the header the operator’s own proxy sets', () => {
    const read = clientAddressReader({ header: 'X-Real-IP' });
    expect(read(plain({ 'X-Real-IP': '198.51.100.4', 'CF-Connecting-IP': '192.0.2.1' }))).toBe('198.51.100.4');
    expect(read(plain({}))).toBeUndefined();
  });
  it('a function: whatever it returns, normalised', () => {
    expect(
      clientAddressReader((r) => r.headers.get('X-Forwarded-For')?.split(',').at(-1)?.trim())(plain({ 'X-Forwarded-For': '203.0.113.9, 192.0.2.1' })),
    ).toBe('192.0.2.1');
    expect(clientAddressReader(() => undefined)(plain({}))).toBeUndefined();
  });
  it('CLIENT_ADDRESS is parsed: auto, cloudflare, header:NAME; anything else is refused at startup', () => {
    expect(optionsFromEnv({ ISSUER, CLIENT_ADDRESS: 'cloudflare' }).clientAddress).toBe('cloudflare');
    expect(optionsFromEnv({ ISSUER, CLIENT_ADDRESS: 'header:X-Real-IP' }).clientAddress).toEqual({ header: 'X-Real-IP' });
    expect(optionsFromEnv({ ISSUER }).clientAddress).toBeUndefined();
    expect(() => createMcpAuth({ ...optionsFromEnv({ ISSUER, CLIENT_ADDRESS: 'x-forwarded-for' }), log: false })).toThrow(/clientAddress/);
  });
});

describe('rate limits keyed on a real client address', () => {
  it('without a trustworthy address nobody shares one bucket: a caller cannot lock every user out of /authorize', async () => {
    const fetch = app({ rateLimits: { authorize: { limit: 2, windowSeconds: 60 } } });
    // Self-hosted: no request.cf, so the caller's own CF-Connecting-IP means nothing.
    const results = await statuses(
      Array.from({ length: 6 }, (_, i) => fetch('/authorize?client_id=x', { headers: { 'CF-Connecting-IP': `192.0.2.${i % 2}` } })),
    );
    expect(results.filter((s) => s === 429)).toHaveLength(0);
    const anonymous = await statuses(Array.from({ length: 6 }, () => fetch('/authorize?client_id=x')));
    expect(anonymous.filter((s) => s === 429)).toHaveLength(0);
  });

  it('auto trusts CF-Connecting-IP on requests that came through Cloudflare', async () => {
    const fetch = app({ rateLimits: { other: { limit: 2, windowSeconds: 60 } } });
    const results = await statuses(
      Array.from({ length: 3 }, () => fetch('/.well-known/jwks.json', { headers: { 'CF-Connecting-IP': '192.0.2.80' }, cf: { colo: 'AMS' } })),
    );
    expect(results.filter((s) => s === 429)).toHaveLength(1);
  });

  it('RFC 4291 §2.5.4: IPv6 callers are counted by /64, so rotating the interface identifier does not escape', async () => {
    const fetch = app({ clientAddress: 'cloudflare', rateLimits: { other: { limit: 2, windowSeconds: 60 } } });
    const results = [];
    for (const suffix of ['1', '2', '3'])
      results.push((await fetch('/.well-known/jwks.json', { headers: { 'CF-Connecting-IP': `2001:db8:77:1::${suffix}` } })).status);
    expect(results).toEqual([200, 200, 429]);
  });

  it('/authorize counts per client and address: one client cannot exhaust another client’s budget at the same address', async () => {
    const fetch = app({ clientAddress: 'cloudflare', rateLimits: { authorize: { limit: 2, windowSeconds: 60 } } });
    const from = (clientId: string) => fetch(`/authorize?client_id=${clientId}`, { headers: { 'CF-Connecting-IP': '192.0.2.90' } });
    expect(await statuses([from('noisy'), from('noisy')])).not.toContain(429);
    expect((await from('noisy')).status).toBe(429);
    const quiet = await from('quiet');
    expect(quiet.status).not.toBe(429);
    expect(quiet.headers.get('RateLimit-Policy')).toBe('"authorize";q=2;w=60, "authorize-address";q=20;w=60');
    expect(quiet.headers.get('RateLimit')).toBe('"authorize";r=1;t=40, "authorize-address";r=16;t=40');
  });

  it('/token counts per client (body or Basic credentials) and address', async () => {
    const fetch = app({ clientAddress: 'cloudflare', rateLimits: { token: { limit: 1, windowSeconds: 60 } } });
    const headers = { 'CF-Connecting-IP': '192.0.2.91' };
    expect((await fetch('/token', tokenPost({ grant_type: 'authorization_code', client_id: 'a' }, headers))).status).not.toBe(429);
    expect((await fetch('/token', tokenPost({ grant_type: 'authorization_code', client_id: 'a' }, headers))).status).toBe(429);
    expect((await fetch('/token', tokenPost({ grant_type: 'authorization_code', client_id: 'b' }, headers))).status).not.toBe(429);
    expect((await fetch('/token', tokenPost({ grant_type: 'authorization_code' }, { ...headers, Authorization: basic('c', 's') }))).status).not.toBe(429);
    expect((await fetch('/token', tokenPost({ grant_type: 'authorization_code' }, { ...headers, Authorization: basic('c', 's') }))).status).toBe(429);
  });

  it('a looser per-address bucket still bounds one address cycling through client ids', async () => {
    const fetch = app({ clientAddress: 'cloudflare', rateLimits: { token: { limit: 5, windowSeconds: 60, addressLimit: 3 } } });
    const headers = { 'CF-Connecting-IP': '192.0.2.92' };
    const results = [];
    for (const id of ['a', 'b', 'c', 'd'])
      results.push((await fetch('/token', tokenPost({ grant_type: 'authorization_code', client_id: id }, headers))).status);
    expect(results.slice(0, 3)).not.toContain(429);
    expect(results[3]).toBe(429);
    // A request that fails before it names a client still counts against the address.
    expect((await fetch('/token', { method: 'POST', headers: { ...headers, 'Content-Type': 'text/plain' }, body: 'x' })).status).toBe(429);
  });

  it('addressLimit is validated and applies only where requests are counted per client', () => {
    const base = { issuer: 'http://localhost:8787', resources: ['http://localhost:8787/mcp'], scopes: ['mcp'] };
    expect(() => createMcpAuth({ ...base, rateLimits: { token: { limit: 5, windowSeconds: 60, addressLimit: 0 } } })).toThrow(/addressLimit/);
    expect(() => createMcpAuth({ ...base, rateLimits: { register: { limit: 5, windowSeconds: 60, addressLimit: 50 } } })).toThrow(/addressLimit/);
    expect(() => createMcpAuth({ ...base, clientAddress: 'everywhere' as 'auto' })).toThrow(/clientAddress/);
  });

  it('the default worker (CF-Connecting-IP behind Cloudflare) limits /authorize at 10 per minute per client and address', async () => {
    const clientA = await statuses(Array.from({ length: 11 }, () => call('/authorize?client_id=rl-client-a', { address: '192.0.2.93' })));
    expect(clientA.filter((s) => s === 429)).toHaveLength(1);
    expect((await call('/authorize?client_id=rl-client-b', { address: '192.0.2.93' })).status).not.toBe(429);
  });
});

describe('token endpoint logging', () => {
  afterEach(() => vi.restoreAllMocks());

  it('a failed upstream revocation after a code replay is one structured log line with the upstream grant id', async () => {
    // The server's error lines, as its logger receives them (one JSON line each, as on the console).
    const lines: string[] = [];
    const logger: Logger = { info: () => {}, warn: () => {}, error: (message, fields) => void lines.push(formatLogLine('error', message, fields)) };
    const { fake, request, postForm: post, fakeFetch } = grantexSetup({ maxRetries: 0, scopes: ['mcp:tools:read'], logger });

    const client = await registerClient();
    const { verifier, challenge } = await pkce();
    const { request: consent, cookie } = await consentForm(await request(authorizeUrl(client, challenge)));
    const toGrantex = await post('/authorize', { request: consent, action: 'approve', username: 'alice' }, { Cookie: cookie, Origin: ISSUER });
    const browser = toGrantex.headers
      .getSetCookie()
      .find((c) => c.startsWith('mcp-auth-upstream='))!
      .split(';')[0]!;
    const callback = await consentRedirect(fakeFetch, toGrantex.headers.get('Location')!);
    const back = await request(`${callback.pathname}${callback.search}`, { headers: { Cookie: browser } });
    const code = new URL(back.headers.get('Location')!).searchParams.get('code')!;
    const exchange = () => post('/token', { grant_type: 'authorization_code', code, code_verifier: verifier, client_id: client.client_id });
    expect((await exchange()).status).toBe(200);

    lines.length = 0;
    fake.control.failNext({ status: 500, path: /^\/v1\/grants\//, method: 'DELETE' });
    expect((await exchange()).status).toBe(400);
    await vi.waitFor(() => expect(lines.length).toBeGreaterThan(0));
    expect(lines).toHaveLength(1);
    const line = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(line).toMatchObject({ level: 'error', source: 'mcp-auth-edge', msg: 'upstream grant could not be revoked', reason: 'code replay' });
    expect(line.upstreamGrantId).toEqual(expect.any(String));
    expect(line.error).toMatchObject({ name: expect.any(String) });
  });
});

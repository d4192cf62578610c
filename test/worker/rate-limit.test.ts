import { describe, expect, it } from 'vitest';
import { Hono } from 'hono';
import { env } from 'cloudflare:workers';
import { runInDurableObject } from 'cloudflare:test';
import { createMcpAuth } from '../../src/create-mcp-auth';
import type { AuditEvent } from '../../src/events';
import { DEFAULT_RATE_LIMITS, effectiveLimit } from '../../src/rate-limit/limits';
import { call, postForm } from './helpers';

const T0 = 1_800_000_020; // 20 s into a minute

function limitedApp(rateLimits: Parameters<typeof createMcpAuth>[0]['rateLimits'], events: AuditEvent[] = []) {
  let now = T0;
  const auth = createMcpAuth({
    issuer: 'http://localhost:8787',
    resources: ['http://localhost:8787/mcp'],
    scopes: ['mcp:tools:read'],
    rateLimits,
    // These requests carry CF-Connecting-IP but no request.cf: trust the header as on Cloudflare.
    clientAddress: 'cloudflare',
    log: false,
    onEvent: (e) => void events.push(e),
    clock: () => now,
  });
  const host = new Hono().route('/', auth.app);
  return {
    request: (path: string, init: RequestInit & { address: string }) =>
      host.fetch(
        new Request(`http://localhost:8787${path}`, { ...init, headers: { ...(init.headers as Record<string, string>), 'CF-Connecting-IP': init.address } }),
        env,
      ),
    advance: (seconds: number) => void (now += seconds),
  };
}

describe('rate limits', () => {
  it('defaults match the upstream package: authorize 10, token 20, introspect 30, revoke 20, everything else 100 per minute', () => {
    expect(effectiveLimit('authorize', {})).toEqual({ limit: 10, windowSeconds: 60 });
    expect(effectiveLimit('token', {})).toEqual({ limit: 20, windowSeconds: 60 });
    expect(effectiveLimit('introspect', {})).toEqual({ limit: 30, windowSeconds: 60 });
    expect(effectiveLimit('revoke', {})).toEqual({ limit: 20, windowSeconds: 60 });
    expect(effectiveLimit('other', {})).toEqual(DEFAULT_RATE_LIMITS.other);
    expect(effectiveLimit('token', { token: false })).toBeUndefined();
    expect(effectiveLimit('token', { enabled: false })).toBeUndefined();
    expect(effectiveLimit('token', { token: { limit: 3, windowSeconds: 10 } })).toEqual({ limit: 3, windowSeconds: 10 });
  });

  it('N parallel requests against a limit L admit exactly L (counted atomically in the Durable Object)', async () => {
    const app = limitedApp({ token: { limit: 7, windowSeconds: 60 } });
    const results = await Promise.all(
      Array.from({ length: 25 }, async () =>
        app.request('/token', {
          method: 'POST',
          address: '192.0.2.10',
          headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
          body: 'grant_type=x',
        }),
      ),
    );
    expect(results.filter((r) => r.status !== 429)).toHaveLength(7);
    expect(results.filter((r) => r.status === 429)).toHaveLength(18);
  });

  it('the bucket is per endpoint and per client address', async () => {
    const app = limitedApp({ token: { limit: 1, windowSeconds: 60 }, revoke: { limit: 1, windowSeconds: 60 } });
    const post = (path: string, address: string) =>
      app.request(path, { method: 'POST', address, headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: '' });
    expect((await post('/token', '192.0.2.20')).status).not.toBe(429);
    expect((await post('/token', '192.0.2.20')).status).toBe(429);
    expect((await post('/token', '192.0.2.21')).status).not.toBe(429);
    expect((await post('/revoke', '192.0.2.20')).status).not.toBe(429);
  });

  it('429 carries Retry-After, an RFC 6749-shaped body and the IETF RateLimit headers; the count resets with the window', async () => {
    const events: AuditEvent[] = [];
    const app = limitedApp({ other: { limit: 2, windowSeconds: 60 } }, events);
    const get = () => app.request('/.well-known/jwks.json', { address: '192.0.2.30' });
    const first = await get();
    expect(first.headers.get('RateLimit-Policy')).toBe('"other";q=2;w=60');
    expect(first.headers.get('RateLimit')).toBe('"other";r=1;t=40'); // T0 is 20 s into a minute
    await get();
    const limited = await get();
    expect(limited.status).toBe(429);
    expect(limited.headers.get('Retry-After')).toBe('40');
    expect(limited.headers.get('RateLimit')).toBe('"other";r=0;t=40');
    expect(limited.headers.get('Cache-Control')).toBe('no-store');
    expect(await limited.json()).toEqual({ error: 'temporarily_unavailable', error_description: 'Too many requests; retry later.' });
    expect(events).toContainEqual({ type: 'security.rate_limited', endpoint: 'other', key: '192.0.2.30', limit: 2, windowSeconds: 60 });
    app.advance(40);
    expect((await get()).status).toBe(200);
  });

  it('a disabled endpoint is never limited and sends no RateLimit headers', async () => {
    const app = limitedApp({ other: false });
    for (let i = 0; i < 3; i++) {
      const res = await app.request('/.well-known/oauth-authorization-server', { address: '192.0.2.40' });
      expect(res.status).toBe(200);
      expect(res.headers.get('RateLimit')).toBeNull();
    }
  });

  it('the default worker limits /authorize at 10 per minute per address', async () => {
    const results = await Promise.all(Array.from({ length: 12 }, () => call('/authorize?client_id=x', { address: '192.0.2.50' })));
    expect(results.filter((r) => r.status === 429)).toHaveLength(2);
  });

  it('a rate-limit bucket deletes itself when its window is over (alarm)', async () => {
    const stub = env.MCP_AUTH_STATE.get(env.MCP_AUTH_STATE.idFromName('ratelimit:test:alarm'));
    await stub.hitRateLimit({ limit: 5, windowSeconds: 60, now: T0 });
    const alarm = await runInDurableObject(stub, (_instance, state) => state.storage.getAlarm());
    expect(alarm).toBe((T0 - 20 + 120) * 1000);
  });

  it('an unauthenticated flood at /token is limited before any client lookup', async () => {
    const res = await Promise.all(
      Array.from({ length: 21 }, () => postForm('/token', { grant_type: 'authorization_code' }, { 'CF-Connecting-IP': '192.0.2.60' })),
    );
    expect(res.filter((r) => r.status === 429)).toHaveLength(1);
  });
});

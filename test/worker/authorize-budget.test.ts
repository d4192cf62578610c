// A sign-in is counted once against the /authorize budget: at the GET that starts it. The consent
// form's POST and the Grantex callback only continue a counted sign-in, in their own per-address
// bucket (`authorize-continue`, twice the per-address GET budget), counted before any work.
import { describe, expect, it } from 'vitest';
import { Hono } from 'hono';
import { env } from 'cloudflare:workers';
import { createMcpAuth } from '../../src/create-mcp-auth';
import type { AuditEvent } from '../../src/events';
import { continuationLimitOf, effectiveLimit } from '../../src/rate-limit/limits';
import { ISSUER, REDIRECT, RESOURCE, authorizeUrl, consentForm, form, pkce, registerClient, type RegisteredClient } from './helpers';
import { GRANTEX, grantexSetup, type GrantexSetup } from './grantex-setup';

const T0 = 1_800_000_020; // 20 s into a minute: every request of a test falls in one window
/** /authorize at 3 per minute per client and address, 5 per address: form steps get 10 per address. */
const LIMITS = { authorize: { limit: 3, windowSeconds: 60, addressLimit: 5 } };
const FORM = { 'Content-Type': 'application/x-www-form-urlencoded' };

const from = (address: string, headers: Record<string, string> = {}) => ({ headers: { 'CF-Connecting-IP': address, ...headers } });

/** Local mode with rate limits, the client address in CF-Connecting-IP, a fixed clock. */
function localApp(events: AuditEvent[] = []) {
  const auth = createMcpAuth({
    issuer: ISSUER,
    resources: [RESOURCE],
    scopes: ['mcp:tools:read'],
    rateLimits: LIMITS,
    clientAddress: 'cloudflare',
    clock: () => T0,
    log: false,
    onEvent: (e) => void events.push(e),
  });
  const host = new Hono().route('/', auth.app);
  return (path: string, init: RequestInit = {}) => Promise.resolve(host.fetch(new Request(new URL(path, ISSUER), { redirect: 'manual', ...init }), env));
}

function grantexApp(events?: AuditEvent[]): GrantexSetup {
  const s = grantexSetup({ rateLimits: LIMITS, clientAddress: 'cloudflare', clock: () => T0 });
  if (events) s.events.length = 0;
  return s;
}

/** One whole Grantex sign-in from one address: our page, its form, Grantex's consent, our callback. */
async function grantexSignIn(s: GrantexSetup, client: RegisteredClient, address: string): Promise<URL> {
  const page = await s.request(authorizeUrl(client, (await pkce()).challenge), from(address));
  expect(page.status).toBe(200);
  const { request, cookie } = await consentForm(page);
  const posted = await s.postForm('/authorize', { request, action: 'approve', username: 'alice' }, from(address, { Cookie: cookie, Origin: ISSUER }).headers);
  expect(posted.status).toBe(303);
  expect(posted.headers.get('RateLimit-Policy')).toBe('"authorize-continue";q=10;w=60');
  const consentUrl = new URL(posted.headers.get('Location')!);
  expect(consentUrl.origin).toBe(GRANTEX);
  const browser = posted.headers
    .getSetCookie()
    .find((c) => c.startsWith('mcp-auth-upstream='))!
    .split(';')[0]!;
  // Grantex's consent page approves through its public consent API, then sends the browser back.
  const approved = (await (await s.fakeFetch(`${GRANTEX}/v1/consent/${consentUrl.searchParams.get('req')}/approve`, { method: 'POST' })).json()) as {
    code: string;
    redirectUri: string;
    state: string;
  };
  const callback = new URL(approved.redirectUri);
  const back = await s.request(
    `${callback.pathname}?${new URLSearchParams({ code: approved.code, state: approved.state })}`,
    from(address, { Cookie: browser }),
  );
  expect(back.status).toBe(303);
  return new URL(back.headers.get('Location')!);
}

describe('/authorize budget: a sign-in is counted once', () => {
  it('the steps that continue a sign-in get twice the per-address /authorize budget, and follow it when it is off', () => {
    expect(effectiveLimit('authorize-continue', {})).toEqual({ limit: 200, windowSeconds: 60 });
    expect(effectiveLimit('authorize-continue', LIMITS)).toEqual({ limit: 10, windowSeconds: 60 });
    expect(continuationLimitOf({ limit: 4, windowSeconds: 30 })).toEqual({ limit: 80, windowSeconds: 30 });
    expect(effectiveLimit('authorize-continue', { authorize: false })).toBeUndefined();
    expect(effectiveLimit('authorize-continue', { enabled: false })).toBeUndefined();
  });

  it('Grantex mode: with /authorize at 3 per minute, three complete sign-ins (GET, form POST, callback) succeed in one window; the fourth GET is 429', async () => {
    const s = grantexApp();
    const client = await registerClient();
    const address = '192.0.2.101';
    for (let i = 0; i < 3; i++) {
      const landed = await grantexSignIn(s, client, address);
      expect(landed.origin + landed.pathname).toBe(REDIRECT);
      expect(landed.searchParams.get('code')).toBeTruthy();
    }
    const fourth = await s.request(authorizeUrl(client, (await pkce()).challenge), from(address));
    expect(fourth.status).toBe(429);
    // Three GETs, and the refused fourth, at this address; the sign-ins' other steps nowhere here.
    expect(fourth.headers.get('RateLimit')).toBe('"authorize";r=0;t=40, "authorize-address";r=1;t=40');
  });

  it('local mode: with /authorize at 3 per minute (5 per address), three sign-ins (GET, form POST) succeed in one window; the fourth GET is 429', async () => {
    const request = localApp();
    const client = await registerClient();
    const address = '192.0.2.102';
    for (let i = 0; i < 3; i++) {
      const page = await request(authorizeUrl(client, (await pkce()).challenge), from(address));
      expect(page.status).toBe(200);
      const { request: signed, cookie } = await consentForm(page);
      const posted = await request('/authorize', {
        method: 'POST',
        body: form({ request: signed, action: 'approve', username: 'alice' }),
        ...from(address, { ...FORM, Cookie: cookie, Origin: ISSUER }),
      });
      expect(posted.status).toBe(303);
      expect(new URL(posted.headers.get('Location')!).searchParams.get('code')).toBeTruthy();
    }
    const fourth = await request(authorizeUrl(client, (await pkce()).challenge), from(address));
    expect(fourth.status).toBe(429);
    // Three GETs, and the refused fourth, at this address; the sign-ins' other steps nowhere here.
    expect(fourth.headers.get('RateLimit')).toBe('"authorize";r=0;t=40, "authorize-address";r=1;t=40');
  });

  it('a flood of forged consent-form POSTs is refused at its own bound (10) before any work, and spends none of the GET budget', async () => {
    const events: AuditEvent[] = [];
    const request = localApp(events);
    const address = '192.0.2.103';
    const forged = () =>
      request('/authorize', {
        method: 'POST',
        body: form({ request: 'forged.request.value', action: 'approve', username: 'mallory' }),
        ...from(address, { ...FORM, Origin: ISSUER }),
      });
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) statuses.push((await forged()).status);
    expect(statuses).toEqual([...Array(10).fill(400), 429, 429]);
    const refused = await forged();
    expect(refused.headers.get('RateLimit-Policy')).toBe('"authorize-continue";q=10;w=60');
    expect(refused.headers.get('Retry-After')).toBe('40');
    expect(events).toContainEqual({ type: 'security.rate_limited', endpoint: 'authorize-continue', key: address, limit: 10, windowSeconds: 60 });

    // Counted before the form is read: a genuine form from the same address is refused as well...
    const client = await registerClient();
    const page = await request(authorizeUrl(client, (await pkce()).challenge), from(address));
    expect(page.status).toBe(200);
    // ...while GET /authorize kept its whole budget (first GET of the window: 2 of 3 left).
    expect(page.headers.get('RateLimit')).toBe('"authorize";r=2;t=40, "authorize-address";r=4;t=40');
    const { request: signed, cookie } = await consentForm(page);
    const genuine = await request('/authorize', {
      method: 'POST',
      body: form({ request: signed, action: 'approve', username: 'alice' }),
      ...from(address, { ...FORM, Cookie: cookie, Origin: ISSUER }),
    });
    expect(genuine.status).toBe(429);
  });

  it('a flood of forged Grantex callbacks is refused at its own bound (10), and spends none of the GET budget', async () => {
    const s = grantexApp();
    const address = '192.0.2.104';
    const state = () => `${'g'.repeat(8)}${crypto.randomUUID().replaceAll('-', '')}.${crypto.randomUUID()}`;
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) statuses.push((await s.request(`/grantex/callback?code=forged&state=${state()}`, from(address))).status);
    expect(statuses).toEqual([...Array(10).fill(400), 429, 429]);
    const refused = await s.request(`/grantex/callback?state=${state()}`, from(address));
    expect(refused.status).toBe(429);
    expect(refused.headers.get('RateLimit-Policy')).toBe('"authorize-continue";q=10;w=60');
    expect(s.events).toContainEqual({ type: 'security.rate_limited', endpoint: 'authorize-continue', key: address, limit: 10, windowSeconds: 60 });

    const page = await s.request(authorizeUrl(await registerClient(), (await pkce()).challenge), from(address));
    expect(page.status).toBe(200);
    expect(page.headers.get('RateLimit')).toBe('"authorize";r=2;t=40, "authorize-address";r=4;t=40');
  });
});

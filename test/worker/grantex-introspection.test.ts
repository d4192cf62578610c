import { describe, expect, it } from 'vitest';
import { decodeJwt } from 'jose';
import { RESOURCE, ISSUER, authorizeUrl, clientAuth, consentForm, pkce, postForm, registerClient, tokensFor, type RegisteredClient } from './helpers';
import { GRANTEX, grantexSetup, type GrantexSetup } from './grantex-setup';
import { type createFakeGrantex, FAKE_GRANTEX_API_KEY } from '../fixtures/fake-grantex/app';
import { grantex } from '../../src/authority/grantex/config';
import { consentRedirect } from '../fixtures/fake-grantex/consent';

/** Our consent page → Grantex's consent page → Approve → our callback → our code. */
async function fullAuthorization(s: GrantexSetup, client: RegisteredClient) {
  const { verifier, challenge } = await pkce();
  const page = await s.request(authorizeUrl(client, challenge));
  const { request, cookie } = await consentForm(page);
  const res = await s.postForm('/authorize', { request, action: 'approve', username: 'alice' }, { Cookie: cookie, Origin: ISSUER });
  const browser = res.headers
    .getSetCookie()
    .find((c) => c.startsWith('mcp-auth-upstream='))!
    .split(';')[0]!;
  const callback = await consentRedirect(s.fakeFetch, res.headers.get('Location')!);
  const back = await s.request(`${callback.pathname}${callback.search}`, { headers: { Cookie: browser } });
  return { code: new URL(back.headers.get('Location')!).searchParams.get('code')!, verifier };
}

async function grantexTokens(s: GrantexSetup) {
  const client = await registerClient();
  const { code, verifier } = await fullAuthorization(s, client);
  const res = await s.postForm('/token', {
    grant_type: 'authorization_code',
    code,
    code_verifier: verifier,
    client_id: client.client_id,
    redirect_uri: client.redirect_uris[0],
    resource: RESOURCE,
  });
  expect(res.status).toBe(200);
  return { client, tokens: (await res.json()) as { access_token: string; refresh_token: string } };
}

function verifyAtFake(fake: ReturnType<typeof createFakeGrantex>, token: string) {
  return fake.app.fetch(
    new Request(`${GRANTEX}/v1/grants/verify`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${FAKE_GRANTEX_API_KEY}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ token }),
    }),
  );
}

describe('fake Grantex: POST /v1/grants/verify as the reference service answers it', () => {
  it('contract (grants/verify): an expired or badly signed token answers 400 {message: Invalid token, code: BAD_REQUEST}', async () => {
    const s = grantexSetup();
    const { tokens } = await grantexTokens(s);
    expect((await verifyAtFake(s.fake, tokens.access_token)).status).toBe(200);

    const [header, payload] = tokens.access_token.split('.');
    const forged = await verifyAtFake(s.fake, `${header}.${payload}.${'A'.repeat(342)}`);
    expect(forged.status).toBe(400);
    expect(await forged.json()).toMatchObject({ message: 'Invalid token', code: 'BAD_REQUEST' });

    s.fake.control.advanceTime(24 * 3_600_000 + 1000);
    const expired = await verifyAtFake(s.fake, tokens.access_token);
    expect(expired.status).toBe(400);
    expect(await expired.json()).toMatchObject({ message: 'Invalid token', code: 'BAD_REQUEST' });
  });
});

describe('Grantex mode: online introspection', () => {
  it('RFC 7662 §2.2: a token Grantex answers 400 Invalid token for (expired there) is {"active": false}, not 503', async () => {
    const s = grantexSetup({ introspection: 'online' });
    const { client, tokens } = await grantexTokens(s);
    // Grantex's clock is past the token's exp; ours is not yet (skew within our tolerance or not).
    s.fake.control.advanceTime(24 * 3_600_000 + 1000);
    const res = await s.postForm('/introspect', { token: tokens.access_token, client_id: client.client_id });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ active: false });
    expect(s.fake.control.calls.some((call) => call.path === '/v1/grants/verify' && call.status === 400)).toBe(true);
  });

  it('RFC 9110 §15.6.4: when Grantex cannot answer, introspection answers 503 temporarily_unavailable with Retry-After', async () => {
    const s = grantexSetup({ introspection: 'online', maxRetries: 0 });
    const { client, tokens } = await grantexTokens(s);
    for (const status of [500, 503]) {
      s.fake.control.failNext({ status, path: '/v1/grants/verify' });
      const res = await s.postForm('/introspect', { token: tokens.access_token, client_id: client.client_id });
      expect(res.status, String(status)).toBe(503);
      expect(res.headers.get('Retry-After'), String(status)).toMatch(/^[1-9]\d*$/);
      expect(await res.json()).toMatchObject({ error: 'temporarily_unavailable' });
    }
  });
});

describe('refresh-token introspection', () => {
  it('RFC 7662 §2.2: in Grantex mode a refresh token reports the Grantex grant end as exp and Grantex grnt as grantex_grant_id', async () => {
    const s = grantexSetup();
    const { client, tokens } = await grantexTokens(s);
    const claims = decodeJwt(tokens.access_token);
    const res = await s.postForm('/introspect', { token: tokens.refresh_token, client_id: client.client_id });
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ active: true, token_type: 'refresh_token', grantex_grant_id: claims.grnt });
    // Contract "lifetimes": a Grantex refresh token lives min(30 days, the grant).
    expect(body.exp).toBe(claims.exp);
  });

  it('RFC 7662 §2.2: in local mode a refresh token carries no Grantex-named member (our grant id is not a Grantex grant)', async () => {
    const { flow, tokens } = await tokensFor();
    const auth = clientAuth(flow.client);
    const body = (await (await postForm('/introspect', { token: tokens.refresh_token!, ...auth.body }, auth.headers)).json()) as Record<string, unknown>;
    expect(body).toMatchObject({ active: true, token_type: 'refresh_token', client_id: flow.client.client_id });
    expect(Object.keys(body).filter((key) => key.startsWith('grantex_'))).toEqual([]);
  });

  it('RFC 7662 §2.2: in local mode an access token carries no Grantex-named member either', async () => {
    const { flow, tokens } = await tokensFor();
    const auth = clientAuth(flow.client);
    const body = (await (await postForm('/introspect', { token: tokens.access_token, ...auth.body }, auth.headers)).json()) as Record<string, unknown>;
    expect(body).toMatchObject({ active: true, token_type: 'Bearer', client_id: flow.client.client_id });
    expect(Object.keys(body).filter((key) => key.startsWith('grantex_'))).toEqual([]);
  });
});

describe('grantex() options', () => {
  const base = { baseUrl: 'https://api.grantex.dev', apiKey: 'k'.repeat(32), agentId: 'ag_1', developerId: 'dev_1' };

  it('contract (authorize expiresIn): grantLifetime is checked at start-up, a bad value is a TypeError', () => {
    for (const bad of ['', '24', 'h', '1.5h', '24 h', '0h', '-1h', '1w', '24H', 'P1D', '1234567h']) {
      expect(() => grantex({ ...base, grantLifetime: bad }), bad).toThrow(TypeError);
    }
    for (const good of ['30s', '30m', '8h', '24h', '7d']) {
      expect(grantex({ ...base, grantLifetime: good }).grantLifetime).toBe(good);
    }
    expect(grantex(base).grantLifetime).toBe('24h');
  });
});

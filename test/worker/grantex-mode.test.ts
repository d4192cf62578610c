import { describe, expect, it, vi } from 'vitest';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { ISSUER, RESOURCE, authorizeUrl, basic, consentForm, pkce, registerClient, type RegisteredClient } from './helpers';
import { GRANTEX, grantexSetup as sharedGrantexSetup, type GrantexSetup, type GrantexSetupOptions } from './grantex-setup';
import { consentRedirect } from '../fixtures/fake-grantex/consent';

/** The shared Grantex-mode setup, with a protected MCP route on the host. */
function grantexSetup(options: GrantexSetupOptions = {}) {
  const s = sharedGrantexSetup(options);
  s.host.get('/mcp', s.auth.protect({ scopes: ['mcp:tools:read'] }), (c) => c.json(c.get('mcpGrant')));
  return s;
}

type Setup = GrantexSetup;

function cookieNamed(res: Response, name: string): string | undefined {
  return res.headers
    .getSetCookie()
    .find((c) => c.startsWith(`${name}=`))
    ?.split(';')[0];
}

/** Our consent page (development sign-in) → Grantex's consent URL, with the browser cookie. */
async function toGrantexConsent(s: Setup, client: RegisteredClient, challenge: string) {
  const page = await s.request(authorizeUrl(client, challenge));
  // The form's CSP must allow the redirect chain to Grantex's consent page.
  expect(page.headers.get('Content-Security-Policy')).toContain(`form-action 'self' http://127.0.0.1:9999 ${GRANTEX}`);
  const { request, cookie } = await consentForm(page);
  const res = await s.postForm('/authorize', { request, action: 'approve', username: 'alice' }, { Cookie: cookie, Origin: ISSUER });
  expect(res.status).toBe(303);
  return { consentUrl: new URL(res.headers.get('Location')!), browser: cookieNamed(res, 'mcp-auth-upstream')! };
}

/** The user presses Approve (or Deny) on Grantex's page; its script sends the browser back to our callback. */
async function decideAtGrantex(s: Setup, consentUrl: URL, decision: 'approve' | 'deny' = 'approve'): Promise<URL> {
  return consentRedirect(s.fakeFetch, consentUrl, decision);
}

async function fullAuthorization(s: Setup, client: RegisteredClient) {
  const { verifier, challenge } = await pkce();
  const { consentUrl, browser } = await toGrantexConsent(s, client, challenge);
  const callback = await decideAtGrantex(s, consentUrl);
  const back = await s.request(`${callback.pathname}${callback.search}`, { headers: { Cookie: browser } });
  expect(back.status).toBe(303);
  const location = new URL(back.headers.get('Location')!);
  return { location, code: location.searchParams.get('code')!, verifier, callback, browser };
}

function exchange(s: Setup, client: RegisteredClient, code: string, verifier: string) {
  return s.postForm('/token', {
    grant_type: 'authorization_code',
    code,
    code_verifier: verifier,
    client_id: client.client_id,
    redirect_uri: client.redirect_uris[0],
    resource: RESOURCE,
  });
}

describe('Grantex mode: the whole MCP flow against a faithful fake Grantex', () => {
  it('DCR → authorize → consent at Grantex → callback → token → protected MCP call → refresh → revoke → introspect inactive', async () => {
    const s = grantexSetup();
    const client = await registerClient();
    const { location, code, verifier, callback } = await fullAuthorization(s, client);
    expect(callback.pathname).toBe('/grantex/callback');
    expect(location.searchParams.get('state')).toBe('state-123');
    expect(location.searchParams.get('iss')).toBe(ISSUER);

    // Grantex received our PKCE challenge, the resource as audience, and the principal.
    const authorizeCall = s.fake.control.calls.find((call) => call.path === '/v1/authorize')!;
    expect(authorizeCall.body).toMatchObject({
      agentId: s.agent.agentId,
      principalId: 'alice',
      audience: RESOURCE,
      codeChallengeMethod: 'S256',
      scopes: ['mcp:tools:read', 'mcp:tools:write'],
    });

    const tokenRes = await exchange(s, client, code, verifier);
    expect(tokenRes.status).toBe(200);
    expect(tokenRes.headers.get('Cache-Control')).toBe('no-store');
    const tokens = (await tokenRes.json()) as { access_token: string; refresh_token: string; scope: string; expires_in: number; token_type: string };
    expect(tokens.token_type).toBe('Bearer');
    expect(tokens.scope).toBe('mcp:tools:read mcp:tools:write');
    expect(decodeProtectedHeader(tokens.access_token).alg).toBe('RS256');
    const claims = decodeJwt(tokens.access_token);
    expect(claims).toMatchObject({ iss: s.fake.control.issuer, sub: 'alice', aud: RESOURCE, agt: s.agent.did });
    // the exchange sent the Grantex code (not the auth request id) with our verifier
    const exchangeCall = s.fake.control.calls.find((call) => call.path === '/v1/token')!;
    expect((exchangeCall.body as { codeVerifier: string }).codeVerifier).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(tokens.refresh_token).toMatch(/^[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}$/); // ours, not Grantex's

    const mcp = await s.request('/mcp', { headers: { Authorization: `Bearer ${tokens.access_token}` } });
    expect(mcp.status).toBe(200);
    expect(await mcp.json()).toMatchObject({ sub: 'alice', agentDid: s.agent.did, grantId: claims.grnt, scopes: ['mcp:tools:read', 'mcp:tools:write'] });

    const refreshed = await s.postForm('/token', { grant_type: 'refresh_token', refresh_token: tokens.refresh_token, client_id: client.client_id });
    expect(refreshed.status).toBe(200);
    const second = (await refreshed.json()) as { access_token: string; refresh_token: string };
    expect(second.refresh_token).not.toBe(tokens.refresh_token);
    expect(decodeJwt(second.access_token).jti).not.toBe(claims.jti);
    expect(s.fake.control.calls.filter((call) => call.path === '/v1/token/refresh')).toHaveLength(1);

    const introspect = (token: string) => s.postForm('/introspect', { token, client_id: client.client_id });
    const active = (await (await introspect(second.access_token)).json()) as Record<string, unknown>;
    expect(active).toMatchObject({
      active: true,
      client_id: client.client_id, // ours — never Grantex's `dev`
      sub: 'alice',
      iss: s.fake.control.issuer,
      grantex_grant_id: claims.grnt,
      grantex_agent_did: s.agent.did,
      grantex_developer_id: claims.dev,
      grantex_delegation_depth: 0,
    });

    expect((await s.postForm('/revoke', { token: second.refresh_token, client_id: client.client_id })).status).toBe(200);
    expect(s.fake.control.grant(claims.grnt as string)?.status).toBe('revoked');
    expect(await (await introspect(second.access_token)).json()).toEqual({ active: false });
    expect((await s.postForm('/token', { grant_type: 'refresh_token', refresh_token: second.refresh_token, client_id: client.client_id })).status).toBe(400);
  });

  it('onTokenIssued/onRevocation fire and audit events are forwarded to POST /v1/audit/log when asked', async () => {
    const s = grantexSetup({ forwardAuditEvents: true });
    const client = await registerClient();
    const { code, verifier } = await fullAuthorization(s, client);
    const tokens = (await (await exchange(s, client, code, verifier)).json()) as { access_token: string };
    const rv = await s.postForm('/revoke', { token: tokens.access_token, client_id: client.client_id });
    expect(rv.status).toBe(200);
    const grnt = decodeJwt(tokens.access_token).grnt;
    // Hooks and forwarding run after the response (waitUntil): wait for them, not for a time.
    await vi.waitFor(() => expect(s.fake.control.auditEntries()).toHaveLength(2));
    expect(s.events.map((e) => e.type)).toEqual(['token.issued', 'token.revoked']);
    expect(s.events[0]).toMatchObject({ upstreamGrantId: grnt, sub: 'alice' });
    const audit = s.fake.control.auditEntries();
    expect(audit.map((e) => e.action)).toEqual(['token.issued', 'token.revoked']);
    expect(audit[0]).toMatchObject({ agentId: s.agent.agentId, agentDid: s.agent.did, grantId: grnt, principalId: 'alice' });
  });

  it('a known user (custom principal) goes straight to Grantex consent; sandbox returns a code at once', async () => {
    const known = grantexSetup({ principal: 'known' });
    const client = await registerClient();
    const { challenge } = await pkce();
    const res = await known.request(authorizeUrl(client, challenge));
    expect(res.status).toBe(303);
    expect(res.headers.get('Location')).toMatch(/^https:\/\/grantex\.test\/consent\?req=areq_/);

    const sandbox = grantexSetup({ sandbox: true, principal: 'known' });
    const { verifier, challenge: c2 } = await pkce();
    const direct = await sandbox.request(authorizeUrl(client, c2));
    const location = new URL(direct.headers.get('Location')!);
    expect(`${location.origin}${location.pathname}`).toBe(client.redirect_uris[0]);
    expect(location.searchParams.get('iss')).toBe(ISSUER);
    const tokens = await exchange(sandbox, client, location.searchParams.get('code')!, verifier);
    expect(tokens.status).toBe(200);
    expect(decodeJwt(((await tokens.json()) as { access_token: string }).access_token).sub).toBe('carol');
  });

  it('PR-4: protect() refuses tokens from another issuer and local tokens in Grantex mode', async () => {
    const s = grantexSetup();
    const foreign = await s.fake.control.signToken({
      iss: 'https://evil.example',
      sub: 'x',
      aud: RESOURCE,
      agt: 'did:grantex:ag_x',
      dev: 'dev_x',
      scp: ['mcp:tools:read'],
      jti: 'tok_x',
      iat: Math.floor(Date.now() / 1000),
      exp: Math.floor(Date.now() / 1000) + 60,
    });
    const res = await s.request('/mcp', { headers: { Authorization: `Bearer ${foreign}` } });
    expect(res.status).toBe(401);
    expect(res.headers.get('WWW-Authenticate')).toContain('error="invalid_token"');
  });
});

describe('Grantex mode: failure paths', () => {
  it('the user denies at Grantex: the client gets access_denied with its state and iss', async () => {
    const s = grantexSetup();
    const client = await registerClient();
    const { challenge } = await pkce();
    const { consentUrl, browser } = await toGrantexConsent(s, client, challenge);
    const callback = await decideAtGrantex(s, consentUrl, 'deny');
    const back = await s.request(`${callback.pathname}${callback.search}`, { headers: { Cookie: browser } });
    const location = new URL(back.headers.get('Location')!);
    expect(location.searchParams.get('error')).toBe('access_denied');
    expect(location.searchParams.get('state')).toBe('state-123');
    expect(location.searchParams.get('iss')).toBe(ISSUER);
  });

  it('a replayed callback, a wrong state and another browser get an error page, never a redirect', async () => {
    const s = grantexSetup();
    const client = await registerClient();
    const { callback, browser } = await fullAuthorization(s, client);
    const replay = await s.request(`${callback.pathname}${callback.search}`, { headers: { Cookie: browser } });
    expect(replay.status).toBe(400);
    expect(replay.headers.get('Location')).toBeNull();

    const wrongState = new URL(callback);
    wrongState.searchParams.set('state', `${callback.searchParams.get('state')!.split('.')[0]}.${'A'.repeat(43)}`);
    expect((await s.request(`${wrongState.pathname}${wrongState.search}`, { headers: { Cookie: browser } })).status).toBe(400);

    const { challenge } = await pkce();
    const other = await toGrantexConsent(s, client, challenge);
    const otherCallback = await decideAtGrantex(s, other.consentUrl);
    const noCookie = await s.request(`${otherCallback.pathname}${otherCallback.search}`);
    expect(noCookie.status).toBe(400);
    expect(noCookie.headers.get('Location')).toBeNull();
    const wrongBrowser = await s.request(`${otherCallback.pathname}${otherCallback.search}`, { headers: { Cookie: 'mcp-auth-upstream=someone-else' } });
    expect(wrongBrowser.status).toBe(400);
  });

  it('Grantex down at authorize: the client gets temporarily_unavailable, with no upstream detail', async () => {
    const s = grantexSetup({ principal: 'known' });
    const client = await registerClient();
    s.fake.control.failNext({ status: 503, times: 3, message: 'database on fire at db-7.internal' });
    const { challenge } = await pkce();
    const res = await s.request(authorizeUrl(client, challenge));
    const location = new URL(res.headers.get('Location')!);
    expect(location.searchParams.get('error')).toBe('temporarily_unavailable');
    expect(location.href).not.toContain('fire');
    expect(location.searchParams.get('iss')).toBe(ISSUER);
  });

  it('429 with Retry-After at the code exchange: 503 temporarily_unavailable with Retry-After, and the code stays redeemable', async () => {
    const s = grantexSetup();
    const client = await registerClient();
    const { code, verifier } = await fullAuthorization(s, client);
    s.fake.control.failNext({ status: 429, retryAfter: 7, times: 3, path: '/v1/token' });
    const limited = await exchange(s, client, code, verifier);
    expect(limited.status).toBe(503);
    expect(limited.headers.get('Retry-After')).toBe('7');
    expect(await limited.json()).toEqual({ error: 'temporarily_unavailable', error_description: 'The grant authority is unavailable; retry later.' });
    const retried = await exchange(s, client, code, verifier);
    expect(retried.status).toBe(200);
  });

  it('Grantex down at refresh: the refresh token is not spent; it works once Grantex is back', async () => {
    const s = grantexSetup();
    const client = await registerClient();
    const { code, verifier } = await fullAuthorization(s, client);
    const tokens = (await (await exchange(s, client, code, verifier)).json()) as { refresh_token: string };
    s.fake.control.failNext({ status: 503, times: 3, path: '/v1/token/refresh' });
    const down = await s.postForm('/token', { grant_type: 'refresh_token', refresh_token: tokens.refresh_token, client_id: client.client_id });
    expect(down.status).toBe(503);
    const back = await s.postForm('/token', { grant_type: 'refresh_token', refresh_token: tokens.refresh_token, client_id: client.client_id });
    expect(back.status).toBe(200);
  });

  it('an expired Grantex code: invalid_grant, and the grant is over', async () => {
    const s = grantexSetup();
    const client = await registerClient();
    const { code, verifier } = await fullAuthorization(s, client);
    s.fake.control.advanceTime(24 * 3_600_000 + 60_000); // past the Grantex auth request's lifetime: the grant's (24 h)
    const res = await exchange(s, client, code, verifier);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toBe('invalid_grant');
    expect((await exchange(s, client, code, verifier)).status).toBe(400);
  });

  it('a code replay at our token endpoint revokes the Grantex grant too', async () => {
    const s = grantexSetup();
    const client = await registerClient();
    const { code, verifier } = await fullAuthorization(s, client);
    const tokens = (await (await exchange(s, client, code, verifier)).json()) as { access_token: string };
    expect((await exchange(s, client, code, verifier)).status).toBe(400);
    expect(s.fake.control.grant(decodeJwt(tokens.access_token).grnt as string)?.status).toBe('revoked');
  });
});

describe('Grantex mode: introspection', () => {
  it('AS-16: another client, a foreign token and a token of no grant of ours are inactive; online verification also works', async () => {
    const s = grantexSetup({ introspection: 'online' });
    const client = await registerClient();
    const { code, verifier } = await fullAuthorization(s, client);
    const tokens = (await (await exchange(s, client, code, verifier)).json()) as { access_token: string };
    const other = await registerClient({ token_endpoint_auth_method: 'client_secret_basic' });
    const byOther = await s.postForm('/introspect', { token: tokens.access_token }, { Authorization: basic(other.client_id, other.client_secret!) });
    expect(await byOther.json()).toEqual({ active: false });

    const now = Math.floor(Date.now() / 1000);
    const unlinked = await s.fake.control.signToken({
      iss: s.fake.control.issuer,
      sub: 'alice',
      aud: RESOURCE,
      agt: s.agent.did,
      dev: 'dev_1',
      grnt: 'grnt_unknown',
      scp: ['mcp:tools:read'],
      jti: 'tok_1',
      iat: now,
      exp: now + 60,
    });
    expect(await (await s.postForm('/introspect', { token: unlinked, client_id: client.client_id })).json()).toEqual({ active: false });

    const mine = (await (await s.postForm('/introspect', { token: tokens.access_token, client_id: client.client_id })).json()) as { active: boolean };
    expect(mine.active).toBe(true);
    expect(s.fake.control.calls.some((call) => call.path === '/v1/grants/verify')).toBe(true);
  });
});

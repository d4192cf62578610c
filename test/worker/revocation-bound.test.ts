import { describe, expect, it } from 'vitest';
import { Hono } from 'hono';
import { env } from 'cloudflare:workers';
import { decodeJwt } from 'jose';
import { createMcpAuth, type McpAuth, type ProtectOptions } from '../../src/create-mcp-auth';
import { createTokenVerifier, verifyAccessToken, type McpGrant } from '../../src/verify/index.js';
import { createTokenMint, ISSUER as MINT_ISSUER, NOW as MINT_NOW, RESOURCE as MINT_RESOURCE } from '../shared/token-mint';
import { ISSUER, RESOURCE, workerAuth, authorizeUrl, clientAuth, pkce, postForm, registerClient, tokensFor, type RegisteredClient } from './helpers';
import { GRANTEX_SCOPES, fakeGrantexAuthority, grantexSetup, type GrantexSetup } from './grantex-setup';

const STATE_BINDING = 'MCP_AUTH_STATE';

/**
 * The state namespace binding, wrapped: records the name of every Durable Object instance opened
 * (one per RPC in protect()), and can be made unavailable.
 */
function countingState() {
  const real = (env as unknown as Record<string, DurableObjectNamespace>)[STATE_BINDING]!;
  const opened: string[] = [];
  const state = {
    down: false,
    opened,
    /** Instances holding a grant or an upstream link, i.e. revocation-status lookups. */
    statusLookups: () => opened.filter((name) => name.startsWith(`${ISSUER} grant:`) || name.startsWith(`${ISSUER} upstream-grant:`)),
    namespace: {
      idFromName: (name: string) => {
        if (state.down) throw new Error('Durable Object unavailable');
        opened.push(name);
        return real.idFromName(name);
      },
      get: (id: DurableObjectId) => real.get(id),
    },
  };
  return state;
}

/**
 * protect() of an authorization server for ISSUER with an injected clock, sharing the worker
 * under test's bindings (so its tokens and revocations are this app's), the state binding counted.
 */
function protectedHost(auth: McpAuth, routes: Record<string, ProtectOptions>) {
  const state = countingState();
  const hostEnv = { ...env, [STATE_BINDING]: state.namespace };
  const grants: McpGrant[] = [];
  const app = new Hono();
  for (const [path, options] of Object.entries(routes))
    app.get(path, auth.protect({ scopes: ['mcp:tools:read'], ...options }), (c) => (grants.push(c.get('mcpGrant')), c.text('pong')));
  const get = (path: string, token: string) => app.fetch(new Request(new URL(path, ISSUER), { headers: { Authorization: `Bearer ${token}` } }), hostEnv);
  return { get, state, grants };
}

/** A clock standing at `start` until moved. */
function testClock(start: number) {
  const clock = { t: start, now: () => clock.t };
  return clock;
}

function localHost(start: number, routes: Record<string, ProtectOptions>) {
  const clock = testClock(start);
  const auth = workerAuth({ clock: clock.now });
  return { clock, ...protectedHost(auth, routes) };
}

async function expectRefused(res: Response): Promise<void> {
  expect(res.status).toBe(401);
  expect(res.headers.get('WWW-Authenticate')).toContain('error="invalid_token"');
}

function revoke(client: RegisteredClient, token: string, hint?: string): Promise<Response> {
  const auth = clientAuth(client);
  return postForm('/revoke', { token, token_type_hint: hint, ...auth.body }, auth.headers);
}

describe('protect(): a revocation reaches it within revocationCheckSeconds (local mode)', () => {
  it('RFC 7009: a revoked access token is accepted at most revocationCheckSeconds (default 5) and refused once they have passed; with 0 at once', async () => {
    const { flow, tokens } = await tokensFor();
    const t0 = decodeJwt(tokens.access_token).iat!;
    const { get, clock } = localHost(t0, { '/mcp': {}, '/mcp-every-request': { revocationCheckSeconds: 0 } });
    expect((await get('/mcp', tokens.access_token)).status).toBe(200);
    expect((await get('/mcp-every-request', tokens.access_token)).status).toBe(200);
    expect((await revoke(flow.client, tokens.access_token)).status).toBe(200);

    await expectRefused(await get('/mcp-every-request', tokens.access_token));
    // Documented bound: the "not revoked" answer of t0 stands until t0 + 5.
    clock.t = t0 + 4;
    expect((await get('/mcp', tokens.access_token)).status).toBe(200);
    clock.t = t0 + 5;
    await expectRefused(await get('/mcp', tokens.access_token));
    clock.t = t0 + 6; // final: the mark stays
    await expectRefused(await get('/mcp', tokens.access_token));
  });

  it('RFC 7009 §2.1: revoking the refresh token ends the grant: its access token is refused once revocationCheckSeconds have passed', async () => {
    const { flow, tokens } = await tokensFor({ scope: 'mcp:tools:read offline_access' });
    expect(tokens.refresh_token).toBeDefined();
    const t0 = decodeJwt(tokens.access_token).iat!;
    const { get, clock } = localHost(t0, { '/mcp': { revocationCheckSeconds: 30 } });
    expect((await get('/mcp', tokens.access_token)).status).toBe(200);
    expect((await revoke(flow.client, tokens.refresh_token!, 'refresh_token')).status).toBe(200);
    clock.t = t0 + 29;
    expect((await get('/mcp', tokens.access_token)).status).toBe(200);
    clock.t = t0 + 30;
    await expectRefused(await get('/mcp', tokens.access_token));
  });

  it("the grant status is asked of the grant's own Durable Object at most once per revocationCheckSeconds per token", async () => {
    const first = await tokensFor();
    const second = await tokensFor();
    const t0 = Math.max(decodeJwt(first.tokens.access_token).iat!, decodeJwt(second.tokens.access_token).iat!);
    const { get, clock, state } = localHost(t0, { '/mcp': {}, '/mcp-every-request': { revocationCheckSeconds: 0 } });
    const grantOf = (token: string) => `${ISSUER} grant:${decodeJwt(token).grnt as string}`;

    for (const t of [t0, t0, t0 + 1, t0 + 4, t0 + 4]) {
      clock.t = t;
      for (const { tokens } of [first, second]) expect((await get('/mcp', tokens.access_token)).status).toBe(200);
    }
    expect(state.statusLookups()).toEqual([grantOf(first.tokens.access_token), grantOf(second.tokens.access_token)]);
    clock.t = t0 + 5;
    for (let i = 0; i < 3; i++) expect((await get('/mcp', first.tokens.access_token)).status).toBe(200);
    expect(state.statusLookups()).toHaveLength(3);
    expect(state.statusLookups()[2]).toBe(grantOf(first.tokens.access_token));

    state.opened.length = 0;
    for (let i = 0; i < 3; i++) expect((await get('/mcp-every-request', first.tokens.access_token)).status).toBe(200);
    expect(state.statusLookups()).toHaveLength(3);
  });

  it('fails closed: when the grant status cannot be asked, 503 with Retry-After, never the stale answer', async () => {
    const { tokens } = await tokensFor();
    const t0 = decodeJwt(tokens.access_token).iat!;
    const { get, clock, state } = localHost(t0, { '/mcp': {} });
    expect((await get('/mcp', tokens.access_token)).status).toBe(200);
    state.down = true;
    clock.t = t0 + 4;
    expect((await get('/mcp', tokens.access_token)).status).toBe(200); // within the bound: no lookup
    clock.t = t0 + 5;
    const res = await get('/mcp', tokens.access_token);
    expect(res.status).toBe(503);
    expect(res.headers.get('Retry-After')).toBe('5');
    expect(await res.json()).toMatchObject({ error: 'temporarily_unavailable' });
    state.down = false;
    expect((await get('/mcp', tokens.access_token)).status).toBe(200);
  });

  it('protect() refuses the replaced checkRevocation option and a negative revocationCheckSeconds', () => {
    const auth = createMcpAuth({ issuer: ISSUER, resources: [RESOURCE], scopes: ['mcp:tools:read'], rateLimits: { enabled: false }, log: false });
    expect(() => auth.protect({ checkRevocation: true } as ProtectOptions)).toThrow(/revocationCheckSeconds/);
    for (const seconds of [-1, Number.NaN, Number.POSITIVE_INFINITY])
      expect(() => auth.protect({ revocationCheckSeconds: seconds })).toThrow(/revocationCheckSeconds/);
  });
});

/**
 * The Grantex authority of the shared setup's fake Grantex and agent, verifying through the same
 * fetch (so the same isolate-wide copy of Grantex's key set).
 */
const setupAuthority = (s: GrantexSetup) => fakeGrantexAuthority(s.fake, s.agent.agentId, { fetch: s.fakeFetch });

/** Grantex mode: the shared setup, plus protect() of a second server (same issuer, bindings and Grantex) with a clock. */
function grantexHost(routes: Record<string, ProtectOptions>) {
  const s = grantexSetup({ sandbox: true, principal: 'known' });
  // Grantex signs with its own clock; ours stands at the start until moved.
  const clock = testClock(Math.floor(Date.now() / 1000));
  const auth = createMcpAuth({
    issuer: ISSUER,
    resources: [RESOURCE],
    scopes: GRANTEX_SCOPES,
    rateLimits: { enabled: false },
    log: false,
    clock: clock.now,
    authority: setupAuthority(s),
  });
  return { s, clock, ...protectedHost(auth, routes) };
}

/** A Grantex grant token (and our refresh token) obtained through this server's /authorize and /token. */
async function grantexTokens(s: GrantexSetup) {
  const client = await registerClient();
  const { verifier, challenge } = await pkce();
  const back = new URL((await s.request(authorizeUrl(client, challenge, { scope: 'mcp:tools:read offline_access' }))).headers.get('Location')!);
  const auth = clientAuth(client);
  const res = await s.postForm(
    '/token',
    {
      grant_type: 'authorization_code',
      code: back.searchParams.get('code')!,
      code_verifier: verifier,
      redirect_uri: client.redirect_uris[0],
      resource: RESOURCE,
      ...auth.body,
    },
    auth.headers,
  );
  expect(res.status).toBe(200);
  const tokens = (await res.json()) as { access_token: string; refresh_token?: string };
  // The isolate's copy of Grantex's key set is loaded (a token verified while it loads is not remembered).
  await verifyAccessToken(tokens.access_token, setupAuthority(s).verifierOptions([RESOURCE]));
  return { client, tokens };
}

describe('protect(): a revocation reaches it within revocationCheckSeconds (Grantex mode)', () => {
  it('Grantex contract (revoke): a grant token revoked through /revoke is accepted at most revocationCheckSeconds, then refused; with 0 at once', async () => {
    const { s, clock, get } = grantexHost({ '/mcp': { revocationCheckSeconds: 60 }, '/mcp-every-request': { revocationCheckSeconds: 0 } });
    const { client, tokens } = await grantexTokens(s);
    const t0 = clock.t;
    expect((await get('/mcp', tokens.access_token)).status).toBe(200);
    expect((await get('/mcp-every-request', tokens.access_token)).status).toBe(200);
    const auth = clientAuth(client);
    expect((await s.postForm('/revoke', { token: tokens.access_token, ...auth.body }, auth.headers)).status).toBe(200);

    await expectRefused(await get('/mcp-every-request', tokens.access_token));
    clock.t = t0 + 59;
    expect((await get('/mcp', tokens.access_token)).status).toBe(200);
    clock.t = t0 + 60;
    await expectRefused(await get('/mcp', tokens.access_token));
  });

  it('Grantex contract (refresh): a grant ended by a refresh-token replay is refused once revocationCheckSeconds have passed', async () => {
    const { s, clock, get } = grantexHost({ '/mcp': {} });
    const { client, tokens } = await grantexTokens(s);
    expect(tokens.refresh_token).toBeDefined();
    const t0 = clock.t;
    expect((await get('/mcp', tokens.access_token)).status).toBe(200);
    const auth = clientAuth(client);
    const rotate = (refreshToken: string) => s.postForm('/token', { grant_type: 'refresh_token', refresh_token: refreshToken, ...auth.body }, auth.headers);
    expect((await rotate(tokens.refresh_token!)).status).toBe(200);
    expect((await rotate(tokens.refresh_token!)).status).toBe(400); // replay: the whole grant ends
    clock.t = t0 + 5;
    await expectRefused(await get('/mcp', tokens.access_token));
  });

  it("Grantex mode: the grant status (link and our grant) is asked at most once per revocationCheckSeconds per token, of the grant's own instances", async () => {
    const { s, clock, get, state } = grantexHost({ '/mcp': {} });
    const { tokens } = await grantexTokens(s);
    const t0 = clock.t;
    for (const t of [t0, t0, t0 + 2, t0 + 4]) {
      clock.t = t;
      expect((await get('/mcp', tokens.access_token)).status).toBe(200);
    }
    const upstream = `${ISSUER} upstream-grant:${decodeJwt(tokens.access_token).grnt as string}`;
    const lookups = state.statusLookups();
    // Full verification: the link (who issued it, which client); then the status: link and our grant.
    expect(lookups).toHaveLength(3);
    expect(lookups.filter((name) => name === upstream)).toHaveLength(2);
    const ours = lookups.find((name) => name !== upstream)!;
    expect(ours).toMatch(new RegExp(`^${ISSUER} grant:`));
    clock.t = t0 + 5;
    expect((await get('/mcp', tokens.access_token)).status).toBe(200);
    expect(state.statusLookups().slice(3).sort()).toEqual([ours, upstream].sort());
  });

  it("Grantex mode: McpGrant.clientId is the MCP client's id, from the upstream link (grant tokens carry no client_id)", async () => {
    const { s, get, grants } = grantexHost({ '/mcp': {} });
    const { client, tokens } = await grantexTokens(s);
    expect(decodeJwt(tokens.access_token).client_id).toBeUndefined();
    expect((await get('/mcp', tokens.access_token)).status).toBe(200);
    expect((await get('/mcp', tokens.access_token)).status).toBe(200);
    expect(grants[0]!.clientId).toBe(client.client_id);
    expect(grants[1]).toBe(grants[0]); // remembered, enriched before it was frozen
    expect(Object.isFrozen(grants[0])).toBe(true);
  });
});

describe('createTokenVerifier: revocationCheckIntervalSeconds', () => {
  it('a "not revoked" answer stands for the interval for a remembered token; "revoked" is final; default 0 asks every request', async () => {
    const mint = await createTokenMint();
    const token = await mint.token();
    let clock = MINT_NOW;
    let revoked = false;
    const asked: string[] = [];
    const base = {
      issuer: MINT_ISSUER,
      audience: MINT_RESOURCE,
      keys: mint.jwks,
      now: () => clock,
      checkRevocation: async (grant: McpGrant) => (asked.push(grant.jti), revoked),
    };
    const verify = createTokenVerifier({ ...base, revocationCheckIntervalSeconds: 10 });
    const everyRequest = createTokenVerifier(base);
    for (let i = 0; i < 3; i++) await verify(token);
    expect(asked).toHaveLength(1);
    for (let i = 0; i < 3; i++) await everyRequest(token);
    expect(asked).toHaveLength(4);
    revoked = true;
    clock = MINT_NOW + 9;
    await verify(token);
    clock = MINT_NOW + 10;
    await expect(verify(token)).rejects.toMatchObject({ code: 'revoked' });
    revoked = false; // "revoked" is final: no further question
    await expect(verify(token)).rejects.toMatchObject({ code: 'revoked' });
    expect(asked).toHaveLength(5);
    expect(() => createTokenVerifier({ ...base, revocationCheckIntervalSeconds: -1 })).toThrow(/revocationCheckIntervalSeconds/);
  });
});

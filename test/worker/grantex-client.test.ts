/**
 * The Grantex REST client against the fake Grantex service, in workerd, without network: the
 * client's `fetch` is the fake app's `fetch`. Test names cite the rule from the Grantex REST
 * contract ("contract: …") or the RFC they check.
 */
import { createExecutionContext } from 'cloudflare:test';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JWK } from 'jose';
import { beforeEach, describe, expect, it } from 'vitest';
import { urlOf } from './helpers';
import { GrantexError, createGrantexClient, parseRetryAfter, type GrantexApi, type GrantexClientOptions } from '../../src/authority/grantex/client.js';
import {
  FAKE_GRANTEX_API_KEY,
  base64url,
  computeAuditHash,
  createFakeGrantex,
  type FakeGrantex,
  type FakeGrantexControl,
  type FakeGrantexOptions,
} from '../fixtures/fake-grantex/app.js';
import fakeWorker from '../fixtures/fake-grantex/worker.js';
import { consentRedirect, decideAtConsent } from '../fixtures/fake-grantex/consent.js';

const BASE_URL = 'https://grantex.test';
const RESOURCE = 'https://mcp.example.com/mcp';
const REDIRECT_URI = 'https://auth.example.com/grantex/callback';
const API_KEY = FAKE_GRANTEX_API_KEY;
const ULID = /^[0-9A-HJKMNP-TV-Z]{26}$/;
const id = (prefix: string): RegExp => new RegExp(`^${prefix}_[0-9A-HJKMNP-TV-Z]{26}$`);
/** The reference service's request id (Fastify genReqId: randomUUID). */
const REQUEST_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

interface Harness {
  fake: FakeGrantex;
  control: FakeGrantexControl;
  client: GrantexApi;
  sleeps: number[];
  /** The fake app as a `fetch`. */
  fakeFetch: typeof fetch;
  /** A client with other options, same fake. */
  clientWith(options: Partial<GrantexClientOptions>): GrantexApi;
}

function harness(fakeOptions: FakeGrantexOptions = {}, clientOptions: Partial<GrantexClientOptions> = {}): Harness {
  const fake = createFakeGrantex(fakeOptions);
  const sleeps: number[] = [];
  const fakeFetch: typeof fetch = async (input, init) => fake.app.fetch(new Request(input, init));
  const clientWith = (options: Partial<GrantexClientOptions>): GrantexApi =>
    createGrantexClient({
      baseUrl: BASE_URL,
      apiKey: API_KEY,
      fetch: fakeFetch,
      retryBaseDelayMs: 100,
      sleep: async (ms) => {
        sleeps.push(ms);
      },
      ...clientOptions,
      ...options,
    });
  return { fake, control: fake.control, client: clientWith({}), sleeps, fakeFetch, clientWith };
}

/** RFC 7636 §4.1–4.2: a random verifier and its S256 challenge. */
async function pkcePair(): Promise<{ verifier: string; challenge: string }> {
  const verifier = base64url(crypto.getRandomValues(new Uint8Array(32)));
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier)));
  return { verifier, challenge: base64url(digest) };
}

async function rejection(promise: Promise<unknown>): Promise<GrantexError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(GrantexError);
    return err as GrantexError;
  }
  throw new Error('expected the call to fail');
}

/** Authorize with PKCE + redirect, approve as the consent page's script does, return the code. */
async function authorizeAndApprove(h: Harness, agentId: string, extra: { scopes?: string[]; expiresIn?: string } = {}) {
  const { verifier, challenge } = await pkcePair();
  const state = crypto.randomUUID();
  const auth = await h.client.authorize({
    agentId,
    principalId: 'user_alice',
    scopes: extra.scopes ?? ['tools:read', 'tools:write'],
    audience: RESOURCE,
    redirectUri: REDIRECT_URI,
    codeChallenge: challenge,
    codeChallengeMethod: 'S256',
    state,
    ...(extra.expiresIn ? { expiresIn: extra.expiresIn } : {}),
  });
  const location = await consentRedirect(h.fakeFetch, auth.consentUrl);
  expect(`${location.origin}${location.pathname}`).toBe(REDIRECT_URI);
  expect(location.searchParams.get('state')).toBe(state);
  const code = location.searchParams.get('code') ?? '';
  return { auth, code, verifier, state };
}

async function issueGrant(h: Harness, agentId: string, extra: { scopes?: string[]; expiresIn?: string } = {}) {
  const { code, verifier } = await authorizeAndApprove(h, agentId, extra);
  return h.client.tokens.exchange({ code, agentId, codeVerifier: verifier });
}

async function jwksOf(h: Harness): Promise<{ keys: JWK[] }> {
  const res = await h.fakeFetch(`${BASE_URL}/.well-known/jwks.json`);
  expect(res.status).toBe(200);
  return (await res.json()) as { keys: JWK[] };
}

function jti(token: string): string {
  const payload = JSON.parse(atob(token.split('.')[1]!.replace(/-/g, '+').replace(/_/g, '/'))) as { jti: string };
  return payload.jti;
}

// -----------------------------------------------------------------------------------------------

describe('Grantex client ↔ fake Grantex: the authorization flow', () => {
  let h: Harness;
  let agentId: string;
  let agentDid: string;
  beforeEach(() => {
    h = harness();
    ({ agentId, did: agentDid } = h.control.registerAgent({ name: 'Calendar agent' }));
  });

  it('contract: authorize → 201 {authRequestId (areq_ ULID), consentUrl, expiresAt}; the consent page has Approve and Deny', async () => {
    const { challenge } = await pkcePair();
    const auth = await h.client.authorize({
      agentId,
      principalId: 'user_alice',
      scopes: ['tools:read'],
      audience: RESOURCE,
      redirectUri: REDIRECT_URI,
      codeChallenge: challenge,
      codeChallengeMethod: 'S256',
      state: 'xyz',
    });
    expect(auth.authRequestId).toMatch(id('areq'));
    expect(auth.consentUrl).toBe(`${BASE_URL}/consent?req=${auth.authRequestId}`);
    expect(Date.parse(auth.expiresAt)).toBeGreaterThan(Date.now());
    expect(auth.code).toBeUndefined(); // not sandbox: the user must consent
    expect(h.control.authRequest(auth.authRequestId)?.codeChallenge).toBe(challenge);
    expect(h.control.calls.find((c) => c.path === '/v1/authorize')?.status).toBe(201);

    // A script page: it reads the request from the public consent API and offers Approve and Deny.
    const page = await h.fakeFetch(auth.consentUrl);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain("getElementById('approve')");
    expect(html).toContain("getElementById('deny')");
    const request = await h.fakeFetch(`${BASE_URL}/v1/consent/${auth.authRequestId}`);
    expect(await request.json()).toMatchObject({ id: auth.authRequestId, agentName: 'Calendar agent', scopes: ['tools:read'], status: 'pending' });
  });

  it('contract: approve on the consent page sends the browser to redirectUri?code=<ULID>&state=…', async () => {
    const { code, auth } = await authorizeAndApprove(h, agentId);
    expect(code).toMatch(ULID);
    expect(h.control.authRequest(auth.authRequestId)?.status).toBe('approved');
  });

  it('contract: Deny on the consent page redirects with error=access_denied and the state', async () => {
    const auth = await h.client.authorize({ agentId, principalId: 'u', scopes: ['a'], redirectUri: REDIRECT_URI, state: 's-1' });
    const location = await consentRedirect(h.fakeFetch, auth.consentUrl, 'deny');
    expect(location.searchParams.get('error')).toBe('access_denied');
    expect(location.searchParams.get('state')).toBe('s-1');
    expect(location.searchParams.has('code')).toBe(false);
  });

  it('contract: the public consent approve API returns {code, redirectUri, state}; a second approve is 410', async () => {
    const auth = await h.client.authorize({ agentId, principalId: 'u', scopes: ['a'], redirectUri: REDIRECT_URI, state: 's-2' });
    const path = `${BASE_URL}/v1/consent/${auth.authRequestId}/approve`;
    const first = await h.fakeFetch(path, { method: 'POST' }); // no API key: public
    expect(first.status).toBe(200);
    const body = (await first.json()) as { code: string; redirectUri: string; state: string };
    expect(body).toEqual({ code: expect.stringMatching(ULID), redirectUri: REDIRECT_URI, state: 's-2' });
    const again = await h.fakeFetch(path, { method: 'POST' });
    expect(again.status).toBe(410);
    expect(await again.json()).toMatchObject({ code: 'GONE', requestId: expect.stringMatching(REQUEST_ID) });
  });

  it('contract: exchange with the PKCE verifier → 201 grant token; RS256, kid grantex-YYYY-MM, claims per contract, verifies against the JWKS', async () => {
    const tokens = await issueGrant(h, agentId);
    expect(tokens.grantId).toMatch(id('grnt'));
    expect(tokens.refreshToken).toMatch(id('ref'));
    expect(tokens.scopes).toEqual(['tools:read', 'tools:write']);

    const header = decodeProtectedHeader(tokens.grantToken);
    expect(header.alg).toBe('RS256');
    expect(header.kid).toMatch(/^grantex-\d{4}-\d{2}$/);
    expect(header.typ).toBeUndefined();

    const jwks = await jwksOf(h);
    const rsa = jwks.keys.find((k) => k.kty === 'RSA');
    expect(rsa).toMatchObject({ alg: 'RS256', use: 'sig', kid: header.kid });
    expect(rsa && 'd' in rsa).toBe(false); // public keys only
    expect(jwks.keys.some((k) => k.kty === 'OKP' && k.crv === 'Ed25519')).toBe(true);

    const { payload } = await jwtVerify(tokens.grantToken, createLocalJWKSet(jwks), {
      issuer: 'https://grantex.dev',
      audience: RESOURCE,
      algorithms: ['RS256'],
    });
    expect(payload).toMatchObject({
      sub: 'user_alice',
      agt: agentDid,
      dev: h.control.developerId(),
      grnt: tokens.grantId,
      scp: ['tools:read', 'tools:write'],
    });
    expect(payload.dev).toMatch(id('dev'));
    expect(payload.jti).toMatch(id('tok'));
    expect(payload.exp).toBe(Math.floor(Date.parse(tokens.expiresAt) / 1000));
    expect(typeof payload.iat).toBe('number');
  });

  it('contract: the grant lifetime comes from expiresIn ("1h")', async () => {
    const tokens = await issueGrant(h, agentId, { expiresIn: '1h' });
    const lifetime = Date.parse(tokens.expiresAt) - h.control.now();
    expect(lifetime).toBeGreaterThan(3_590_000);
    expect(lifetime).toBeLessThanOrEqual(3_600_000);
  });

  it('contract: the authorization code is single-use (second exchange → 400)', async () => {
    const { code, verifier } = await authorizeAndApprove(h, agentId);
    await h.client.tokens.exchange({ code, agentId, codeVerifier: verifier });
    const err = await rejection(h.client.tokens.exchange({ code, agentId, codeVerifier: verifier }));
    expect(err).toMatchObject({ status: 400, code: 'BAD_REQUEST', retryable: false });
  });

  it('RFC 7636 §4.6 / contract: exchange with a wrong or missing codeVerifier → 400, and the code stays usable', async () => {
    const { code, verifier } = await authorizeAndApprove(h, agentId);
    const wrong = await rejection(h.client.tokens.exchange({ code, agentId, codeVerifier: (await pkcePair()).verifier }));
    expect(wrong).toMatchObject({ status: 400, upstreamMessage: 'Invalid codeVerifier' });
    const missing = await rejection(h.client.tokens.exchange({ code, agentId }));
    expect(missing).toMatchObject({ status: 400, upstreamMessage: 'codeVerifier is required for PKCE' });
    await expect(h.client.tokens.exchange({ code, agentId, codeVerifier: verifier })).resolves.toMatchObject({ grantId: expect.stringMatching(id('grnt')) });
  });

  it('contract: an unknown code → 400 "Invalid code"; a code is bound to its agent', async () => {
    const { code, verifier } = await authorizeAndApprove(h, agentId);
    const other = h.control.registerAgent();
    const err = await rejection(h.client.tokens.exchange({ code, agentId: other.agentId, codeVerifier: verifier }));
    expect(err).toMatchObject({ status: 400, upstreamMessage: 'Invalid code' });
    const unknown = await rejection(h.client.tokens.exchange({ code: '01J0000000000000000000000', agentId }));
    expect(unknown).toMatchObject({ status: 400, upstreamMessage: 'Invalid code' });
  });

  it('contract: an expired auth request cannot be approved (410) and its code cannot be exchanged (400)', async () => {
    const { code, verifier } = await authorizeAndApprove(h, agentId);
    h.control.advanceTime(24 * 3_600_000 + 60_000); // past the auth request's lifetime: the grant's, 24 h
    const late = await rejection(h.client.tokens.exchange({ code, agentId, codeVerifier: verifier }));
    expect(late).toMatchObject({ status: 400, upstreamMessage: 'Auth request expired' });

    const auth = await h.client.authorize({ agentId, principalId: 'u', scopes: ['a'] });
    h.control.expireAuthRequest(auth.authRequestId);
    const approve = await h.fakeFetch(`${BASE_URL}/v1/consent/${auth.authRequestId}/approve`, { method: 'POST' });
    expect(approve.status).toBe(410);
    expect(await decideAtConsent(h.fakeFetch, auth.consentUrl)).toEqual({ kind: 'error', status: 410, step: 'read' });
  });

  it('contract: sandbox authorize → {sandbox: true, code}, exchangeable at once; the API-key approve shortcut returns {requestId, status, code}', async () => {
    h.control.setSandbox(true);
    const auth = await h.client.authorize({ agentId, principalId: 'u', scopes: ['a'], audience: RESOURCE });
    expect(auth.sandbox).toBe(true);
    expect(auth.code).toMatch(ULID);
    const shortcut = await h.fakeFetch(`${BASE_URL}/v1/authorize/${auth.authRequestId}/approve`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${API_KEY}` },
    });
    // Already approved by the sandbox: the shortcut finds no pending request (reference service: 404).
    expect(shortcut.status).toBe(404);
    expect(await shortcut.json()).toMatchObject({ code: 'NOT_FOUND' });
    const pending = await h.fakeFetch(
      `${BASE_URL}/v1/authorize/${(await h.client.authorize({ agentId, principalId: 'u', scopes: ['a'] })).authRequestId}/approve`,
      {
        method: 'POST',
        headers: { Authorization: `Bearer ${API_KEY}` },
      },
    );
    expect(pending.status).toBe(404); // the sandbox approved this one too
    const tokens = await h.client.tokens.exchange({ code: auth.code!, agentId });
    expect(tokens.scopes).toEqual(['a']);
  });

  it('contract: a policy that auto-allows returns {policyEnforced: true, effect: "allow", code}; a deny is 403 POLICY_DENIED', async () => {
    h.control.setPolicy(({ scopes }) => (scopes.includes('admin') ? 'deny' : 'allow'));
    const allowed = await h.client.authorize({ agentId, principalId: 'u', scopes: ['a'] });
    expect(allowed).toMatchObject({ policyEnforced: true, effect: 'allow', code: expect.stringMatching(ULID) });
    const denied = await rejection(h.client.authorize({ agentId, principalId: 'u', scopes: ['admin'] }));
    expect(denied).toMatchObject({ status: 403, code: 'POLICY_DENIED', retryable: false });
  });

  it('contract: authorize validation → 400 envelope (PKCE challenge must be a 43-char S256 digest; state ≤ 1024)', async () => {
    const badChallenge = await rejection(h.client.authorize({ agentId, principalId: 'u', scopes: ['a'], codeChallenge: 'short', codeChallengeMethod: 'S256' }));
    expect(badChallenge).toMatchObject({ status: 400, code: 'BAD_REQUEST' });
    const longState = await rejection(h.client.authorize({ agentId, principalId: 'u', scopes: ['a'], state: 'x'.repeat(1025) }));
    expect(longState.status).toBe(400);
    const noScopes = await rejection(h.client.authorize({ agentId, principalId: 'u', scopes: [] }));
    expect(noScopes.status).toBe(400);
  });

  it('contract: unknown agent → 404; the {message, code, requestId} envelope is parsed into GrantexError', async () => {
    const err = await rejection(h.client.authorize({ agentId: 'ag_UNKNOWN', principalId: 'u', scopes: ['a'] }));
    const call = h.control.calls.at(-1);
    expect(err).toMatchObject({
      name: 'GrantexError',
      status: 404,
      code: 'NOT_FOUND',
      operation: 'authorize',
      retryable: false,
      upstreamMessage: 'Agent not found',
      requestId: call?.requestId,
    });
    expect(err.requestId).toMatch(REQUEST_ID);
    expect(err.message).toBe('Grantex authorize failed: HTTP 404 (NOT_FOUND)');
    expect(h.control.calls.filter((c) => c.path === '/v1/authorize')).toHaveLength(1); // 404 is not retried
  });

  it('contract: /v1/* without a known API key → 401 UNAUTHORIZED, not retried', async () => {
    const client = h.clientWith({ apiKey: 'gx_test_wrong_key_000000000' });
    const err = await rejection(client.authorize({ agentId, principalId: 'u', scopes: ['a'] }));
    expect(err).toMatchObject({ status: 401, code: 'UNAUTHORIZED', retryable: false });
    expect(h.sleeps).toEqual([]);
  });

  it('contract: authorize is limited to 10/min per developer → 429 RATE_LIMITED with Retry-After', async () => {
    const client = h.clientWith({ maxRetries: 0 });
    for (let i = 0; i < 10; i++) await client.authorize({ agentId, principalId: 'u', scopes: ['a'] });
    const err = await rejection(client.authorize({ agentId, principalId: 'u', scopes: ['a'] }));
    expect(err).toMatchObject({ status: 429, code: 'RATE_LIMITED', retryable: true });
    expect(err.retryAfterMs).toBeGreaterThan(0);
    expect(err.retryAfterMs).toBeLessThanOrEqual(60_000);
    h.control.advanceTime(61_000);
    await expect(client.authorize({ agentId, principalId: 'u', scopes: ['a'] })).resolves.toHaveProperty('authRequestId');
  });
});

describe('Grantex client ↔ fake Grantex: grants, refresh, revocation, audit', () => {
  let h: Harness;
  let agentId: string;
  let agentDid: string;
  beforeEach(() => {
    h = harness();
    ({ agentId, did: agentDid } = h.control.registerAgent());
  });

  it('contract: refresh is single-use (rotated); reusing the old refresh token → 400', async () => {
    const first = await issueGrant(h, agentId);
    const second = await h.client.tokens.refresh({ refreshToken: first.refreshToken, agentId });
    expect(second.refreshToken).toMatch(id('ref'));
    expect(second.refreshToken).not.toBe(first.refreshToken);
    expect(second.grantId).toBe(first.grantId);
    expect(jti(second.grantToken)).not.toBe(jti(first.grantToken));

    const reuse = await rejection(h.client.tokens.refresh({ refreshToken: first.refreshToken, agentId }));
    expect(reuse).toMatchObject({ status: 400, code: 'BAD_REQUEST', retryable: false, upstreamMessage: 'Refresh token already used' });
    await expect(h.client.tokens.refresh({ refreshToken: second.refreshToken, agentId })).resolves.toHaveProperty('grantToken');
  });

  it('contract: a refreshed token expires with the grant (exp not extended)', async () => {
    const first = await issueGrant(h, agentId, { expiresIn: '8h' });
    h.control.advanceTime(2 * 3_600_000);
    const second = await h.client.tokens.refresh({ refreshToken: first.refreshToken, agentId });
    expect(second.expiresAt).toBe(first.expiresAt);
    const { payload } = await jwtVerify(second.grantToken, createLocalJWKSet(await jwksOf(h)), {
      algorithms: ['RS256'],
      currentDate: new Date(h.control.now()),
    });
    expect(payload.exp).toBe(Math.floor(Date.parse(first.expiresAt) / 1000));
  });

  it('contract: refresh with another agent → 400 "Agent mismatch"', async () => {
    const first = await issueGrant(h, agentId);
    const other = h.control.registerAgent();
    const err = await rejection(h.client.tokens.refresh({ refreshToken: first.refreshToken, agentId: other.agentId }));
    expect(err).toMatchObject({ status: 400, upstreamMessage: 'Agent mismatch' });
  });

  it('contract: grants.verify → {active: true, claims}; after a refresh the previous token stays valid', async () => {
    const first = await issueGrant(h, agentId);
    const result = await h.client.grants.verify(first.grantToken);
    expect(result.active).toBe(true);
    if (result.active) expect(result.claims).toMatchObject({ grnt: first.grantId, agt: agentDid, sub: 'user_alice' });
    await h.client.tokens.refresh({ refreshToken: first.refreshToken, agentId });
    await expect(h.client.grants.verify(first.grantToken)).resolves.toMatchObject({ active: true });
  });

  it('contract: grants.revoke → every token of the grant verifies {active: false, reason: "revoked"} and refresh fails with 400', async () => {
    const first = await issueGrant(h, agentId);
    const second = await h.client.tokens.refresh({ refreshToken: first.refreshToken, agentId });
    await h.client.grants.revoke(first.grantId);
    await expect(h.client.grants.verify(first.grantToken)).resolves.toEqual({ active: false, reason: 'revoked' });
    await expect(h.client.grants.verify(second.grantToken)).resolves.toEqual({ active: false, reason: 'revoked' });
    const refresh = await rejection(h.client.tokens.refresh({ refreshToken: second.refreshToken, agentId }));
    expect(refresh).toMatchObject({ status: 400, upstreamMessage: 'Grant has been revoked' });
    expect(h.control.calls.find((c) => c.method === 'DELETE')).toMatchObject({ path: `/v1/grants/${first.grantId}`, status: 204 });
  });

  it('contract: revoking an unknown (or already revoked) grant → 404 NOT_FOUND', async () => {
    const first = await issueGrant(h, agentId);
    await h.client.grants.revoke(first.grantId);
    await expect(rejection(h.client.grants.revoke(first.grantId))).resolves.toMatchObject({ status: 404, code: 'NOT_FOUND' });
    await expect(rejection(h.client.grants.revoke('grnt_UNKNOWN'))).resolves.toMatchObject({ status: 404 });
  });

  it('contract: tokens.revoke(jti) → 204, revokes that token only (not its grant or refresh token)', async () => {
    const first = await issueGrant(h, agentId);
    const second = await h.client.tokens.refresh({ refreshToken: first.refreshToken, agentId });
    await h.client.tokens.revoke(jti(first.grantToken));
    expect(h.control.calls.find((c) => c.path === '/v1/tokens/revoke')?.status).toBe(204);
    await expect(h.client.grants.verify(first.grantToken)).resolves.toEqual({ active: false, reason: 'revoked' });
    await expect(h.client.grants.verify(second.grantToken)).resolves.toMatchObject({ active: true });
    await expect(h.client.tokens.refresh({ refreshToken: second.refreshToken, agentId })).resolves.toHaveProperty('grantToken');
    expect(h.control.grant(first.grantId)?.status).toBe('active');
    await expect(rejection(h.client.tokens.revoke('tok_UNKNOWN'))).resolves.toMatchObject({ status: 404 });
  });

  it('contract: grants.verify of an expired token → 400 Invalid token at Grantex, read as {active: false, reason: "invalid"}', async () => {
    const first = await issueGrant(h, agentId, { expiresIn: '1h' });
    h.control.advanceTime(3_600_000 + 1000);
    await expect(h.client.grants.verify(first.grantToken)).resolves.toEqual({ active: false, reason: 'invalid' });
    expect(h.control.calls.filter((c) => c.path === '/v1/grants/verify').map((c) => c.status)).toEqual([400]);
  });

  it('contract: the older POST /v1/tokens/verify answers {valid, grantId, scopes, principal, agent, expiresAt}', async () => {
    const first = await issueGrant(h, agentId);
    const post = (token: string) =>
      h.fakeFetch(`${BASE_URL}/v1/tokens/verify`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${API_KEY}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ token }),
      });
    expect(await (await post(first.grantToken)).json()).toEqual({
      valid: true,
      grantId: first.grantId,
      scopes: first.scopes,
      principal: 'user_alice',
      agent: agentDid,
      expiresAt: new Date(Math.floor(Date.parse(first.expiresAt) / 1000) * 1000).toISOString(), // from exp (seconds)
    });
    await h.client.grants.revoke(first.grantId);
    expect(await (await post(first.grantToken)).json()).toEqual({ valid: false });
  });

  it('contract: audit.log → 201 entries chained by hash / prevHash', async () => {
    const { grantId } = await issueGrant(h, agentId);
    const entry = { agentId, agentDid, grantId, principalId: 'user_alice', action: 'tools.call' };
    const one = (await h.client.audit.log({ ...entry, metadata: { tool: 'search' } })) as Record<string, unknown>;
    const two = (await h.client.audit.log({ ...entry, status: 'failure' })) as Record<string, unknown>;
    expect(one.prevHash).toBeNull();
    expect(one.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(two.prevHash).toBe(one.hash);
    expect(two.status).toBe('failure');
    const { hash, ...rest } = two as { hash: string } & Parameters<typeof computeAuditHash>[0];
    expect(await computeAuditHash(rest)).toBe(hash);
    expect(h.control.auditEntries().map((e) => e.hash)).toEqual([one.hash, two.hash]);
  });

  it('contract: audit.log requires agentId, agentDid, grantId, principalId, action → 400, not retried', async () => {
    const err = await rejection(h.client.audit.log({ agentId, agentDid: '', grantId: 'g', principalId: 'p', action: 'a' }));
    expect(err).toMatchObject({ status: 400, retryable: false });
    expect(h.control.calls.filter((c) => c.path === '/v1/audit/log')).toHaveLength(1);
  });

  it('contract: the kid is derived from the month — a rotated key keeps the kid, old tokens no longer verify', async () => {
    const before = await issueGrant(h, agentId);
    const kid = await h.control.signingKid();
    const oldJwks = await jwksOf(h);
    await h.control.rotateSigningKey();
    const newJwks = await jwksOf(h);
    const oldRsa = oldJwks.keys.find((k) => k.kty === 'RSA')!;
    const newRsa = newJwks.keys.find((k) => k.kty === 'RSA')!;
    expect(newRsa.kid).toBe(kid);
    expect(oldRsa.kid).toBe(kid);
    expect(newRsa.n).not.toBe(oldRsa.n);
    await expect(jwtVerify(before.grantToken, createLocalJWKSet(newJwks), { algorithms: ['RS256'] })).rejects.toThrow();
    const after = await issueGrant(h, agentId);
    expect(decodeProtectedHeader(after.grantToken).kid).toBe(kid);
    await expect(jwtVerify(after.grantToken, createLocalJWKSet(newJwks), { algorithms: ['RS256'] })).resolves.toBeTruthy();
  });

  it('contract: revoking a grant cascades to delegated grants (fake: POST /v1/grants/delegate)', async () => {
    const parent = await issueGrant(h, agentId, { expiresIn: '2h' });
    const sub = h.control.registerAgent({ name: 'Sub-agent' });
    const res = await h.fakeFetch(`${BASE_URL}/v1/grants/delegate`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${API_KEY}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ parentGrantToken: parent.grantToken, subAgentId: sub.agentId, scopes: ['tools:read'], expiresIn: '4h' }),
    });
    expect(res.status).toBe(201);
    const child = (await res.json()) as { grantToken: string; grantId: string; expiresAt: string };
    expect(child.expiresAt).toBe(parent.expiresAt); // exp = min(parent exp, now + expiresIn)
    const { payload } = await jwtVerify(child.grantToken, createLocalJWKSet(await jwksOf(h)), { algorithms: ['RS256'] });
    expect(payload).toMatchObject({ parentAgt: agentDid, parentGrnt: parent.grantId, delegationDepth: 1, agt: sub.did });
    await h.client.grants.revoke(parent.grantId);
    await expect(h.client.grants.verify(child.grantToken)).resolves.toEqual({ active: false, reason: 'revoked' });
  });
});

describe('Grantex client: retries (contract: network errors, 429, 502, 503, 504; backoff with jitter; Retry-After)', () => {
  let h: Harness;
  let agentId: string;
  beforeEach(() => {
    h = harness();
    ({ agentId } = h.control.registerAgent());
  });

  it('contract: 503 twice then 201 → succeeds after two full-jitter backoff sleeps', async () => {
    h.control.failNext({ status: 503, times: 2, path: '/v1/authorize' });
    const auth = await h.client.authorize({ agentId, principalId: 'u', scopes: ['a'] });
    expect(auth.authRequestId).toMatch(id('areq'));
    const attempts = h.control.calls.filter((c) => c.path === '/v1/authorize');
    expect(attempts.map((c) => [c.status, c.injected])).toEqual([
      [503, true],
      [503, true],
      [201, false],
    ]);
    expect(h.sleeps).toHaveLength(2);
    // full jitter: attempt n waits in [0, base · 2^n)
    expect(h.sleeps[0]).toBeGreaterThanOrEqual(0);
    expect(h.sleeps[0]).toBeLessThan(100);
    expect(h.sleeps[1]).toBeLessThan(200);
  });

  it.each([502, 504])('contract: %i is retried for a call that is safe to repeat (verify, revoke)', async (status) => {
    const { grantToken, grantId } = await issueGrant(h, agentId);
    h.control.failNext({ status, path: '/v1/grants/verify' });
    await expect(h.client.grants.verify(grantToken)).resolves.toMatchObject({ active: true });
    h.control.failNext({ status, path: `/v1/grants/${grantId}` });
    await expect(h.client.grants.revoke(grantId)).resolves.toBeUndefined();
    expect(h.sleeps).toHaveLength(2);
  });

  it.each([502, 504, 'network error'] as const)('after %s the outcome is unknown: authorize, exchange, refresh and audit are not repeated', async (failure) => {
    const { refreshToken } = await issueGrant(h, agentId);
    const { code, verifier } = await authorizeAndApprove(h, agentId);
    const lost = h.clientWith({
      fetch: async (input, init) => {
        if (failure === 'network error') throw new TypeError('Network connection lost.');
        h.control.failNext({ status: failure });
        return h.fakeFetch(input, init);
      },
    });
    h.control.clearCalls();
    const calls = [
      () => lost.authorize({ agentId, principalId: 'u', scopes: ['a'] }),
      () => lost.tokens.exchange({ code, agentId, codeVerifier: verifier }),
      () => lost.tokens.refresh({ refreshToken, agentId }),
      () => lost.audit.log({ agentId, agentDid: `did:grantex:${agentId}`, grantId: 'grnt_x', principalId: 'u', action: 'x' }),
    ];
    for (const call of calls) {
      const err = await rejection(call());
      expect(err).toMatchObject({ retryable: true, outcomeUnknown: true });
    }
    expect(h.sleeps).toEqual([]);
    if (failure !== 'network error') expect(h.control.calls.map((c) => c.path)).toEqual(['/v1/authorize', '/v1/token', '/v1/token/refresh', '/v1/audit/log']);
  });

  it('contract: 429 with Retry-After: 2 → waits 2000 ms, then succeeds', async () => {
    h.control.failNext({ status: 429, retryAfter: 2, path: '/v1/authorize' });
    await h.client.authorize({ agentId, principalId: 'u', scopes: ['a'] });
    expect(h.sleeps).toEqual([2000]);
  });

  it('RFC 9110 §10.2.3: Retry-After as an HTTP-date is honoured', async () => {
    h.control.failNext({ status: 503, retryAfter: new Date(Date.now() + 5000).toUTCString(), path: '/v1/authorize' });
    await h.client.authorize({ agentId, principalId: 'u', scopes: ['a'] });
    expect(h.sleeps).toHaveLength(1);
    expect(h.sleeps[0]).toBeGreaterThan(3000);
    expect(h.sleeps[0]).toBeLessThanOrEqual(5000);
  });

  it('a Retry-After beyond maxRetryAfterMs (30 s) is not waited for: fails at once, retryable, with retryAfterMs', async () => {
    h.control.failNext({ status: 429, retryAfter: 120, path: '/v1/authorize' });
    const err = await rejection(h.client.authorize({ agentId, principalId: 'u', scopes: ['a'] }));
    expect(err).toMatchObject({ status: 429, retryable: true, retryAfterMs: 120_000 });
    expect(h.sleeps).toEqual([]);
  });

  it.each([400, 401, 402, 403, 404, 409, 410, 500])('contract: %i is not retried', async (status) => {
    h.control.failNext({ status, path: '/v1/authorize', times: 5 });
    const err = await rejection(h.client.authorize({ agentId, principalId: 'u', scopes: ['a'] }));
    expect(err).toMatchObject({ status, retryable: false });
    expect(h.control.calls.filter((c) => c.path === '/v1/authorize')).toHaveLength(1);
    expect(h.sleeps).toEqual([]);
  });

  it('contract: exhausted retries → GrantexError with the last status, retryable: true', async () => {
    h.control.failNext({ status: 503, times: 10, path: '/v1/authorize' });
    const client = h.clientWith({ maxRetries: 2 });
    const err = await rejection(client.authorize({ agentId, principalId: 'u', scopes: ['a'] }));
    expect(err).toMatchObject({ status: 503, code: 'SERVICE_UNAVAILABLE', retryable: true });
    expect(h.control.calls.filter((c) => c.path === '/v1/authorize')).toHaveLength(3);
    expect(h.sleeps).toHaveLength(2);
  });

  it('contract: network errors are retried for a call safe to repeat; when they persist → NETWORK_ERROR (status 0), retryable', async () => {
    const { grantToken } = await issueGrant(h, agentId);
    let attempts = 0;
    const flaky = h.clientWith({
      fetch: async (input, init) => {
        attempts += 1;
        if (attempts <= 2) throw new TypeError('Network connection lost.');
        return h.fakeFetch(input, init);
      },
    });
    await expect(flaky.grants.verify(grantToken)).resolves.toMatchObject({ active: true });
    expect(attempts).toBe(3);

    const down = h.clientWith({ maxRetries: 1, fetch: async () => Promise.reject(new TypeError('connect ECONNREFUSED')) });
    const err = await rejection(down.grants.verify(grantToken));
    expect(err).toMatchObject({ status: 0, code: 'NETWORK_ERROR', retryable: true, outcomeUnknown: true });
    expect(err.cause).toBeInstanceOf(TypeError);
  });

  it('contract: Grantex ignores Idempotency-Key, so none is sent; a 503 refresh (not done) is retried', async () => {
    const first = await issueGrant(h, agentId);
    h.control.failNext({ status: 503, path: '/v1/token/refresh' });
    await h.client.tokens.refresh({ refreshToken: first.refreshToken, agentId });
    const attempts = h.control.calls.filter((c) => c.path === '/v1/token/refresh');
    expect(attempts).toHaveLength(2);
    expect(attempts[0]).toMatchObject({ status: 503, injected: true });
    expect(attempts[1]).toMatchObject({ injected: false });
    expect(attempts[1]!.status).toBeLessThan(300);
    expect(attempts.map((c) => c.headers.idempotencyKey)).toEqual([undefined, undefined]);
  });

  it('parseRetryAfter: delay-seconds, HTTP-date, garbage', () => {
    const now = Date.parse('2026-04-01T00:00:00Z');
    expect(parseRetryAfter('2', now)).toBe(2000);
    expect(parseRetryAfter(' 0 ', now)).toBe(0);
    expect(parseRetryAfter('Wed, 01 Apr 2026 00:00:10 GMT', now)).toBe(10_000);
    expect(parseRetryAfter('Tue, 31 Mar 2026 00:00:00 GMT', now)).toBe(0); // in the past
    expect(parseRetryAfter('Wednesday, 01-Apr-26 00:00:05 GMT', now)).toBe(5000); // RFC 850
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter('-1', now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
  });
});

describe('Grantex client: timeouts and redirects', () => {
  it('a fetch that never resolves fails with TIMEOUT after timeoutMs (per attempt, retried)', async () => {
    let attempts = 0;
    const client = createGrantexClient({
      baseUrl: BASE_URL,
      apiKey: API_KEY,
      timeoutMs: 30,
      maxRetries: 1,
      sleep: async () => undefined,
      fetch: () => {
        attempts += 1;
        return new Promise<Response>(() => undefined); // ignores the signal, never settles
      },
    });
    const started = Date.now();
    const err = await rejection(client.grants.verify('a.b.c'));
    expect(err).toMatchObject({ status: 0, code: 'TIMEOUT', retryable: true, message: 'Grantex grants.verify failed: timed out' });
    expect(attempts).toBe(2);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('the per-attempt AbortSignal reaches fetch and is aborted on timeout', async () => {
    let seen: AbortSignal | undefined;
    const client = createGrantexClient({
      baseUrl: BASE_URL,
      apiKey: API_KEY,
      timeoutMs: 20,
      maxRetries: 0,
      fetch: (_input, init) =>
        new Promise<Response>((_resolve, reject) => {
          seen = init?.signal ?? undefined;
          seen?.addEventListener('abort', () => reject(seen?.reason instanceof Error ? seen.reason : new Error('aborted')));
        }),
    });
    await expect(rejection(client.grants.revoke('grnt_1'))).resolves.toMatchObject({ code: 'TIMEOUT' });
    expect(seen?.aborted).toBe(true);
  });

  it('a response body that stalls times out too', async () => {
    const client = createGrantexClient({
      baseUrl: BASE_URL,
      apiKey: API_KEY,
      timeoutMs: 30,
      maxRetries: 0,
      fetch: async () => new Response(new ReadableStream({ pull: () => new Promise(() => undefined) }), { status: 200 }),
    });
    await expect(rejection(client.grants.verify('a.b.c'))).resolves.toMatchObject({ code: 'TIMEOUT' });
  });

  it('SSRF hygiene: redirects are not followed (redirect: "manual"); a 3xx → UNEXPECTED_REDIRECT, not retried', async () => {
    const inits: RequestInit[] = [];
    const client = createGrantexClient({
      baseUrl: BASE_URL,
      apiKey: API_KEY,
      sleep: async () => undefined,
      fetch: async (_input, init) => {
        inits.push(init ?? {});
        return new Response(null, { status: 307, headers: { Location: 'http://169.254.169.254/latest/meta-data' } });
      },
    });
    const err = await rejection(client.tokens.exchange({ code: 'c', agentId: 'a' }));
    expect(err).toMatchObject({ status: 307, code: 'UNEXPECTED_REDIRECT', retryable: false });
    expect(inits).toHaveLength(1);
    expect(inits[0]?.redirect).toBe('manual');
  });
});

describe('Grantex client: the API key never leaks', () => {
  const scenarios: [string, Partial<GrantexClientOptions>, (h: Harness) => void][] = [
    ['upstream message echoing the key', {}, (h) => h.control.failNext({ status: 401, message: `Invalid API key ${API_KEY}`, code: 'UNAUTHORIZED' })],
    ['upstream code/requestId echoing the key', {}, (h) => h.control.failNext({ status: 400, code: API_KEY, message: API_KEY })],
    [
      'network error naming the key',
      { fetch: async () => Promise.reject(new TypeError(`connect failed for Bearer ${API_KEY}`)), maxRetries: 0 },
      () => undefined,
    ],
    ['timeout', { fetch: () => new Promise<Response>(() => undefined), timeoutMs: 10, maxRetries: 0 }, () => undefined],
    ['redirect', { fetch: async () => new Response(null, { status: 302, headers: { Location: `https://x/?k=${API_KEY}` } }) }, () => undefined],
    ['bad response', { fetch: async () => new Response(`{"echo":"${API_KEY}"`, { status: 201 }) }, () => undefined],
  ];

  it.each(scenarios)('never in message, String(error), JSON or upstreamMessage: %s', async (_name, options, arrange) => {
    const h = harness({}, { maxRetries: 0, ...options });
    const { agentId } = h.control.registerAgent();
    arrange(h);
    const err = await rejection(h.client.authorize({ agentId, principalId: 'u', scopes: ['a'] }));
    for (const text of [
      err.message,
      String(err),
      err.stack ?? '',
      JSON.stringify(err),
      err.upstreamMessage ?? '',
      err.code,
      err.requestId ?? '',
      err.cause instanceof Error ? `${err.cause.name}: ${err.cause.message}` : JSON.stringify(err.cause ?? ''),
    ]) {
      expect(text).not.toContain(API_KEY);
    }
  });

  it('construction errors do not echo the key', () => {
    const secret = 'short-secret';
    expect(() => createGrantexClient({ baseUrl: BASE_URL, apiKey: secret })).toThrow(TypeError);
    try {
      createGrantexClient({ baseUrl: BASE_URL, apiKey: secret });
    } catch (err) {
      expect(String(err)).not.toContain(secret);
    }
  });
});

describe('Grantex client: transport and response shapes', () => {
  it('contract: every call sends Authorization: Bearer <key>, Accept: application/json and a JSON body', async () => {
    const requests: Request[] = [];
    const h = harness();
    const { agentId } = h.control.registerAgent();
    const client = h.clientWith({
      fetch: async (input, init) => {
        requests.push(new Request(input, init)); // a copy to inspect (the body is a string)
        return h.fake.app.fetch(new Request(input, init));
      },
    });
    const { grantId } = await client.tokens.exchange({ code: 'x', agentId }).catch(() => ({ grantId: 'grnt_none' }));
    await client.grants.revoke(grantId).catch(() => undefined);
    expect(requests).toHaveLength(2);
    for (const request of requests) {
      expect(request.headers.get('Authorization')).toBe(`Bearer ${API_KEY}`);
      expect(request.headers.get('Accept')).toBe('application/json');
    }
    expect(requests[0]?.method).toBe('POST');
    expect(requests[0]?.url).toBe(`${BASE_URL}/v1/token`);
    expect(requests[0]?.headers.get('Content-Type')).toBe('application/json');
    expect(await requests[0]?.json()).toEqual({ code: 'x', agentId });
    expect(requests[1]?.method).toBe('DELETE');
    expect(requests[1]?.url).toBe(`${BASE_URL}/v1/grants/grnt_none`);
    expect(requests[1]?.headers.has('Content-Type')).toBe(false);
  });

  it('a base URL path prefix is kept; ids are URL-encoded into paths', async () => {
    const urls: string[] = [];
    const client = createGrantexClient({
      baseUrl: 'https://gateway.example/grantex/',
      apiKey: API_KEY,
      fetch: async (input) => {
        urls.push(urlOf(input));
        return new Response(null, { status: 204 });
      },
    });
    await client.grants.revoke('grnt_a/../b');
    expect(urls).toEqual(['https://gateway.example/grantex/v1/grants/grnt_a%2F..%2Fb']);
  });

  const canned = (status: number, body: string) =>
    createGrantexClient({ baseUrl: BASE_URL, apiKey: API_KEY, maxRetries: 0, fetch: async () => new Response(body, { status }) });
  const goodToken = { grantToken: 'h.p.s', expiresAt: '2026-01-01T00:00:00.000Z', scopes: ['a'], refreshToken: 'ref_1', grantId: 'grnt_1' };

  it.each([
    ['missing grantToken', { ...goodToken, grantToken: undefined }],
    ['scopes not an array', { ...goodToken, scopes: 'a' }],
    ['scopes with a non-string', { ...goodToken, scopes: ['a', 1] }],
    ['grantId a number', { ...goodToken, grantId: 7 }],
    ['an array body', [goodToken]],
  ])('bad token response shape → BAD_RESPONSE: %s', async (_name, body) => {
    const err = await rejection(canned(201, JSON.stringify(body)).tokens.exchange({ code: 'c', agentId: 'a' }));
    expect(err).toMatchObject({ status: 201, code: 'BAD_RESPONSE', retryable: false });
  });

  it('bad authorize / verify / audit shapes and non-JSON success bodies → BAD_RESPONSE', async () => {
    const cases: [Promise<unknown>][] = [
      [canned(201, JSON.stringify({ authRequestId: 'areq_1', expiresAt: 'x' })).authorize({ agentId: 'a', principalId: 'p', scopes: ['s'] })],
      [
        canned(201, JSON.stringify({ authRequestId: 'areq_1', consentUrl: 'u', expiresAt: 'x', sandbox: 'yes' })).authorize({
          agentId: 'a',
          principalId: 'p',
          scopes: ['s'],
        }),
      ],
      [canned(200, JSON.stringify({ active: 'true' })).grants.verify('t')],
      [canned(200, JSON.stringify({ active: true })).grants.verify('t')],
      [canned(200, JSON.stringify({ active: false, reason: 5 })).grants.verify('t')],
      [canned(201, '"ok"').audit.log({ agentId: 'a', agentDid: 'd', grantId: 'g', principalId: 'p', action: 'x' })],
      [canned(201, '<html>ok</html>').tokens.refresh({ refreshToken: 'r', agentId: 'a' })],
      [canned(201, 'x'.repeat(1024 * 1024 + 1)).tokens.refresh({ refreshToken: 'r', agentId: 'a' })],
    ];
    for (const [promise] of cases) {
      await expect(rejection(promise)).resolves.toMatchObject({ code: 'BAD_RESPONSE', retryable: false });
    }
  });

  it('a valid verify response passes: {active: false} without a reason', async () => {
    await expect(canned(200, JSON.stringify({ active: false })).grants.verify('t')).resolves.toEqual({ active: false });
  });

  it('non-JSON error bodies (a proxy HTML page) → GrantexError HTTP_<status> without upstreamMessage', async () => {
    const h = harness({}, { maxRetries: 0 });
    const { agentId } = h.control.registerAgent();
    h.control.failNext({ status: 502, body: '<html><h1>502 Bad Gateway</h1></html>' });
    const err = await rejection(h.client.authorize({ agentId, principalId: 'u', scopes: ['a'] }));
    expect(err).toMatchObject({ status: 502, code: 'HTTP_502', retryable: true });
    expect(err.upstreamMessage).toBeUndefined();
    expect(err.requestId).toBeUndefined(); // no envelope, and the reference service sends no X-Request-Id
  });
});

describe('Grantex client: construction validation', () => {
  const base = { baseUrl: BASE_URL, apiKey: API_KEY };
  it.each([
    ['apiKey of 15 characters', { apiKey: 'x'.repeat(15) }, /apiKey must be a string of 16 to 512 characters/],
    ['apiKey of 513 characters', { apiKey: 'x'.repeat(513) }, /apiKey must be a string of 16 to 512 characters/],
    ['apiKey with a space', { apiKey: 'gx_test key 0000000' }, /visible ASCII/],
    ['apiKey with a newline', { apiKey: 'gx_test_key_0000000\n' }, /visible ASCII/],
    ['apiKey not a string', { apiKey: 12345678901234567 as unknown as string }, /apiKey/],
    ['baseUrl not a URL', { baseUrl: 'grantex.dev' }, /baseUrl must be an absolute URL/],
    ['baseUrl over http on a public host', { baseUrl: 'http://api.grantex.dev' }, /baseUrl must use https/],
    ['baseUrl over http on a lookalike host', { baseUrl: 'http://localhost.evil.example' }, /baseUrl must use https/],
    ['baseUrl with another scheme', { baseUrl: 'ftp://api.grantex.dev' }, /baseUrl must use https/],
    ['baseUrl with credentials', { baseUrl: 'https://user:pw@api.grantex.dev' }, /credentials/],
    ['baseUrl with a query', { baseUrl: 'https://api.grantex.dev/?a=1' }, /query or a fragment/],
    ['baseUrl with a fragment', { baseUrl: 'https://api.grantex.dev/#x' }, /query or a fragment/],
    ['timeoutMs 0', { timeoutMs: 0 }, /timeoutMs/],
    ['timeoutMs NaN', { timeoutMs: Number.NaN }, /timeoutMs/],
    ['maxRetries 1.5', { maxRetries: 1.5 }, /maxRetries/],
    ['maxRetries -1', { maxRetries: -1 }, /maxRetries/],
    ['maxRetries 11', { maxRetries: 11 }, /maxRetries/],
    ['retryBaseDelayMs -1', { retryBaseDelayMs: -1 }, /retryBaseDelayMs/],
    ['fetch not a function', { fetch: 'fetch' as unknown as typeof fetch }, /fetch must be a function/],
  ])('TypeError: %s', (_name, patch, message) => {
    expect(() => createGrantexClient({ ...base, ...patch })).toThrow(TypeError);
    expect(() => createGrantexClient({ ...base, ...patch })).toThrow(message);
  });

  it.each(['https://api.grantex.dev', 'https://api.grantex.dev/base/', 'http://localhost:8788', 'http://127.0.0.1:8788', 'http://[::1]:8788'])(
    'accepted base URL: %s',
    (baseUrl) => {
      expect(createGrantexClient({ ...base, baseUrl })).toHaveProperty('tokens.exchange');
    },
  );

  it('apiKey of exactly 16 and 512 characters is accepted', () => {
    expect(createGrantexClient({ ...base, apiKey: 'k'.repeat(16) })).toHaveProperty('authorize');
    expect(createGrantexClient({ ...base, apiKey: 'k'.repeat(512) })).toHaveProperty('authorize');
  });
});

describe('fake Grantex worker entry (wrangler dev -c test/fixtures/fake-grantex/wrangler.toml)', () => {
  const env = { FAKE_GRANTEX_API_KEYS: API_KEY, FAKE_GRANTEX_CONTROL: 'on' };
  const workerFetch =
    (env: Record<string, string>): typeof fetch =>
    async (input, init) =>
      fakeWorker.fetch(new Request(input, init), env, createExecutionContext());

  it('serves the Grantex API and the /__control/ API, which drive a full flow over fetch', async () => {
    const f = workerFetch(env);
    await f(`${BASE_URL}/__control/reset`, { method: 'POST' });
    const agent = (await (await f(`${BASE_URL}/__control/agents`, { method: 'POST', body: '{"name":"a"}' })).json()) as { agentId: string };
    expect(agent.agentId).toMatch(id('ag'));
    const client = createGrantexClient({ baseUrl: BASE_URL, apiKey: API_KEY, fetch: f });
    const auth = await client.authorize({ agentId: agent.agentId, principalId: 'u', scopes: ['a'] });
    const { code } = (await (await f(`${BASE_URL}/__control/approve/${auth.authRequestId}`, { method: 'POST' })).json()) as { code: string };
    const tokens = await client.tokens.exchange({ code, agentId: agent.agentId });
    await expect(client.grants.verify(tokens.grantToken)).resolves.toMatchObject({ active: true });
    const calls = (await (await f(`${BASE_URL}/__control/calls`)).json()) as { calls: { path: string }[] };
    expect(calls.calls.map((c) => c.path)).toEqual(['/v1/authorize', '/v1/token', '/v1/grants/verify']);
  });

  it('the control API is off unless FAKE_GRANTEX_CONTROL is "on"', async () => {
    const res = await workerFetch({ FAKE_GRANTEX_API_KEYS: API_KEY })(`${BASE_URL}/__control/calls`);
    expect(res.status).toBe(404);
  });
});

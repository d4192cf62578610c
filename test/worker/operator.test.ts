import { describe, expect, it } from 'vitest';
import { Hono } from 'hono';
import { env } from 'cloudflare:workers';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { createMcpAuth, type McpAuth } from '../../src/create-mcp-auth';
import type { AuditEvent } from '../../src/events';
import type { McpAuthOptions } from '../../src/options';
import type { ClientRecord } from '../../src/storage/client-store';
import { stateObjectName, stateObjectNames } from '../../src/storage/keys';
import { bearerCredentials, clientPageRequest, revocationRequest } from '../../src/routes/operator';
import { OAuthError } from '../../src/errors';
import { customPrincipal } from '../../src/principal/custom';
import { createFakeGrantex, FAKE_GRANTEX_API_KEY } from '../fixtures/fake-grantex/app';
import { GRANTEX, fakeGrantexAuthority } from './grantex-setup';
import { bindings } from './foundation-helpers';
import { call, consentForm, form, pkce } from './helpers';

const SECRET = 'operator-secret-0123456789-abcdefghijklmnop';
const REDIRECT = 'http://127.0.0.1:9999/callback';
const CONFIGURED: ClientRecord = {
  client_id: 'configured-client',
  client_id_issued_at: 0,
  redirect_uris: [REDIRECT],
  token_endpoint_auth_method: 'none',
  grant_types: ['authorization_code', 'refresh_token'],
  response_types: ['code'],
  application_type: 'native',
};

let issuerPort = 8900;
/** A fresh loopback issuer per test: its KV clients and Durable Object instances are its own. */
function operatorApp(extra: Partial<McpAuthOptions> = {}) {
  const issuer = `http://localhost:${(issuerPort += 1)}`;
  const resource = `${issuer}/mcp`;
  const auth: McpAuth = createMcpAuth({
    issuer,
    resources: [resource],
    scopes: ['mcp'],
    clients: [CONFIGURED],
    rateLimits: { enabled: false },
    log: false,
    operator: { secret: SECRET },
    ...extra,
  });
  const host = new Hono().route('/', auth.app);
  host.get('/mcp', auth.protect({ revocationCheckSeconds: 0 }), (c) => c.json({ sub: c.get('mcpGrant').sub }));
  const request = (path: string, init: RequestInit = {}) => host.fetch(new Request(new URL(path, issuer), { redirect: 'manual', ...init }), env);
  const operator = (path: string, init: RequestInit = {}, secret = SECRET) =>
    request(`/operator${path}`, {
      ...init,
      headers: { Authorization: `Bearer ${secret}`, ...(init.body ? { 'Content-Type': 'application/json' } : {}), ...(init.headers as Record<string, string>) },
    });
  const post = (path: string, values: Record<string, string>) =>
    request(path, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: form(values) });
  const register = async (name: string, method = 'none') => {
    const res = await request('/register', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({
        redirect_uris: [REDIRECT],
        token_endpoint_auth_method: method,
        grant_types: ['authorization_code', 'refresh_token'],
        client_name: name,
      }),
    });
    expect(res.status, await res.clone().text()).toBe(201);
    return (await res.json()) as { client_id: string; client_secret?: string };
  };
  /** Sign-in as `username` through the development sign-in, up to the code. */
  const codeFor = async (clientId: string, username: string) => {
    const { verifier, challenge } = await pkce();
    const query = form({
      response_type: 'code',
      client_id: clientId,
      redirect_uri: REDIRECT,
      code_challenge: challenge,
      code_challenge_method: 'S256',
      state: 's',
      resource,
    });
    const page = await request(`/authorize?${query}`);
    // A known principal in Grantex's sandbox: no consent page, the code comes back at once.
    if (page.status === 303) return { code: new URL(page.headers.get('Location')!).searchParams.get('code')!, verifier };
    const { request: consent, cookie } = await consentForm(page);
    const res = await request('/authorize', {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', Cookie: cookie, Origin: issuer },
      body: form({ request: consent, action: 'approve', username }),
    });
    expect(res.status).toBe(303);
    return { code: new URL(res.headers.get('Location')!).searchParams.get('code')!, verifier };
  };
  const redeem = (clientId: string, flow: { code: string; verifier: string }) =>
    post('/token', { grant_type: 'authorization_code', code: flow.code, code_verifier: flow.verifier, redirect_uri: REDIRECT, client_id: clientId, resource });
  const tokensFor = async (clientId: string, username: string) => {
    const res = await redeem(clientId, await codeFor(clientId, username));
    expect(res.status, await res.clone().text()).toBe(200);
    return (await res.json()) as { access_token: string; refresh_token: string };
  };
  const refresh = (clientId: string, refreshToken: string) => post('/token', { grant_type: 'refresh_token', refresh_token: refreshToken, client_id: clientId });
  return { issuer, auth, request, operator, register, codeFor, redeem, tokensFor, refresh };
}

async function expectError(res: Response, status: number, error: string) {
  expect(res.status).toBe(status);
  expect(res.headers.get('Cache-Control')).toBe('no-store');
  expect(((await res.json()) as { error: string }).error).toBe(error);
}

describe('operator API: existence and authentication', () => {
  it('does not exist without an operator secret (404), in the stand-alone worker either', async () => {
    const auth = createMcpAuth({ issuer: 'http://localhost:8899', resources: ['http://localhost:8899/mcp'], scopes: ['mcp'], log: false });
    const res = await auth.app.fetch(new Request('http://localhost:8899/operator/clients', { headers: { Authorization: `Bearer ${SECRET}` } }), env);
    expect(res.status).toBe(404);
    expect((await call('/operator/clients', { headers: { Authorization: `Bearer ${SECRET}` } })).status).toBe(404);
  });

  it('RFC 6750 section 3.1: no credentials is 401 with a bare Bearer challenge; a wrong secret is 401 invalid_token', async () => {
    const app = operatorApp();
    const bare = await app.request('/operator/clients');
    expect(bare.headers.get('WWW-Authenticate')).toBe('Bearer realm="operator"');
    await expectError(bare, 401, 'invalid_token');
    for (const secret of [SECRET.slice(0, -1), `${SECRET}x`, SECRET.toUpperCase(), '']) {
      const res = await app.operator('/clients', {}, secret);
      expect(res.headers.get('WWW-Authenticate')).toBe('Bearer realm="operator", error="invalid_token"');
      await expectError(res, 401, 'invalid_token');
    }
    expect((await app.request('/operator/clients', { headers: { Authorization: `Basic ${btoa(`x:${SECRET}`)}` } })).status).toBe(401);
  });

  it('bearerCredentials reads only a bounded Bearer header', () => {
    const table: [string | undefined, string | undefined][] = [
      [undefined, undefined],
      ['', undefined],
      ['Bearer', undefined],
      ['Bearer abc', 'abc'],
      ['bearer  abc ', 'abc'],
      ['Bearer a b', undefined],
      ['Basic abc', undefined],
      [`Bearer ${'a'.repeat(2000)}`, undefined],
    ];
    for (const [header, expected] of table) expect(bearerCredentials(header), String(header)).toBe(expected);
  });

  it('an operator secret shorter than 32 characters is refused at construction', () => {
    expect(() =>
      createMcpAuth({ issuer: 'http://localhost:8898', resources: ['http://localhost:8898/mcp'], scopes: ['mcp'], operator: { secret: 'short' } }),
    ).toThrow(/operator\.secret must be 32 to 512 characters/);
  });

  it('answers no-store JSON, refuses other methods (405) and bounds its input', async () => {
    const app = operatorApp();
    const listed = await app.operator('/clients');
    expect(listed.status).toBe(200);
    expect(listed.headers.get('Cache-Control')).toBe('no-store');
    expect(listed.headers.get('Access-Control-Allow-Origin')).toBeNull(); // not for browsers
    expect((await app.operator('/clients', { method: 'POST', body: '{}' })).status).toBe(405);
    expect((await app.operator('/keys/rotate')).status).toBe(405);
    await expectError(await app.operator('/grants/revoke', { method: 'POST', body: JSON.stringify({ sub: 'x'.repeat(1025) }) }), 400, 'invalid_request');
    await expectError(
      await app.operator('/grants/revoke', { method: 'POST', body: JSON.stringify({ sub: 'a' }), headers: { 'Content-Type': 'text/plain' } }),
      400,
      'invalid_request',
    );
    await expectError(
      await app.operator('/grants/revoke', { method: 'POST', body: JSON.stringify({ sub: 'a', pad: 'x'.repeat(20_000) }) }),
      413,
      'invalid_request',
    );
    await expectError(await app.operator('/clients?limit=0'), 400, 'invalid_request');
    await expectError(await app.operator('/clients?limit=101'), 400, 'invalid_request');
    expect(() => clientPageRequest(new URLSearchParams('limit=1e2'))).toThrow(OAuthError);
    expect(() => revocationRequest({ sub: 'a', cursor: 'not a cursor' })).toThrow(OAuthError);
    expect(revocationRequest({ sub: 'alice' })).toEqual({ sub: 'alice', after: '' });
  });

  it('is rate limited like the other endpoints (the "other" budget, per address), before the secret is checked', async () => {
    const app = operatorApp({ rateLimits: { other: { limit: 2, windowSeconds: 60 } }, clientAddress: { header: 'X-Test-Address' } });
    const headers = { 'X-Test-Address': '203.0.113.77' };
    expect((await app.operator('/clients', { headers })).status).toBe(200);
    expect((await app.operator('/clients', { headers }, 'wrong-secret')).status).toBe(401);
    await expectError(await app.operator('/clients', { headers }), 429, 'temporarily_unavailable');
  });
});

describe('operator API: clients', () => {
  it('lists registered clients without their secret hashes, configured clients first, in pages', async () => {
    const app = operatorApp();
    const a = await app.register('App A', 'client_secret_basic');
    const b = await app.register('App B');
    const all = (await (await app.operator('/clients')).json()) as { clients: Record<string, unknown>[]; cursor?: string };
    expect(all.cursor).toBeUndefined();
    expect(all.clients.map((c) => [c.client_id, c.source])).toEqual([
      ['configured-client', 'configuration'],
      ...[a.client_id, b.client_id].sort().map((id) => [id, 'store']),
    ]);
    for (const client of all.clients) expect(client).not.toHaveProperty('client_secret_hash');
    expect(JSON.stringify(all)).not.toContain(a.client_secret!);

    const first = (await (await app.operator('/clients?limit=1')).json()) as { clients: { client_id: string }[]; cursor?: string };
    expect(first.clients).toHaveLength(2); // the configured client, then one stored
    expect(first.cursor).toBeTruthy();
    const second = (await (await app.operator(`/clients?limit=1&cursor=${encodeURIComponent(first.cursor!)}`)).json()) as { clients: { client_id: string }[] };
    expect(second.clients).toHaveLength(1);
    expect([first.clients[1]!.client_id, second.clients[0]!.client_id].sort()).toEqual([a.client_id, b.client_id].sort());
  });

  it('deletes a registered client: its refresh token no longer works; a configured client is 409, an unknown one 404', async () => {
    const app = operatorApp();
    const client = await app.register('Doomed');
    const tokens = await app.tokensFor(client.client_id, 'alice');
    const deleted = await app.operator(`/clients?client_id=${encodeURIComponent(client.client_id)}`, { method: 'DELETE' });
    expect(deleted.status).toBe(200);
    expect(await deleted.json()).toEqual({ deleted: client.client_id });
    await expectError(await app.refresh(client.client_id, tokens.refresh_token), 401, 'invalid_client');
    await expectError(await app.operator(`/clients?client_id=${encodeURIComponent(client.client_id)}`, { method: 'DELETE' }), 404, 'not_found');
    await expectError(await app.operator('/clients?client_id=configured-client', { method: 'DELETE' }), 409, 'invalid_request');
    await expectError(await app.operator('/clients', { method: 'DELETE' }), 400, 'invalid_request');
    // Another issuer's client in the same KV namespace is not this issuer's to delete.
    const other = operatorApp();
    const foreign = await other.register('Foreign');
    await expectError(await app.operator(`/clients?client_id=${encodeURIComponent(foreign.client_id)}`, { method: 'DELETE' }), 404, 'not_found');
  });

  it('with a custom clientStore, listing says it cannot (501) rather than showing nothing', async () => {
    const app = operatorApp({ clientStore: { get: async () => undefined, put: async () => {} } });
    expect((await app.operator('/clients')).status).toBe(501);
  });
});

describe("operator API: revoke a user's grants", () => {
  it("ends every grant of the user (redeemed or not) and nobody else's: refresh, redemption and protect() refuse", async () => {
    const events: AuditEvent[] = [];
    const app = operatorApp({ onEvent: (event) => void events.push(event) });
    const client = await app.register('Shared');
    const alice1 = await app.tokensFor(client.client_id, 'alice');
    const alice2 = await app.tokensFor(client.client_id, 'alice');
    const pending = await app.codeFor(client.client_id, 'alice'); // approved, not yet redeemed
    const bob = await app.tokensFor(client.client_id, 'bob');
    const mcp = (token: string) => app.request('/mcp', { headers: { Authorization: `Bearer ${token}` } });
    expect((await mcp(alice1.access_token)).status).toBe(200);

    const res = await app.operator('/grants/revoke', { method: 'POST', body: JSON.stringify({ sub: 'alice' }) });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ sub: 'alice', revoked: 3 });
    // Each ended grant is an audit event with the operator as the reason.
    const revoked = events.filter((e) => e.type === 'token.revoked');
    expect(revoked).toHaveLength(3);
    for (const event of revoked) expect(event).toMatchObject({ sub: 'alice', clientId: client.client_id, reason: 'operator_request' });

    for (const tokens of [alice1, alice2]) {
      await expectError(await app.refresh(client.client_id, tokens.refresh_token), 400, 'invalid_grant');
      expect((await mcp(tokens.access_token)).status).toBe(401);
    }
    await expectError(await app.redeem(client.client_id, pending), 400, 'invalid_grant');
    expect((await mcp(bob.access_token)).status).toBe(200);
    expect((await app.refresh(client.client_id, bob.refresh_token)).status).toBe(200);
    // Done: the index is empty, a second call revokes nothing.
    expect(await (await app.operator('/grants/revoke', { method: 'POST', body: JSON.stringify({ sub: 'alice' }) })).json()).toEqual({
      sub: 'alice',
      revoked: 0,
    });
  });

  it('the user index pages by grant id and keeps a fresh id whose grant is not found yet (it may be being created)', async () => {
    const issuer = 'http://localhost:8897';
    const index = bindings.MCP_AUTH_STATE.get(bindings.MCP_AUTH_STATE.idFromName(stateObjectName(issuer, stateObjectNames.userGrants('dana'))));
    const t = 1_900_000_000; // the alarm (the last row's end) stays in the future
    for (const grantId of ['g-a', 'g-b', 'g-c']) await index.recordUserGrant({ grantId, endsBy: t + 1000, now: t });
    await index.recordUserGrant({ grantId: 'g-expired', endsBy: t + 1, now: t - 100 });
    expect(await index.userGrantIds({ limit: 2, after: '', now: t + 1 })).toEqual({ grantIds: ['g-a', 'g-b'], more: true });
    expect(await index.userGrantIds({ limit: 2, after: 'g-b', now: t + 1 })).toEqual({ grantIds: ['g-c'], more: false });
    await index.forgetUserGrants({ ended: ['g-a'], notFound: ['g-b', 'g-c'], recordedBefore: t });
    expect((await index.userGrantIds({ limit: 10, after: '', now: t + 1 })).grantIds).toEqual(['g-b', 'g-c']);
    await index.forgetUserGrants({ ended: [], notFound: ['g-b'], recordedBefore: t + 1 });
    expect((await index.userGrantIds({ limit: 10, after: '', now: t + 1 })).grantIds).toEqual(['g-c']);
  });

  it('Grantex mode: revoking a user also revokes each grant at Grantex (DELETE /v1/grants/{id})', async () => {
    const fake = createFakeGrantex({ sandbox: true, consentBaseUrl: GRANTEX, apiKeys: [FAKE_GRANTEX_API_KEY] });
    const agent = fake.control.registerAgent({ name: 'MCP gateway' });
    const app = operatorApp({
      scopes: ['mcp', 'offline_access'],
      principal: customPrincipal(() => ({ id: 'carol' })),
      authority: fakeGrantexAuthority(fake, agent.agentId),
    });
    const client = await app.register('Grantex client');
    const tokens = await app.tokensFor(client.client_id, 'carol');
    const upstreamGrantId = decodeJwt(tokens.access_token).grnt as string;
    expect(fake.control.grant(upstreamGrantId)?.status).toBe('active');

    const res = await app.operator('/grants/revoke', { method: 'POST', body: JSON.stringify({ sub: 'carol' }) });
    expect(await res.json()).toEqual({ sub: 'carol', revoked: 1, upstream_not_revoked: [] });
    expect(fake.control.grant(upstreamGrantId)?.status).toBe('revoked');
    expect((await app.request('/mcp', { headers: { Authorization: `Bearer ${tokens.access_token}` } })).status).toBe(401);
    await expectError(await app.operator('/keys/rotate', { method: 'POST' }), 409, 'invalid_request');
  });
});

describe('operator API: rotate the signing key', () => {
  const jwksKids = async (app: ReturnType<typeof operatorApp>) =>
    ((await (await app.request('/.well-known/jwks.json')).json()) as { keys: { kid: string }[] }).keys.map((k) => k.kid);

  it('promotes the published next key only once every JWKS cache has seen it (409 with Retry-After before; force overrides)', async () => {
    let now = 1_800_000_000;
    const app = operatorApp({ clock: () => now });
    const client = await app.register('Rotation');
    const before = await app.tokensFor(client.client_id, 'erin');
    const [oldCurrent, published] = await jwksKids(app);
    expect(decodeProtectedHeader(before.access_token).kid).toBe(oldCurrent);

    const early = await app.operator('/keys/rotate', { method: 'POST' });
    expect(early.headers.get('Retry-After')).toBe('600');
    await expectError(early, 409, 'invalid_request');
    expect(await jwksKids(app)).toEqual([oldCurrent, published]); // nothing changed

    now += 600;
    const res = await app.operator('/keys/rotate', { method: 'POST' });
    expect(res.status).toBe(200);
    const rotated = (await res.json()) as { current: string; next: string; published: { kid: string; status: string }[] };
    expect(rotated.current).toBe(published); // the key every verifier already had
    expect(rotated.published.map((k) => [k.kid, k.status])).toEqual([
      [oldCurrent, 'retired'],
      [published, 'current'],
      [rotated.next, 'next'],
    ]);
    // New tokens are signed with the promoted key at once; the old token still verifies.
    const after = await app.tokensFor(client.client_id, 'erin');
    expect(decodeProtectedHeader(after.access_token).kid).toBe(published);
    expect((await app.request('/mcp', { headers: { Authorization: `Bearer ${before.access_token}` } })).status).toBe(200);
    expect(await jwksKids(app)).toEqual([oldCurrent, published, rotated.next]);

    const forced = await app.operator('/keys/rotate', { method: 'POST', body: JSON.stringify({ force: true }) });
    expect(((await forced.json()) as { current: string }).current).toBe(rotated.next);
  });

  it('a key from SIGNING_PRIVATE_JWK (signing.privateJwk) is not rotated here (409)', async () => {
    const { privateKey } = (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify'])) as CryptoKeyPair;
    const jwk = (await crypto.subtle.exportKey('jwk', privateKey)) as JsonWebKey;
    const app = operatorApp({ signing: { privateJwk: jwk } });
    await expectError(await app.operator('/keys/rotate', { method: 'POST', body: JSON.stringify({ force: true }) }), 409, 'invalid_request');
    await expectError(await app.operator('/keys/rotate', { method: 'POST', body: JSON.stringify({ force: 'yes' }) }), 400, 'invalid_request');
  });
});

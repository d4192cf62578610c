import { beforeAll, describe, expect, it } from 'vitest';
import { runInDurableObject } from 'cloudflare:test';
import { createMcpAuth } from '../../src/create-mcp-auth';
import { customPrincipal } from '../../src/principal/custom';
import { KvClientStore, type ClientRecord, type ClientStore } from '../../src/storage/client-store';
import { issuerKey, kvKeys, stateObjectName, stateObjectNames } from '../../src/storage/keys';
import type { McpAuthState } from '../../src/storage/state-object';
import { ISSUER, RESOURCE, REDIRECT, basic, call, clientAuth, codeFor, exchangeCode, pkce, postForm, registerClient, tokensFor, urlOf } from './helpers';
import { bindings, expectOAuthError, postFormTo } from './foundation-helpers';

/** What an instance holds: its SQLite tables, its alarm and its database size. */
async function storageOf(stub: DurableObjectStub<McpAuthState>): Promise<{ tables: string[]; alarm: number | null; size: number }> {
  return runInDurableObject(stub, async (_instance, state) => ({
    tables: state.storage.sql
      .exec<{ name: string }>('SELECT name FROM sqlite_master')
      .toArray()
      .map((row) => row.name),
    alarm: await state.storage.getAlarm(),
    size: state.storage.sql.databaseSize,
  }));
}

let NOTHING: { tables: string[]; alarm: number | null; size: number };
beforeAll(async () => {
  // An instance nobody has called: no table, no alarm, an empty database.
  NOTHING = await storageOf(freshInstance());
  expect(NOTHING.tables).toEqual([]);
  expect(NOTHING.alarm).toBeNull();
});
let counter = 0;
/** A Durable Object instance nobody has used yet. */
function freshInstance(): DurableObjectStub<McpAuthState> {
  counter += 1;
  return bindings.MCP_AUTH_STATE.get(bindings.MCP_AUTH_STATE.idFromName(`storage-hygiene ${counter} ${crypto.randomUUID()}`));
}
/** The default worker's instance of a grant (its issuer's namespace). */
function grantInstance(grantId: string): DurableObjectStub<McpAuthState> {
  return bindings.MCP_AUTH_STATE.get(bindings.MCP_AUTH_STATE.idFromName(stateObjectName(ISSUER, stateObjectNames.grant(grantId))));
}
const unknownGrantId = () => crypto.randomUUID().replaceAll('-', '').slice(0, 22);

describe('Bounded identifiers: a client_id no store could hold is an unknown client, never a 5xx', () => {
  const overLong = 'a'.repeat(600);

  it('RFC 6749 §5.2: a 600-byte client_id is invalid_client (401) at /token, /introspect and /revoke, in the body or in Basic credentials', async () => {
    for (const path of ['/token', '/introspect', '/revoke']) {
      await expectOAuthError(await postForm(path, { grant_type: 'authorization_code', code: 'x', token: 'x', client_id: overLong }), 401, 'invalid_client');
      await expectOAuthError(
        await postForm(path, { grant_type: 'authorization_code', code: 'x', token: 'x' }, { Authorization: basic(overLong, 'secret') }),
        401,
        'invalid_client',
      );
    }
  });

  it('RFC 6749 §4.1.2.1: a 600-byte client_id at /authorize gets the error page (400), never a redirect or a 5xx', async () => {
    const query = new URLSearchParams({
      response_type: 'code',
      client_id: overLong,
      redirect_uri: REDIRECT,
      code_challenge: (await pkce()).challenge,
      code_challenge_method: 'S256',
      resource: RESOURCE,
    });
    const res = await call(`/authorize?${query}`);
    expect(res.status).toBe(400);
    expect(res.headers.get('Content-Type')).toMatch(/^text\/html/);
    expect(res.headers.get('Location')).toBeNull();
  });

  it('RFC 6749 Appendix A.1: a client_id outside 1-255 VSCHAR is unknown before any ClientStore call or metadata-document fetch', async () => {
    const asked: string[] = [];
    const fetched: string[] = [];
    const store: ClientStore = { get: async (id) => (asked.push(id), undefined), put: async () => {} };
    const auth = createMcpAuth({
      issuer: ISSUER,
      resources: [RESOURCE],
      scopes: ['mcp:tools:read'],
      principal: customPrincipal(() => ({ id: 'erin' })),
      clientStore: store,
      clientMetadataDocuments: {
        fetch: (async (input: RequestInfo | URL) => (fetched.push(urlOf(input)), new Response('{}', { status: 404 }))) as typeof fetch,
      },
      rateLimits: { enabled: false },
      log: false,
    });
    const refused = ['a'.repeat(256), `https://client.example.com/${'p'.repeat(300)}`, 'tab\tin-id', 'line\nbreak', 'caf\u00e9', '\u202eevil'];
    for (const clientId of refused) {
      await expectOAuthError(await postFormTo(auth.app, '/token', { grant_type: 'authorization_code', code: 'x', client_id: clientId }), 401, 'invalid_client');
    }
    expect(asked).toEqual([]);
    expect(fetched).toEqual([]);
    // The bound is exact: 255 visible characters (spaces included) are asked for.
    const longest = `${'a'.repeat(127)} ${'b'.repeat(127)}`;
    await expectOAuthError(await postFormTo(auth.app, '/token', { grant_type: 'authorization_code', code: 'x', client_id: longest }), 401, 'invalid_client');
    expect(asked).toEqual([longest]);
  });

  it('Workers KV (512-byte keys): KvClientStore answers an over-long client_id as unknown, never with a KV error', async () => {
    const store = new KvClientStore(bindings.MCP_AUTH_CLIENTS, ISSUER);
    await expect(store.get('a'.repeat(600))).resolves.toBeUndefined();
    await expect(store.get('')).resolves.toBeUndefined();
  });

  it('Workers KV (512-byte keys): every client key fits by construction, whatever the issuer; the builder refuses anything longer', async () => {
    const key = kvKeys.client(await issuerKey(`https://auth.example.com/${'t'.repeat(4000)}`), '~'.repeat(255));
    expect(new TextEncoder().encode(key).length).toBeLessThanOrEqual(512);
    expect(() => kvKeys.client('k', 'a'.repeat(256))).toThrow(RangeError);
  });

  it('RFC 6749 Appendix A.1: a configured client_id outside the bounds is refused at construction', () => {
    const client: ClientRecord = {
      client_id: 'x'.repeat(256),
      client_id_issued_at: 0,
      redirect_uris: [REDIRECT],
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code'],
      response_types: ['code'],
      application_type: 'native',
    };
    expect(() => createMcpAuth({ issuer: ISSUER, resources: [RESOURCE], scopes: ['a'], clients: [client], log: false })).toThrow(/client_id must be 1 to 255/);
  });
});

describe('Lookups never create storage: an unknown id leaves no instance behind', () => {
  const now = Math.floor(Date.now() / 1000);
  const lookups: [string, (stub: DurableObjectStub<McpAuthState>) => Promise<unknown>][] = [
    ['accessTokenStatus', (s) => s.accessTokenStatus('jti')],
    ['refreshTokenStatus', (s) => s.refreshTokenStatus('hash', now)],
    [
      'redeemAuthorizationCode',
      (s) =>
        s.redeemAuthorizationCode({
          codeHash: 'h',
          clientId: 'c',
          redirectUri: REDIRECT,
          verifierChallenge: 'v',
          resource: RESOURCE,
          now,
          accessTokenExpiresAt: now + 60,
        } as never),
    ],
    ['rotateRefreshToken', (s) => s.rotateRefreshToken({ presentedHash: 'h', newHash: 'n', clientId: 'c', now, accessTokenExpiresAt: now + 60 } as never)],
    ['revokeAccessToken', (s) => s.revokeAccessToken({ jti: 'j', exp: now + 60, clientId: 'c' })],
    ['revokeGrant', (s) => s.revokeGrant({ clientId: 'c', refreshTokenHash: 'h' })],
    ['pendingUpstreamAuthorization', (s) => s.pendingUpstreamAuthorization({ stateHash: 'h', now })],
    ['cancelUpstreamAuthorization', (s) => s.cancelUpstreamAuthorization({ stateHash: 'h', now })],
    ['completeUpstreamAuthorization', (s) => s.completeUpstreamAuthorization({ stateHash: 'h', codeHash: 'c', sealed: 's', codeExpiresAt: now + 60, now })],
    ['releaseAuthorizationCode', (s) => s.releaseAuthorizationCode()],
    ['attachUpstreamTokens', (s) => s.attachUpstreamTokens({ upstreamGrantId: 'u', upstreamExpiresAt: now + 60, refreshTokenHash: 'h', sealedRefresh: 's' })],
    ['rollbackRefreshRotation', (s) => s.rollbackRefreshRotation({ presentedHash: 'h', newHash: 'n' })],
    ['upstreamLink', (s) => s.upstreamLink()],
    ['unlinkUpstreamGrant', (s) => s.unlinkUpstreamGrant()],
  ];
  for (const [method, lookup] of lookups) {
    it(`RFC 6819 §4.4.1.11: ${method} on an unknown instance leaves it empty (no table, no alarm, no data)`, async () => {
      const stub = freshInstance();
      await lookup(stub);
      expect(await storageOf(stub)).toEqual(NOTHING);
    });
  }

  it('RFC 6749 §5.2: /token with a well-formed unknown code or refresh token is invalid_grant and leaves the grant instance empty', async () => {
    const client = await registerClient();
    const auth = clientAuth(client);
    const codeGrant = unknownGrantId();
    const refreshGrant = unknownGrantId();
    await expectOAuthError(
      await postForm(
        '/token',
        { grant_type: 'authorization_code', code: `${codeGrant}.secret`, code_verifier: 'v'.repeat(43), redirect_uri: REDIRECT, ...auth.body },
        auth.headers,
      ),
      400,
      'invalid_grant',
    );
    await expectOAuthError(
      await postForm('/token', { grant_type: 'refresh_token', refresh_token: `${refreshGrant}.secret`, ...auth.body }, auth.headers),
      400,
      'invalid_grant',
    );
    expect(await storageOf(grantInstance(codeGrant))).toEqual(NOTHING);
    expect(await storageOf(grantInstance(refreshGrant))).toEqual(NOTHING);
  });

  it('RFC 7662 §2.2, RFC 7009 §2.2: introspecting or revoking a well-formed unknown token leaves the grant instance empty', async () => {
    const client = await registerClient();
    const auth = clientAuth(client);
    const grantId = unknownGrantId();
    expect(await (await postForm('/introspect', { token: `${grantId}.secret`, ...auth.body }, auth.headers)).json()).toEqual({ active: false });
    expect((await postForm('/revoke', { token: `${grantId}.secret`, ...auth.body }, auth.headers)).status).toBe(200);
    expect(await storageOf(grantInstance(grantId))).toEqual(NOTHING);
  });
});

describe('Every instance that holds something expires', () => {
  it('OAuth 2.1 §4.1.2: a grant instance has an alarm from approval on, and nothing is left once it is revoked', async () => {
    const { flow, tokens } = await tokensFor();
    const instance = grantInstance(flow.code.split('.')[0]!);
    const held = await storageOf(instance);
    expect(held.tables).toContain('grant_record');
    expect(held.alarm).toBeGreaterThan(Date.now());
    const auth = clientAuth(flow.client);
    expect((await postForm('/revoke', { token: tokens.refresh_token!, ...auth.body }, auth.headers)).status).toBe(200);
    expect(await storageOf(instance)).toEqual(NOTHING);
  });

  it('OAuth 2.1 §4.1.2: an approved but never redeemed code has its grant deleted at the code expiry', async () => {
    const flow = await codeFor();
    const { alarm } = await storageOf(grantInstance(flow.code.split('.')[0]!));
    expect(alarm).toBeGreaterThan(Date.now());
    expect(alarm).toBeLessThanOrEqual(Date.now() + 600_000 + 5_000);
    expect((await exchangeCode(flow)).status).toBe(200);
  });

  it('RFC 6819 §4.4.1.11: a rate-limit bucket has an alarm after an allowed hit and still after a denied one', async () => {
    const stub = freshInstance();
    const hit = () => stub.hitRateLimit({ limit: 1, windowSeconds: 60, now: Math.floor(Date.now() / 1000) });
    expect((await hit()).allowed).toBe(true);
    const first = await storageOf(stub);
    expect(first.alarm).toBeGreaterThan(Date.now());
    expect((await hit()).allowed).toBe(false);
    expect((await storageOf(stub)).alarm).toBe(first.alarm);
  });

  it('RFC 6819 §4.4.1.11: an upstream grant link has an alarm at its expiry', async () => {
    const stub = freshInstance();
    const expiresAt = Math.floor(Date.now() / 1000) + 3600;
    await stub.linkUpstreamGrant({ upstreamGrantId: 'u', grantId: unknownGrantId(), clientId: 'c', expiresAt });
    expect((await storageOf(stub)).alarm).toBe(expiresAt * 1000);
  });
});

import { runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import type { McpAuthState } from '../../src/storage/state-object';
import { SchemaVersions, type KindSchema } from '../../src/storage/state/schema';
import { generateSigningKey } from '../../src/tokens/signing-keys';
import { bindings } from './foundation-helpers';

/**
 * The tables as they were before schema versions were recorded, written here by hand (not taken
 * from the migrations), so an instance created by the earlier code can be rebuilt exactly.
 */
const UNVERSIONED = {
  grant: `
    CREATE TABLE grant_record (grant_id TEXT PRIMARY KEY, client_id TEXT NOT NULL, sub TEXT NOT NULL,
      scope TEXT NOT NULL, resource TEXT NOT NULL, redirect_uri TEXT NOT NULL, code_hash TEXT NOT NULL,
      code_challenge TEXT NOT NULL, code_expires_at INTEGER NOT NULL, code_redeemed_at INTEGER,
      refresh_expires_at INTEGER, created_at INTEGER NOT NULL, client_state TEXT, upstream_state_hash TEXT,
      upstream_browser_hash TEXT, upstream_sealed TEXT, upstream_grant_id TEXT);
    CREATE TABLE refresh_token (token_hash TEXT PRIMARY KEY, status TEXT NOT NULL, created_at INTEGER NOT NULL,
      upstream_sealed TEXT);
    CREATE TABLE revoked_jti (jti TEXT PRIMARY KEY, exp INTEGER NOT NULL);`,
  signingKeys: `CREATE TABLE signing_key (kid TEXT PRIMARY KEY, alg TEXT NOT NULL, private_jwk TEXT NOT NULL,
      public_jwk TEXT NOT NULL, status TEXT NOT NULL, created_at INTEGER NOT NULL, retire_after INTEGER);`,
  userGrants: `CREATE TABLE user_grant (grant_id TEXT PRIMARY KEY, recorded_at INTEGER NOT NULL, ends_by INTEGER NOT NULL);`,
};

// Real time: a write sets an alarm from these values, and a past alarm would delete the instance at once.
const NOW = Math.floor(Date.now() / 1000);
const RESOURCE = 'https://mcp.example.com/mcp';

let counter = 0;
function instance(): DurableObjectStub<McpAuthState> {
  counter += 1;
  return bindings.MCP_AUTH_STATE.get(bindings.MCP_AUTH_STATE.idFromName(`storage-migrations ${counter} ${crypto.randomUUID()}`));
}

type Rows = Record<string, SqlStorageValue>[];
const rows = (state: DurableObjectState, query: string): Rows => state.storage.sql.exec<Record<string, SqlStorageValue>>(query).toArray();
const columns = (state: DurableObjectState, table: string): string[] => rows(state, `PRAGMA table_info(${table})`).map((row) => row.name as string);
const tables = (state: DurableObjectState): string[] =>
  rows(state, `SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`).map((row) => row.name as string);
const versions = (state: DurableObjectState): Rows => rows(state, 'SELECT kind, version FROM schema_version ORDER BY kind');

/** An unversioned grant instance holding one grant row and refresh tokens, as the earlier code wrote them. */
async function unversionedGrant(
  stub: DurableObjectStub<McpAuthState>,
  grant: Record<string, SqlStorageValue>,
  refreshTokens: [hash: string, status: string, upstreamSealed: string | null][] = [],
): Promise<void> {
  await runInDurableObject(stub, (_instance, state) => {
    state.storage.sql.exec(UNVERSIONED.grant);
    const names = Object.keys(grant);
    state.storage.sql.exec(`INSERT INTO grant_record (${names.join(', ')}) VALUES (${names.map(() => '?').join(', ')})`, ...Object.values(grant));
    for (const [hash, status, sealed] of refreshTokens) state.storage.sql.exec('INSERT INTO refresh_token VALUES (?, ?, ?, ?)', hash, status, NOW - 10, sealed);
  });
}

const baseGrant = (grantId: string) => ({
  grant_id: grantId,
  client_id: 'client-1',
  sub: 'alice',
  scope: 'mcp:tools:read',
  resource: RESOURCE,
  redirect_uri: 'https://client.example.com/cb',
  code_hash: 'code-hash',
  code_challenge: 'challenge',
  code_expires_at: NOW + 600,
  code_redeemed_at: null,
  refresh_expires_at: null,
  created_at: NOW - 20,
  client_state: null,
  upstream_state_hash: null,
  upstream_browser_hash: null,
  upstream_sealed: null,
  upstream_grant_id: null,
});

describe('Versioned schema: an instance written before versions were recorded is migrated in place', () => {
  it('the signing-keys instance keeps its keys: same kids, no rotation, version 1 recorded, its table unchanged', async () => {
    const stub = instance();
    const next = await generateSigningKey('ES256', 'next', NOW - 100);
    const current = await generateSigningKey('ES256', 'current', NOW - 100);
    await runInDurableObject(stub, (_instance, state) => {
      state.storage.sql.exec(UNVERSIONED.signingKeys);
      for (const key of [current, next]) {
        state.storage.sql.exec(
          'INSERT INTO signing_key VALUES (?,?,?,?,?,?,?)',
          key.kid,
          key.alg,
          JSON.stringify(key.private_jwk),
          JSON.stringify(key.public_jwk),
          key.status,
          key.created_at,
          key.retire_after,
        );
      }
    });
    const keys = await runInDurableObject(stub, (object: McpAuthState) => object.signingKeys({ alg: 'ES256', now: NOW, retainSeconds: 960 }));
    expect(keys.map((k) => [k.kid, k.status])).toEqual(
      expect.arrayContaining([
        [current.kid, 'current'],
        [next.kid, 'next'],
      ]),
    );
    expect(keys).toHaveLength(2);
    expect(keys.find((k) => k.kid === current.kid)!.private_jwk).toEqual(current.private_jwk);
    await runInDurableObject(stub, (_instance, state) => {
      expect(versions(state)).toEqual([{ kind: 'signingKeys', version: 1 }]);
      expect(tables(state)).toEqual(['schema_version', 'signing_key']);
      expect(columns(state, 'signing_key')).toEqual(['kid', 'alg', 'private_jwk', 'public_jwk', 'status', 'created_at', 'retire_after']);
    });
  });

  it('a local grant: the upstream columns leave grant_record and refresh_token, the grant and its refresh token still answer', async () => {
    const stub = instance();
    const grantId = 'local-grant-0000001';
    await unversionedGrant(stub, { ...baseGrant(grantId), code_redeemed_at: NOW - 5, refresh_expires_at: NOW + 3600 }, [['refresh-1', 'active', null]]);
    const status = await runInDurableObject(stub, (object: McpAuthState) => object.refreshTokenStatus('refresh-1', NOW));
    expect(status).toEqual({ active: true, grant: { ...baseGrant(grantId), code_redeemed_at: NOW - 5, refresh_expires_at: NOW + 3600 } });
    await runInDurableObject(stub, (_instance, state) => {
      expect(versions(state)).toEqual([{ kind: 'grant', version: 2 }]);
      expect(columns(state, 'grant_record')).toEqual([
        'grant_id',
        'client_id',
        'sub',
        'scope',
        'resource',
        'redirect_uri',
        'code_hash',
        'code_challenge',
        'code_expires_at',
        'code_redeemed_at',
        'refresh_expires_at',
        'created_at',
      ]);
      expect(columns(state, 'refresh_token')).toEqual(['token_hash', 'status', 'created_at']);
      // A local grant has no upstream row.
      expect(rows(state, 'SELECT * FROM upstream_grant')).toEqual([]);
      expect(rows(state, 'SELECT * FROM upstream_refresh_token')).toEqual([]);
    });
  });

  it('a pending Grantex grant: its upstream values are copied to upstream_grant and its callback still matches', async () => {
    const stub = instance();
    const grantId = 'grantex-grant-00001';
    const upstream = {
      client_state: 'client-state',
      upstream_state_hash: 'state-hash',
      upstream_browser_hash: 'browser-hash',
      upstream_sealed: 'sealed-verifier',
    };
    await unversionedGrant(stub, { ...baseGrant(grantId), ...upstream });
    const pending = await runInDurableObject(stub, (object: McpAuthState) =>
      object.pendingUpstreamAuthorization({ stateHash: 'state-hash', browserHash: 'browser-hash', now: NOW }),
    );
    expect(pending).toEqual({ ...baseGrant(grantId), ...upstream });
    await runInDurableObject(stub, (_instance, state) => {
      expect(rows(state, 'SELECT * FROM upstream_grant')).toEqual([{ grant_id: grantId, ...upstream, upstream_grant_id: null }]);
      expect(columns(state, 'grant_record')).not.toContain('upstream_state_hash');
    });
    // The callback is still single use after the move: completing it clears the state and browser hashes.
    const completed = await runInDurableObject(stub, (object: McpAuthState) =>
      object.completeUpstreamAuthorization({
        stateHash: 'state-hash',
        browserHash: 'browser-hash',
        codeHash: 'our-code',
        sealed: 'sealed-code',
        codeExpiresAt: NOW + 60,
        now: NOW,
      }),
    );
    expect(completed).toMatchObject({
      code_hash: 'our-code',
      upstream_sealed: 'sealed-code',
      upstream_state_hash: null,
      upstream_browser_hash: null,
      client_state: 'client-state',
    });
    expect(
      await runInDurableObject(stub, (object: McpAuthState) =>
        object.pendingUpstreamAuthorization({ stateHash: 'state-hash', browserHash: 'browser-hash', now: NOW }),
      ),
    ).toBeUndefined();
  });

  it('a redeemed Grantex grant: the upstream grant id and the sealed upstream refresh token survive, and a rotation hands the sealed token back', async () => {
    const stub = instance();
    const grantId = 'grantex-grant-00002';
    await unversionedGrant(
      stub,
      { ...baseGrant(grantId), code_redeemed_at: NOW - 5, refresh_expires_at: NOW + 3600, client_state: 'cs', upstream_grant_id: 'grnt-1' },
      [
        ['refresh-old', 'rotated', 'sealed-old'],
        ['refresh-1', 'active', 'sealed-refresh'],
      ],
    );
    const rotated = await runInDurableObject(stub, (object: McpAuthState) =>
      object.rotateRefreshToken({
        presentedHash: 'refresh-1',
        newHash: 'refresh-2',
        clientId: 'client-1',
        requestedScopes: [],
        now: NOW,
        accessTokenExpiresAt: NOW + 900,
      }),
    );
    expect(rotated).toMatchObject({
      ok: true,
      upstreamSealed: 'sealed-refresh',
      grant: { grant_id: grantId, upstream_grant_id: 'grnt-1', client_state: 'cs' },
    });
    await runInDurableObject(stub, (_instance, state) => {
      expect(rows(state, 'SELECT * FROM upstream_refresh_token ORDER BY token_hash')).toEqual([
        { token_hash: 'refresh-1', upstream_sealed: 'sealed-refresh' },
        { token_hash: 'refresh-old', upstream_sealed: 'sealed-old' },
      ]);
    });
    // A rotated token is still recognised as reused after the move (RFC 9700 §4.14.2).
    const reused = await runInDurableObject(stub, (object: McpAuthState) =>
      object.rotateRefreshToken({
        presentedHash: 'refresh-old',
        newHash: 'refresh-3',
        clientId: 'client-1',
        requestedScopes: [],
        now: NOW,
        accessTokenExpiresAt: NOW + 900,
      }),
    );
    expect(reused).toMatchObject({ ok: false, replay: true });
  });

  it('the user index keeps its rows and records version 1', async () => {
    const stub = instance();
    await runInDurableObject(stub, (_instance, state) => {
      state.storage.sql.exec(UNVERSIONED.userGrants);
      state.storage.sql.exec('INSERT INTO user_grant VALUES (?, ?, ?)', 'grant-a', NOW - 10, NOW + 100);
    });
    const listed = await runInDurableObject(stub, (object: McpAuthState) => object.userGrantIds({ limit: 10, after: '', now: NOW }));
    expect(listed).toEqual({ grantIds: ['grant-a'], more: false });
    await runInDurableObject(stub, (_instance, state) => expect(versions(state)).toEqual([{ kind: 'userGrants', version: 1 }]));
  });

  it("RFC 6819 §4.4.1.11: a read of another kind on an instance that holds keys creates none of that kind's tables", async () => {
    const stub = instance();
    await runInDurableObject(stub, (object: McpAuthState) => object.signingKeys({ alg: 'ES256', now: NOW, retainSeconds: 960 }));
    await runInDurableObject(stub, async (object: McpAuthState, state) => {
      expect((await object.accessTokenStatus('jti')).active).toBe(false);
      expect(await object.upstreamLink()).toBeUndefined();
      expect(tables(state)).toEqual(['schema_version', 'signing_key']);
      expect(versions(state)).toEqual([{ kind: 'signingKeys', version: 1 }]);
    });
  });
});

describe('Migrations run once, in order, atomically (SchemaVersions)', () => {
  const logged: KindSchema = {
    kind: 'probe',
    firstTable: 'probe_log',
    migrations: ['CREATE TABLE probe_log (step INTEGER NOT NULL); INSERT INTO probe_log VALUES (1);', 'INSERT INTO probe_log VALUES (2);'],
  };
  const steps = (state: DurableObjectState) => rows(state, 'SELECT step FROM probe_log').map((row) => row.step);

  it('each migration runs once, in order, however often the kind is opened, and only the new ones run when the list grows', async () => {
    await runInDurableObject(instance(), (_instance, state) => {
      new SchemaVersions(state.storage).create(logged);
      new SchemaVersions(state.storage).create(logged);
      const schema = new SchemaVersions(state.storage);
      expect(schema.holds(logged)).toBe(true);
      expect(steps(state)).toEqual([1, 2]);
      new SchemaVersions(state.storage).create({ ...logged, migrations: [...logged.migrations, 'INSERT INTO probe_log VALUES (3);'] });
      expect(steps(state)).toEqual([1, 2, 3]);
      expect(rows(state, `SELECT version FROM schema_version WHERE kind = 'probe'`)).toEqual([{ version: 3 }]);
    });
  });

  it('a failing migration leaves the instance as it was: no table of the earlier steps, no version recorded', async () => {
    await runInDurableObject(instance(), (_instance, state) => {
      const failing: KindSchema = { ...logged, migrations: [...logged.migrations, 'INSERT INTO no_such_table VALUES (3);'] };
      expect(() => new SchemaVersions(state.storage).create(failing)).toThrow(/no_such_table/);
      expect(tables(state)).toEqual([]);
      // The same instance migrates cleanly once the list is right.
      new SchemaVersions(state.storage).create(logged);
      expect(steps(state)).toEqual([1, 2]);
    });
  });

  it('a failing later migration keeps the earlier version and its data', async () => {
    await runInDurableObject(instance(), (_instance, state) => {
      new SchemaVersions(state.storage).create(logged);
      const failing: KindSchema = {
        ...logged,
        migrations: [...logged.migrations, 'INSERT INTO probe_log VALUES (3); ALTER TABLE probe_log DROP COLUMN missing;'],
      };
      expect(() => new SchemaVersions(state.storage).create(failing)).toThrow();
      expect(steps(state)).toEqual([1, 2]);
      expect(rows(state, `SELECT version FROM schema_version WHERE kind = 'probe'`)).toEqual([{ version: 2 }]);
    });
  });

  it('an instance at a version newer than the code is refused, never misread', async () => {
    await runInDurableObject(instance(), (_instance, state) => {
      new SchemaVersions(state.storage).create({ ...logged, migrations: [...logged.migrations, 'INSERT INTO probe_log VALUES (3);'] });
      expect(() => new SchemaVersions(state.storage).holds(logged)).toThrow(/probe schema is at version 3, newer than this code's 2/);
    });
  });

  it('RFC 6819 §4.4.1.11: holds() on an instance without the kind creates nothing', async () => {
    await runInDurableObject(instance(), (_instance, state) => {
      expect(new SchemaVersions(state.storage).holds(logged)).toBe(false);
      expect(tables(state)).toEqual([]);
    });
  });
});

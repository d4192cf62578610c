import { DurableObject } from 'cloudflare:workers';
import type { GrantRecord, RefreshTokenRow } from '../grants/grant-record.js';
import { decideCodeRedemption, type CodeRedemptionInput, type Decision } from '../grants/authorization-code.js';
import { decideRefresh, type RefreshInput } from '../grants/refresh-token.js';
import { decideRateLimit, type RateLimitDecision } from '../rate-limit/limits.js';
import { timingSafeEqual } from '../crypto.js';
import { generateSigningKey, type SigningAlgorithm, type StoredSigningKey } from '../tokens/signing-keys.js';

/** What a redemption or refresh hands back: the grant as it now stands, or why not. */
export type GrantOutcome =
  | { ok: true; grant: GrantRecord; scopes: string[]; upstreamSealed?: string | null }
  | { ok: false; error: Extract<Decision, { outcome: 'reject' }>['error']; description: string; replay: boolean; grant?: GrantRecord };

export interface TokenStatus {
  active: boolean;
  grant?: GrantRecord;
}

const SCHEMA: Record<'grant' | 'upstreamLink' | 'rateLimit' | 'signingKeys' | 'consent' | 'userGrants', string> = {
  grant: `
    CREATE TABLE IF NOT EXISTS grant_record (grant_id TEXT PRIMARY KEY, client_id TEXT NOT NULL, sub TEXT NOT NULL,
      scope TEXT NOT NULL, resource TEXT NOT NULL, redirect_uri TEXT NOT NULL, code_hash TEXT NOT NULL,
      code_challenge TEXT NOT NULL, code_expires_at INTEGER NOT NULL, code_redeemed_at INTEGER,
      refresh_expires_at INTEGER, created_at INTEGER NOT NULL, client_state TEXT, upstream_state_hash TEXT,
      upstream_browser_hash TEXT, upstream_sealed TEXT, upstream_grant_id TEXT);
    CREATE TABLE IF NOT EXISTS refresh_token (token_hash TEXT PRIMARY KEY, status TEXT NOT NULL, created_at INTEGER NOT NULL,
      upstream_sealed TEXT);
    CREATE TABLE IF NOT EXISTS revoked_jti (jti TEXT PRIMARY KEY, exp INTEGER NOT NULL);`,
  upstreamLink: `CREATE TABLE IF NOT EXISTS upstream_link (upstream_grant_id TEXT PRIMARY KEY, grant_id TEXT NOT NULL,
      client_id TEXT NOT NULL, expires_at INTEGER NOT NULL);`,
  rateLimit: `CREATE TABLE IF NOT EXISTS rate_limit_window (window_start INTEGER PRIMARY KEY, count INTEGER NOT NULL);`,
  consent: `CREATE TABLE IF NOT EXISTS consent_use (decision TEXT NOT NULL, used_at INTEGER NOT NULL);`,
  userGrants: `CREATE TABLE IF NOT EXISTS user_grant (grant_id TEXT PRIMARY KEY, recorded_at INTEGER NOT NULL, ends_by INTEGER NOT NULL);`,
  signingKeys: `CREATE TABLE IF NOT EXISTS signing_key (kid TEXT PRIMARY KEY, alg TEXT NOT NULL, private_jwk TEXT NOT NULL,
      public_jwk TEXT NOT NULL, status TEXT NOT NULL, created_at INTEGER NOT NULL, retire_after INTEGER);`,
};

/**
 * The SQLite-backed Durable Object that holds all short-lived state. Each instance holds one
 * kind of thing, named by src/storage/keys.ts: a grant, a rate-limit bucket, a consent's use, or
 * the signing keys.
 * Every read-decide-write below runs without an await in between, so it is atomic: the
 * instance handles one such call at a time.
 */
export class McpAuthState extends DurableObject {
  private readonly schemas = new Set<keyof typeof SCHEMA>();

  private get sql(): SqlStorage {
    return this.ctx.storage.sql;
  }

  /** Creates the kind's tables. Only a method that is about to write calls it. */
  private use(kind: keyof typeof SCHEMA): void {
    if (this.schemas.has(kind)) return;
    this.sql.exec(SCHEMA[kind]);
    this.schemas.add(kind);
  }

  /**
   * Whether this instance already holds the kind's tables (read paths). A lookup of an unknown
   * id must leave nothing behind (RFC 6819 §4.4.1.11): no table, no row, no alarm, so an instance
   * that nobody wrote to costs no storage.
   */
  private holds(kind: keyof typeof SCHEMA): boolean {
    if (this.schemas.has(kind)) return true;
    const table = /CREATE TABLE IF NOT EXISTS (\w+)/.exec(SCHEMA[kind])![1]!;
    const exists = this.sql.exec(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?`, table).toArray().length > 0;
    if (exists) this.schemas.add(kind);
    return exists;
  }

  private grant(): GrantRecord | undefined {
    if (!this.holds('grant')) return undefined;
    return this.sql.exec<Record<string, SqlStorageValue>>('SELECT * FROM grant_record LIMIT 1').toArray()[0] as unknown as GrantRecord | undefined;
  }

  /** Deletes the grant and everything issued from it: every token of the grant becomes unknown. */
  private async destroy(): Promise<void> {
    this.schemas.clear();
    await this.ctx.storage.deleteAlarm();
    await this.ctx.storage.deleteAll();
  }

  // ---- grants -------------------------------------------------------------------------

  /** Stores a freshly approved grant with its (hashed) authorization code. */
  async createGrant(grant: GrantRecord): Promise<void> {
    this.use('grant');
    this.sql.exec(
      `INSERT INTO grant_record (grant_id, client_id, sub, scope, resource, redirect_uri, code_hash, code_challenge,
        code_expires_at, code_redeemed_at, refresh_expires_at, created_at, client_state, upstream_state_hash,
        upstream_browser_hash, upstream_sealed, upstream_grant_id) VALUES (?,?,?,?,?,?,?,?,?,NULL,NULL,?,?,?,?,?,NULL)`,
      grant.grant_id, grant.client_id, grant.sub, grant.scope, grant.resource, grant.redirect_uri, grant.code_hash,
      grant.code_challenge, grant.code_expires_at, grant.created_at, grant.client_state, grant.upstream_state_hash,
      grant.upstream_browser_hash, grant.upstream_sealed,
    );
    // An unredeemed code's grant is deleted when the code expires.
    await this.ctx.storage.setAlarm(grant.code_expires_at * 1000);
  }

  /**
   * OAuth 2.1 §4.1.3: redeems the code once. A second redemption revokes the grant and every
   * token issued from it. `refreshTokenHash` starts the refresh family when one is issued.
   */
  async redeemAuthorizationCode(
    input: CodeRedemptionInput & { refreshTokenHash?: string; refreshExpiresAt?: number; accessTokenExpiresAt: number },
  ): Promise<GrantOutcome> {
    const grant = this.grant();
    const decision = decideCodeRedemption(grant, input);
    if (decision.outcome === 'replay') {
      await this.destroy();
      return { ok: false, error: 'invalid_grant', description: 'The authorization code was already used; the grant is revoked.', replay: true, grant };
    }
    if (decision.outcome === 'reject') return { ok: false, error: decision.error, description: decision.description, replay: false };
    const refreshTokenHash = decision.refreshToken ? input.refreshTokenHash : undefined;
    const refreshExpiresAt = refreshTokenHash ? (input.refreshExpiresAt ?? null) : null;
    this.sql.exec('UPDATE grant_record SET code_redeemed_at = ?, refresh_expires_at = ?', input.now, refreshExpiresAt);
    if (refreshTokenHash) this.sql.exec(`INSERT INTO refresh_token VALUES (?, 'active', ?, NULL)`, refreshTokenHash, input.now);
    const redeemed = this.grant()!;
    // Keep the grant while any token of it lives: the refresh family, or the access token.
    await this.ctx.storage.setAlarm(Math.max(refreshExpiresAt ?? 0, input.accessTokenExpiresAt) * 1000);
    return { ok: true, grant: redeemed, scopes: redeemed.scope.split(' ').filter(Boolean) };
  }

  /** OAuth 2.1 §4.3.1, RFC 9700 §4.14.2: rotates the refresh token; reuse revokes the family. */
  async rotateRefreshToken(input: RefreshInput & { presentedHash: string; newHash: string; accessTokenExpiresAt: number }): Promise<GrantOutcome> {
    const grant = this.grant();
    const row = grant
      ? (this.sql.exec('SELECT * FROM refresh_token WHERE token_hash = ?', input.presentedHash).toArray()[0] as unknown as RefreshTokenRow | undefined)
      : undefined;
    const decision = decideRefresh(grant, row, input);
    if (decision.outcome === 'replay') {
      await this.destroy();
      return { ok: false, error: 'invalid_grant', description: 'The refresh token was already used; the grant is revoked.', replay: true, grant };
    }
    if (decision.outcome === 'reject') return { ok: false, error: decision.error, description: decision.description, replay: false };
    this.sql.exec(`UPDATE refresh_token SET status = 'rotated' WHERE token_hash = ?`, input.presentedHash);
    this.sql.exec(`INSERT INTO refresh_token VALUES (?, 'active', ?, NULL)`, input.newHash, input.now);
    await this.ctx.storage.setAlarm(Math.max(grant!.refresh_expires_at ?? 0, input.accessTokenExpiresAt) * 1000);
    return { ok: true, grant: grant!, scopes: 'scopes' in decision ? decision.scopes : [], upstreamSealed: row!.upstream_sealed };
  }

  // ---- upstream (Grantex) authorization -----------------------------------------------

  /**
   * The upstream consent came back (callback): single use, bound to the `state` we sent and to
   * the browser that started it. Stores our code's hash and the sealed upstream code.
   */
  async completeUpstreamAuthorization(input: { stateHash: string; browserHash?: string; codeHash: string; sealed: string; codeExpiresAt: number; now: number }): Promise<GrantRecord | undefined> {
    const grant = this.grant();
    if (!this.upstreamCallbackMatches(grant, input)) return undefined;
    this.sql.exec(
      'UPDATE grant_record SET code_hash = ?, upstream_sealed = ?, code_expires_at = ?, upstream_state_hash = NULL, upstream_browser_hash = NULL',
      input.codeHash, input.sealed, input.codeExpiresAt,
    );
    await this.ctx.storage.setAlarm(input.codeExpiresAt * 1000);
    return this.grant();
  }

  /** The pending upstream authorization that this callback may complete (read only). */
  async pendingUpstreamAuthorization(input: { stateHash: string; browserHash?: string; now: number }): Promise<GrantRecord | undefined> {
    const grant = this.grant();
    return this.upstreamCallbackMatches(grant, input) ? grant : undefined;
  }

  /** The user denied upstream (or it failed): the pending grant is dropped; returns where to answer. */
  async cancelUpstreamAuthorization(input: { stateHash: string; browserHash?: string; now: number }): Promise<GrantRecord | undefined> {
    const grant = this.grant();
    if (!this.upstreamCallbackMatches(grant, input)) return undefined;
    await this.destroy();
    return grant;
  }

  private upstreamCallbackMatches(grant: GrantRecord | undefined, input: { stateHash: string; browserHash?: string; now: number }): grant is GrantRecord {
    if (!grant?.upstream_state_hash || !timingSafeEqual(grant.upstream_state_hash, input.stateHash)) return false;
    if (grant.upstream_browser_hash && !(input.browserHash && timingSafeEqual(grant.upstream_browser_hash, input.browserHash))) return false;
    return input.now < grant.code_expires_at;
  }

  /** The upstream exchange failed transiently: the code may be redeemed again. */
  async releaseAuthorizationCode(): Promise<void> {
    if (!this.grant()) return;
    this.sql.exec('UPDATE grant_record SET code_redeemed_at = NULL, refresh_expires_at = NULL');
    this.sql.exec('DELETE FROM refresh_token');
  }

  /**
   * Records the upstream grant id and the sealed upstream refresh token of a refresh token of ours.
   * False when the tokens no longer belong to a live grant: the grant was ended (a replay, a
   * revocation) while Grantex was issuing them, or the refresh token they answer was already
   * rotated or revoked. The caller then revokes the upstream grant (no Grantex grant outlives ours).
   */
  async attachUpstreamTokens(input: { upstreamGrantId: string; upstreamExpiresAt: number; refreshTokenHash?: string; sealedRefresh?: string }): Promise<boolean> {
    const grant = this.grant();
    if (!grant || grant.code_redeemed_at === null) return false;
    if (grant.upstream_grant_id !== null && grant.upstream_grant_id !== input.upstreamGrantId) return false;
    if (input.refreshTokenHash && this.sql.exec(`SELECT 1 FROM refresh_token WHERE token_hash = ? AND status = 'active'`, input.refreshTokenHash).toArray().length === 0) return false;
    this.sql.exec('UPDATE grant_record SET upstream_grant_id = ?, upstream_sealed = NULL', input.upstreamGrantId);
    // Our refresh family cannot outlive the upstream grant: Grantex refresh tokens live min(30 days, the grant).
    this.sql.exec('UPDATE grant_record SET refresh_expires_at = MIN(refresh_expires_at, ?) WHERE refresh_expires_at IS NOT NULL', input.upstreamExpiresAt);
    if (input.refreshTokenHash)
      this.sql.exec('UPDATE refresh_token SET upstream_sealed = ? WHERE token_hash = ?', input.sealedRefresh ?? null, input.refreshTokenHash);
    return true;
  }

  /** The upstream refresh failed transiently: undo our rotation so the client can retry. */
  async rollbackRefreshRotation(input: { presentedHash: string; newHash: string }): Promise<void> {
    if (!this.grant()) return;
    this.sql.exec('DELETE FROM refresh_token WHERE token_hash = ?', input.newHash);
    this.sql.exec(`UPDATE refresh_token SET status = 'active' WHERE token_hash = ?`, input.presentedHash);
  }

  // ---- upstream grant index: Grantex grant id → our grant -----------------------------

  async linkUpstreamGrant(link: { upstreamGrantId: string; grantId: string; clientId: string; expiresAt: number }): Promise<void> {
    this.use('upstreamLink');
    this.sql.exec('INSERT OR REPLACE INTO upstream_link VALUES (?,?,?,?)', link.upstreamGrantId, link.grantId, link.clientId, link.expiresAt);
    await this.ctx.storage.setAlarm(link.expiresAt * 1000);
  }

  async upstreamLink(): Promise<{ grantId: string; clientId: string } | undefined> {
    if (!this.holds('upstreamLink')) return undefined;
    const row = this.sql.exec<{ grant_id: string; client_id: string }>('SELECT grant_id, client_id FROM upstream_link LIMIT 1').toArray()[0];
    return row ? { grantId: row.grant_id, clientId: row.client_id } : undefined;
  }

  async unlinkUpstreamGrant(): Promise<void> {
    await this.destroy();
  }

  /** RFC 7662: is the access token `jti` of this grant still active? */
  async accessTokenStatus(jti: string): Promise<TokenStatus> {
    const grant = this.grant();
    if (!grant || grant.code_redeemed_at === null) return { active: false };
    const revoked = this.sql.exec('SELECT 1 FROM revoked_jti WHERE jti = ?', jti).toArray().length > 0;
    return revoked ? { active: false } : { active: true, grant };
  }

  /** RFC 7662: an active (not rotated, not expired) refresh token of this grant. */
  async refreshTokenStatus(tokenHash: string, now: number): Promise<TokenStatus> {
    const grant = this.grant();
    if (!grant) return { active: false };
    const row = this.sql.exec(`SELECT 1 FROM refresh_token WHERE token_hash = ? AND status = 'active'`, tokenHash).toArray()[0];
    if (!row || grant.refresh_expires_at === null || now >= grant.refresh_expires_at) return { active: false };
    return { active: true, grant };
  }

  /** RFC 7009 §2.1: an access token joins the denylist until it expires. Only its client may. */
  async revokeAccessToken(input: { jti: string; exp: number; clientId: string }): Promise<GrantRecord | undefined> {
    const grant = this.grant();
    if (!grant || grant.client_id !== input.clientId) return undefined;
    this.sql.exec('INSERT OR IGNORE INTO revoked_jti VALUES (?, ?)', input.jti, input.exp);
    return grant;
  }

  /** RFC 7009 §2.1: revoking a refresh token revokes the grant and its access tokens. */
  async revokeGrant(input: { clientId: string; refreshTokenHash?: string }): Promise<GrantRecord | undefined> {
    const grant = this.grant();
    if (!grant || grant.client_id !== input.clientId) return undefined;
    if (input.refreshTokenHash) {
      const known = this.sql.exec('SELECT 1 FROM refresh_token WHERE token_hash = ?', input.refreshTokenHash).toArray().length > 0;
      if (!known) return undefined;
    }
    await this.destroy();
    return grant;
  }

  /**
   * The operator ends one grant of a user (README "Operate"): the grant and every token of it,
   * as a revocation of its refresh token would (RFC 7009 §2.1). Only a grant of that user.
   */
  async endUserGrant(input: { sub: string }): Promise<GrantRecord | undefined> {
    const grant = this.grant();
    if (!grant || grant.sub !== input.sub) return undefined;
    await this.destroy();
    return grant;
  }

  // ---- user index: a user's grant ids (operator revocation) ---------------------------

  /**
   * Records a grant of this instance's user before the grant exists, kept until `endsBy` (the
   * latest moment any token of the grant can still be valid). The index may name grants that
   * already ended; it never misses a live one. The alarm deletes the instance once every row is over.
   */
  async recordUserGrant(input: { grantId: string; endsBy: number; now: number }): Promise<void> {
    this.use('userGrants');
    this.sql.exec('DELETE FROM user_grant WHERE ends_by <= ?', input.now);
    this.sql.exec('INSERT OR REPLACE INTO user_grant VALUES (?, ?, ?)', input.grantId, input.now, input.endsBy);
    const last = this.sql.exec<{ ends_by: number }>('SELECT MAX(ends_by) AS ends_by FROM user_grant').toArray()[0]!.ends_by;
    await this.ctx.storage.setAlarm(last * 1000);
  }

  /** Up to `limit` grant ids of this user that may still be live, after `after` in id order; `more` when others follow. */
  async userGrantIds(input: { limit: number; after: string; now: number }): Promise<{ grantIds: string[]; more: boolean }> {
    if (!this.holds('userGrants')) return { grantIds: [], more: false };
    const rows = this.sql
      .exec<{ grant_id: string }>('SELECT grant_id FROM user_grant WHERE ends_by > ? AND grant_id > ? ORDER BY grant_id LIMIT ?', input.now, input.after, input.limit + 1)
      .toArray();
    return { grantIds: rows.slice(0, input.limit).map((row) => row.grant_id), more: rows.length > input.limit };
  }

  /**
   * Removes grant ids from the index: those that were ended, and those whose grant was not found
   * if recorded before `recordedBefore` (a fresher one may be a grant being created right now).
   */
  async forgetUserGrants(input: { ended: string[]; notFound: string[]; recordedBefore: number }): Promise<void> {
    if (!this.holds('userGrants')) return;
    for (const grantId of input.ended) this.sql.exec('DELETE FROM user_grant WHERE grant_id = ?', grantId);
    for (const grantId of input.notFound) this.sql.exec('DELETE FROM user_grant WHERE grant_id = ? AND recorded_at < ?', grantId, input.recordedBefore);
  }

  // ---- health -------------------------------------------------------------------------

  /** GET /healthz: the Durable Object answers (no storage touched). */
  async ping(): Promise<'ok'> {
    return 'ok';
  }

  // ---- rate limits --------------------------------------------------------------------

  /** Counts one request in the current fixed window; exact because calls are serialised here. */
  async hitRateLimit(input: { limit: number; windowSeconds: number; now: number }): Promise<RateLimitDecision> {
    const windowStart = Math.floor(input.now / input.windowSeconds) * input.windowSeconds;
    const row = this.holds('rateLimit')
      ? this.sql.exec<{ count: number }>('SELECT count FROM rate_limit_window WHERE window_start = ?', windowStart).toArray()[0]
      : undefined;
    const decision = decideRateLimit(row?.count ?? 0, { ...input, windowStart });
    // Only a counted hit writes; each new window's first hit (re)sets the alarm that deletes the bucket.
    if (decision.allowed) {
      this.use('rateLimit');
      this.sql.exec('INSERT INTO rate_limit_window VALUES (?, 1) ON CONFLICT (window_start) DO UPDATE SET count = count + 1', windowStart);
      if (!row) {
        this.sql.exec('DELETE FROM rate_limit_window WHERE window_start < ?', windowStart);
        await this.ctx.storage.setAlarm((windowStart + 2 * input.windowSeconds) * 1000);
      }
    }
    return decision;
  }

  // ---- consent requests ---------------------------------------------------------------

  /**
   * RFC 9700 §4.12: records the decision on one consent request (its signed form). True for the
   * first decision only, approve or deny; every later post of the same form is refused. The
   * record is deleted by the alarm when the form expires, so nothing is kept longer than that.
   */
  async useConsent(input: { decision: 'approve' | 'deny'; expiresAt: number; now: number }): Promise<boolean> {
    this.use('consent');
    if (this.sql.exec('SELECT 1 FROM consent_use LIMIT 1').toArray().length > 0) return false;
    this.sql.exec('INSERT INTO consent_use VALUES (?, ?)', input.decision, input.now);
    await this.ctx.storage.setAlarm(input.expiresAt * 1000);
    return true;
  }

  // ---- signing keys -------------------------------------------------------------------

  /**
   * The signing keys, created on first use: a current key and a published next key. When the
   * configured algorithm changes, the keys rotate so the new algorithm signs from now on.
   */
  async signingKeys(input: { alg: SigningAlgorithm; now: number; retainSeconds: number }): Promise<StoredSigningKey[]> {
    this.use('signingKeys');
    let keys = this.readSigningKeys(input.now);
    const current = keys.find((k) => k.status === 'current');
    if (!current || current.alg !== input.alg) {
      await this.rotateSigningKeys(input);
      keys = this.readSigningKeys(input.now);
    }
    return keys;
  }

  /** Promotes `next` to `current`, retires the old current, and publishes a new `next`. */
  async rotateSigningKeys(input: { alg: SigningAlgorithm; now: number; retainSeconds: number }): Promise<StoredSigningKey[]> {
    this.use('signingKeys');
    // Generate before touching storage so the read-modify-write below has no await in it.
    const fresh = [await generateSigningKey(input.alg, 'next', input.now), await generateSigningKey(input.alg, 'current', input.now)];
    return this.replaceSigningKeys(fresh, input);
  }

  /**
   * The operator's rotation: only when the `next` key has been published since
   * `nextPublishedBy` (every verifier that caches the JWKS has seen it), else nothing changes.
   * Check and rotation run with no await in between, so two rotations never promote a key twice.
   */
  async rotatePublishedSigningKey(input: { alg: SigningAlgorithm; now: number; retainSeconds: number; nextPublishedBy: number }): Promise<{ rotated: boolean; keys: StoredSigningKey[] }> {
    this.use('signingKeys');
    const fresh = [await generateSigningKey(input.alg, 'next', input.now), await generateSigningKey(input.alg, 'current', input.now)];
    const next = this.readSigningKeys(input.now).find((k) => k.status === 'next' && k.alg === input.alg);
    if (next && next.created_at > input.nextPublishedBy) return { rotated: false, keys: this.readSigningKeys(input.now) };
    return { rotated: true, keys: this.replaceSigningKeys(fresh, input) };
  }

  private replaceSigningKeys(fresh: StoredSigningKey[], input: { alg: SigningAlgorithm; now: number; retainSeconds: number }): StoredSigningKey[] {
    const keys = this.readSigningKeys(input.now);
    const next = keys.find((k) => k.status === 'next' && k.alg === input.alg);
    this.sql.exec(`UPDATE signing_key SET status = 'retired', retire_after = ? WHERE status = 'current'`, input.now + input.retainSeconds);
    this.sql.exec(`DELETE FROM signing_key WHERE status = 'next'`);
    const promoted = next ? { ...next, status: 'current' as const } : fresh[1]!;
    for (const key of [promoted, fresh[0]!]) {
      this.sql.exec(
        'INSERT INTO signing_key VALUES (?,?,?,?,?,?,?)',
        key.kid, key.alg, JSON.stringify(key.private_jwk), JSON.stringify(key.public_jwk), key.status, key.created_at, key.retire_after,
      );
    }
    return this.readSigningKeys(input.now);
  }

  private readSigningKeys(now: number): StoredSigningKey[] {
    this.sql.exec(`DELETE FROM signing_key WHERE status = 'retired' AND retire_after <= ?`, now);
    return this.sql
      .exec<Record<string, string | number | null>>('SELECT * FROM signing_key ORDER BY created_at')
      .toArray()
      .map((row) => ({
        kid: row.kid as string,
        alg: row.alg as SigningAlgorithm,
        private_jwk: JSON.parse(row.private_jwk as string),
        public_jwk: JSON.parse(row.public_jwk as string),
        status: row.status as StoredSigningKey['status'],
        created_at: row.created_at as number,
        retire_after: row.retire_after as number | null,
      }));
  }

  /** Grants, rate-limit buckets and consent records delete themselves once nothing in them can still be used. */
  override async alarm(): Promise<void> {
    const holdsKeys = this.sql.exec(`SELECT 1 FROM sqlite_master WHERE name = 'signing_key'`).toArray().length > 0;
    if (!holdsKeys) await this.destroy();
  }
}

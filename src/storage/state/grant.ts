import type { GrantRecord, RefreshTokenRow } from '../../grants/grant-record.js';
import { decideCodeRedemption } from '../../grants/authorization-code.js';
import { decideRefresh } from '../../grants/refresh-token.js';
import type { CodeRedemption, GrantOutcome, GrantStore, RefreshRotation, TokenStatus } from '../stores.js';
import type { InstanceStorage, KindSchema } from './schema.js';
import { insertUpstreamGrant, SELECT_GRANT, SELECT_REFRESH_TOKEN, UPSTREAM_GRANT_MIGRATION } from './upstream-grant.js';

/** Instance `grant:<grant_id>`: the grant, its refresh-token family, its access-token denylist. */
export const GRANT_SCHEMA: KindSchema = {
  kind: 'grant',
  firstTable: 'grant_record',
  migrations: [
    // 1: the schema from before versions were recorded.
    `CREATE TABLE IF NOT EXISTS grant_record (grant_id TEXT PRIMARY KEY, client_id TEXT NOT NULL, sub TEXT NOT NULL,
      scope TEXT NOT NULL, resource TEXT NOT NULL, redirect_uri TEXT NOT NULL, code_hash TEXT NOT NULL,
      code_challenge TEXT NOT NULL, code_expires_at INTEGER NOT NULL, code_redeemed_at INTEGER,
      refresh_expires_at INTEGER, created_at INTEGER NOT NULL, client_state TEXT, upstream_state_hash TEXT,
      upstream_browser_hash TEXT, upstream_sealed TEXT, upstream_grant_id TEXT);
    CREATE TABLE IF NOT EXISTS refresh_token (token_hash TEXT PRIMARY KEY, status TEXT NOT NULL, created_at INTEGER NOT NULL,
      upstream_sealed TEXT);
    CREATE TABLE IF NOT EXISTS revoked_jti (jti TEXT PRIMARY KEY, exp INTEGER NOT NULL);`,
    // 2: the Grantex columns move to the tables of ./upstream-grant.ts.
    UPSTREAM_GRANT_MIGRATION,
  ],
};

export class GrantState implements GrantStore {
  constructor(readonly instance: InstanceStorage) {}

  private get sql(): SqlStorage {
    return this.instance.sql;
  }

  /** The grant with its upstream fields; undefined (and nothing created) when there is none. */
  read(): GrantRecord | undefined {
    if (!this.instance.schema.holds(GRANT_SCHEMA)) return undefined;
    return this.sql.exec<Record<string, SqlStorageValue>>(SELECT_GRANT).toArray()[0] as unknown as GrantRecord | undefined;
  }

  /** Stores a freshly approved grant with its (hashed) authorization code. */
  async createGrant(grant: GrantRecord): Promise<void> {
    this.instance.schema.create(GRANT_SCHEMA);
    this.sql.exec(
      `INSERT INTO grant_record (grant_id, client_id, sub, scope, resource, redirect_uri, code_hash, code_challenge,
        code_expires_at, code_redeemed_at, refresh_expires_at, created_at) VALUES (?,?,?,?,?,?,?,?,?,NULL,NULL,?)`,
      grant.grant_id,
      grant.client_id,
      grant.sub,
      grant.scope,
      grant.resource,
      grant.redirect_uri,
      grant.code_hash,
      grant.code_challenge,
      grant.code_expires_at,
      grant.created_at,
    );
    insertUpstreamGrant(this.sql, { ...grant, upstream_grant_id: null });
    // An unredeemed code's grant is deleted when the code expires.
    await this.instance.storage.setAlarm(grant.code_expires_at * 1000);
  }

  /**
   * OAuth 2.1 §4.1.3: redeems the code once. A second redemption revokes the grant and every
   * token issued from it. `refreshTokenHash` starts the refresh family when one is issued.
   */
  async redeemAuthorizationCode(input: CodeRedemption): Promise<GrantOutcome> {
    const grant = this.read();
    const decision = decideCodeRedemption(grant, input);
    if (decision.outcome === 'replay') {
      await this.instance.destroy();
      return { ok: false, error: 'invalid_grant', description: 'The authorization code was already used; the grant is revoked.', replay: true, grant };
    }
    if (decision.outcome === 'reject') return { ok: false, error: decision.error, description: decision.description, replay: false };
    const refreshTokenHash = decision.refreshToken ? input.refreshTokenHash : undefined;
    const refreshExpiresAt = refreshTokenHash ? (input.refreshExpiresAt ?? null) : null;
    this.sql.exec('UPDATE grant_record SET code_redeemed_at = ?, refresh_expires_at = ?', input.now, refreshExpiresAt);
    if (refreshTokenHash) this.insertRefreshToken(refreshTokenHash, input.now);
    const redeemed = this.read()!;
    // Keep the grant while any token of it lives: the refresh family, or the access token.
    await this.instance.storage.setAlarm(Math.max(refreshExpiresAt ?? 0, input.accessTokenExpiresAt) * 1000);
    return { ok: true, grant: redeemed, scopes: redeemed.scope.split(' ').filter(Boolean) };
  }

  /** OAuth 2.1 §4.3.1, RFC 9700 §4.14.2: rotates the refresh token; reuse revokes the family. */
  async rotateRefreshToken(input: RefreshRotation): Promise<GrantOutcome> {
    const grant = this.read();
    const row = grant ? (this.sql.exec(SELECT_REFRESH_TOKEN, input.presentedHash).toArray()[0] as unknown as RefreshTokenRow | undefined) : undefined;
    const decision = decideRefresh(grant, row, input);
    if (decision.outcome === 'replay') {
      await this.instance.destroy();
      return { ok: false, error: 'invalid_grant', description: 'The refresh token was already used; the grant is revoked.', replay: true, grant };
    }
    if (decision.outcome === 'reject') return { ok: false, error: decision.error, description: decision.description, replay: false };
    this.sql.exec(`UPDATE refresh_token SET status = 'rotated' WHERE token_hash = ?`, input.presentedHash);
    this.insertRefreshToken(input.newHash, input.now);
    await this.instance.storage.setAlarm(Math.max(grant!.refresh_expires_at ?? 0, input.accessTokenExpiresAt) * 1000);
    return { ok: true, grant: grant!, scopes: 'scopes' in decision ? decision.scopes : [], upstreamSealed: row!.upstream_sealed };
  }

  private insertRefreshToken(tokenHash: string, now: number): void {
    this.sql.exec(`INSERT INTO refresh_token (token_hash, status, created_at) VALUES (?, 'active', ?)`, tokenHash, now);
  }

  /** RFC 7662: is the access token `jti` of this grant still active? */
  async accessTokenStatus(jti: string): Promise<TokenStatus> {
    const grant = this.read();
    if (!grant || grant.code_redeemed_at === null) return { active: false };
    const revoked = this.sql.exec('SELECT 1 FROM revoked_jti WHERE jti = ?', jti).toArray().length > 0;
    return revoked ? { active: false } : { active: true, grant };
  }

  /** RFC 7662: an active (not rotated, not expired) refresh token of this grant. */
  async refreshTokenStatus(tokenHash: string, now: number): Promise<TokenStatus> {
    const grant = this.read();
    if (!grant) return { active: false };
    const row = this.sql.exec(`SELECT 1 FROM refresh_token WHERE token_hash = ? AND status = 'active'`, tokenHash).toArray()[0];
    if (!row || grant.refresh_expires_at === null || now >= grant.refresh_expires_at) return { active: false };
    return { active: true, grant };
  }

  /** RFC 7009 §2.1: an access token joins the denylist until it expires. Only its client may. */
  async revokeAccessToken(input: { jti: string; exp: number; clientId: string }): Promise<GrantRecord | undefined> {
    const grant = this.read();
    if (!grant || grant.client_id !== input.clientId) return undefined;
    this.sql.exec('INSERT OR IGNORE INTO revoked_jti VALUES (?, ?)', input.jti, input.exp);
    return grant;
  }

  /** RFC 7009 §2.1: revoking a refresh token revokes the grant and its access tokens. */
  async revokeGrant(input: { clientId: string; refreshTokenHash?: string }): Promise<GrantRecord | undefined> {
    const grant = this.read();
    if (!grant || grant.client_id !== input.clientId) return undefined;
    if (input.refreshTokenHash) {
      const known = this.sql.exec('SELECT 1 FROM refresh_token WHERE token_hash = ?', input.refreshTokenHash).toArray().length > 0;
      if (!known) return undefined;
    }
    await this.instance.destroy();
    return grant;
  }

  /**
   * The operator ends one grant of a user (README "Operate"): the grant and every token of it,
   * as a revocation of its refresh token would (RFC 7009 §2.1). Only a grant of that user.
   */
  async endUserGrant(input: { sub: string }): Promise<GrantRecord | undefined> {
    const grant = this.read();
    if (!grant || grant.sub !== input.sub) return undefined;
    await this.instance.destroy();
    return grant;
  }
}

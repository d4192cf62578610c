import type { GrantRecord } from '../../grants/grant-record.js';
import { timingSafeEqual } from '../../crypto.js';
import type { UpstreamGrantStore } from '../stores.js';
import type { GrantState } from './grant.js';

/**
 * The Grantex part of a grant instance: the tables `upstream_grant` (one row, Grantex grants only)
 * and `upstream_refresh_token` (the sealed upstream refresh token of each refresh token of ours),
 * and the methods only the Grantex authority calls. The grant's own module (./grant.ts) joins
 * these columns into the `GrantRecord` it reads, so both modes see one shape.
 */

/**
 * Migration 2 of the grant kind: the upstream columns leave `grant_record` and `refresh_token` for
 * tables of their own, with their values copied.
 */
export const UPSTREAM_GRANT_MIGRATION = `
  CREATE TABLE upstream_grant (grant_id TEXT PRIMARY KEY, client_state TEXT, upstream_state_hash TEXT,
    upstream_browser_hash TEXT, upstream_sealed TEXT, upstream_grant_id TEXT);
  INSERT INTO upstream_grant SELECT grant_id, client_state, upstream_state_hash, upstream_browser_hash, upstream_sealed, upstream_grant_id
    FROM grant_record WHERE COALESCE(client_state, upstream_state_hash, upstream_browser_hash, upstream_sealed, upstream_grant_id) IS NOT NULL;
  ALTER TABLE grant_record DROP COLUMN client_state;
  ALTER TABLE grant_record DROP COLUMN upstream_state_hash;
  ALTER TABLE grant_record DROP COLUMN upstream_browser_hash;
  ALTER TABLE grant_record DROP COLUMN upstream_sealed;
  ALTER TABLE grant_record DROP COLUMN upstream_grant_id;
  CREATE TABLE upstream_refresh_token (token_hash TEXT PRIMARY KEY, upstream_sealed TEXT NOT NULL);
  INSERT INTO upstream_refresh_token SELECT token_hash, upstream_sealed FROM refresh_token WHERE upstream_sealed IS NOT NULL;
  ALTER TABLE refresh_token DROP COLUMN upstream_sealed;`;

/** The grant row joined with its upstream row: a `GrantRecord`. */
export const SELECT_GRANT = `SELECT grant_record.*, upstream_grant.client_state, upstream_grant.upstream_state_hash,
  upstream_grant.upstream_browser_hash, upstream_grant.upstream_sealed, upstream_grant.upstream_grant_id
  FROM grant_record LEFT JOIN upstream_grant USING (grant_id) LIMIT 1`;

/** One refresh token with its sealed upstream refresh token: a `RefreshTokenRow`. */
export const SELECT_REFRESH_TOKEN = `SELECT refresh_token.*, upstream_refresh_token.upstream_sealed
  FROM refresh_token LEFT JOIN upstream_refresh_token USING (token_hash) WHERE token_hash = ?`;

/** Stores the upstream fields of a new grant; a local grant (all null) has no row. */
export function insertUpstreamGrant(sql: SqlStorage, grant: GrantRecord): void {
  const fields = [grant.client_state, grant.upstream_state_hash, grant.upstream_browser_hash, grant.upstream_sealed, grant.upstream_grant_id] as const;
  if (fields.every((field) => field === null || field === undefined)) return;
  sql.exec('INSERT INTO upstream_grant VALUES (?,?,?,?,?,?)', grant.grant_id, ...fields.map((field) => field ?? null));
}

type CallbackMatch = { stateHash: string; browserHash?: string; now: number };

export class UpstreamGrantState implements UpstreamGrantStore {
  constructor(private readonly grant: GrantState) {}

  private get sql(): SqlStorage {
    return this.grant.instance.sql;
  }

  /**
   * The upstream consent came back (callback): single use, bound to the `state` we sent and to
   * the browser that started it. Stores our code's hash and the sealed upstream code.
   */
  async completeUpstreamAuthorization(input: CallbackMatch & { codeHash: string; sealed: string; codeExpiresAt: number }): Promise<GrantRecord | undefined> {
    const grant = this.grant.read();
    if (!callbackMatches(grant, input)) return undefined;
    this.sql.exec('UPDATE grant_record SET code_hash = ?, code_expires_at = ?', input.codeHash, input.codeExpiresAt);
    this.sql.exec('UPDATE upstream_grant SET upstream_sealed = ?, upstream_state_hash = NULL, upstream_browser_hash = NULL', input.sealed);
    await this.grant.instance.storage.setAlarm(input.codeExpiresAt * 1000);
    return this.grant.read();
  }

  /** The pending upstream authorization that this callback may complete (read only). */
  async pendingUpstreamAuthorization(input: CallbackMatch): Promise<GrantRecord | undefined> {
    const grant = this.grant.read();
    return callbackMatches(grant, input) ? grant : undefined;
  }

  /** The user denied upstream (or it failed): the pending grant is dropped; returns where to answer. */
  async cancelUpstreamAuthorization(input: CallbackMatch): Promise<GrantRecord | undefined> {
    const grant = this.grant.read();
    if (!callbackMatches(grant, input)) return undefined;
    await this.grant.instance.destroy();
    return grant;
  }

  /** The upstream exchange failed transiently: the code may be redeemed again. */
  async releaseAuthorizationCode(): Promise<void> {
    if (!this.grant.read()) return;
    this.sql.exec('UPDATE grant_record SET code_redeemed_at = NULL, refresh_expires_at = NULL');
    this.sql.exec('DELETE FROM refresh_token');
    this.sql.exec('DELETE FROM upstream_refresh_token');
  }

  /**
   * Records the upstream grant id and the sealed upstream refresh token of a refresh token of ours.
   * False when the tokens no longer belong to a live grant: the grant was ended (a replay, a
   * revocation) while Grantex was issuing them, or the refresh token they answer was already
   * rotated or revoked. The caller then revokes the upstream grant (no Grantex grant outlives ours).
   */
  async attachUpstreamTokens(input: {
    upstreamGrantId: string;
    upstreamExpiresAt: number;
    refreshTokenHash?: string;
    sealedRefresh?: string;
  }): Promise<boolean> {
    const grant = this.grant.read();
    if (!grant || grant.code_redeemed_at === null) return false;
    if (grant.upstream_grant_id !== null && grant.upstream_grant_id !== input.upstreamGrantId) return false;
    if (
      input.refreshTokenHash &&
      this.sql.exec(`SELECT 1 FROM refresh_token WHERE token_hash = ? AND status = 'active'`, input.refreshTokenHash).toArray().length === 0
    )
      return false;
    this.sql.exec(
      `INSERT INTO upstream_grant (grant_id, upstream_grant_id) VALUES (?, ?)
        ON CONFLICT (grant_id) DO UPDATE SET upstream_grant_id = excluded.upstream_grant_id, upstream_sealed = NULL`,
      grant.grant_id,
      input.upstreamGrantId,
    );
    // Our refresh family cannot outlive the upstream grant: Grantex refresh tokens live min(30 days, the grant).
    this.sql.exec('UPDATE grant_record SET refresh_expires_at = MIN(refresh_expires_at, ?) WHERE refresh_expires_at IS NOT NULL', input.upstreamExpiresAt);
    if (input.refreshTokenHash) {
      const sealed = input.sealedRefresh ?? null;
      if (sealed === null) this.sql.exec('DELETE FROM upstream_refresh_token WHERE token_hash = ?', input.refreshTokenHash);
      else this.sql.exec('INSERT OR REPLACE INTO upstream_refresh_token VALUES (?, ?)', input.refreshTokenHash, sealed);
    }
    return true;
  }

  /** The upstream refresh failed transiently: undo our rotation so the client can retry. */
  async rollbackRefreshRotation(input: { presentedHash: string; newHash: string }): Promise<void> {
    if (!this.grant.read()) return;
    this.sql.exec('DELETE FROM refresh_token WHERE token_hash = ?', input.newHash);
    this.sql.exec('DELETE FROM upstream_refresh_token WHERE token_hash = ?', input.newHash);
    this.sql.exec(`UPDATE refresh_token SET status = 'active' WHERE token_hash = ?`, input.presentedHash);
  }
}

function callbackMatches(grant: GrantRecord | undefined, input: CallbackMatch): grant is GrantRecord {
  if (!grant?.upstream_state_hash || !timingSafeEqual(grant.upstream_state_hash, input.stateHash)) return false;
  if (grant.upstream_browser_hash && !(input.browserHash && timingSafeEqual(grant.upstream_browser_hash, input.browserHash))) return false;
  return input.now < grant.code_expires_at;
}

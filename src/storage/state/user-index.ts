import type { UserGrantIndex } from '../stores.js';
import type { InstanceStorage, KindSchema } from './schema.js';

/** Instance `user:<sub>`: the operator's index of one user's grant ids. */
export const USER_INDEX_SCHEMA: KindSchema = {
  kind: 'userGrants',
  firstTable: 'user_grant',
  migrations: [
    // 1: the schema from before versions were recorded.
    `CREATE TABLE IF NOT EXISTS user_grant (grant_id TEXT PRIMARY KEY, recorded_at INTEGER NOT NULL, ends_by INTEGER NOT NULL);`,
  ],
};

export class UserIndexState implements UserGrantIndex {
  constructor(private readonly instance: InstanceStorage) {}

  /**
   * Records a grant of this instance's user before the grant exists, kept until `endsBy` (the
   * latest moment any token of the grant can still be valid). The index may name grants that
   * already ended; it never misses a live one. The alarm deletes the instance once every row is over.
   */
  async recordUserGrant(input: { grantId: string; endsBy: number; now: number }): Promise<void> {
    const { sql, schema } = this.instance;
    schema.create(USER_INDEX_SCHEMA);
    sql.exec('DELETE FROM user_grant WHERE ends_by <= ?', input.now);
    sql.exec('INSERT OR REPLACE INTO user_grant VALUES (?, ?, ?)', input.grantId, input.now, input.endsBy);
    const last = sql.exec<{ ends_by: number }>('SELECT MAX(ends_by) AS ends_by FROM user_grant').toArray()[0]!.ends_by;
    await this.instance.storage.setAlarm(last * 1000);
  }

  /** Up to `limit` grant ids of this user that may still be live, after `after` in id order; `more` when others follow. */
  async userGrantIds(input: { limit: number; after: string; now: number }): Promise<{ grantIds: string[]; more: boolean }> {
    if (!this.instance.schema.holds(USER_INDEX_SCHEMA)) return { grantIds: [], more: false };
    const rows = this.instance.sql
      .exec<{ grant_id: string }>(
        'SELECT grant_id FROM user_grant WHERE ends_by > ? AND grant_id > ? ORDER BY grant_id LIMIT ?',
        input.now,
        input.after,
        input.limit + 1,
      )
      .toArray();
    return { grantIds: rows.slice(0, input.limit).map((row) => row.grant_id), more: rows.length > input.limit };
  }

  /**
   * Removes grant ids from the index: those that were ended, and those whose grant was not found
   * if recorded before `recordedBefore` (a fresher one may be a grant being created right now).
   */
  async forgetUserGrants(input: { ended: string[]; notFound: string[]; recordedBefore: number }): Promise<void> {
    if (!this.instance.schema.holds(USER_INDEX_SCHEMA)) return;
    const sql = this.instance.sql;
    for (const grantId of input.ended) sql.exec('DELETE FROM user_grant WHERE grant_id = ?', grantId);
    for (const grantId of input.notFound) sql.exec('DELETE FROM user_grant WHERE grant_id = ? AND recorded_at < ?', grantId, input.recordedBefore);
  }
}

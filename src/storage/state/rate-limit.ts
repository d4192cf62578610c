import { decideRateLimit, type RateLimitDecision } from '../../rate-limit/limits.js';
import type { RateLimitBucket } from '../stores.js';
import type { InstanceStorage, KindSchema } from './schema.js';

/** Instance `ratelimit:<endpoint>:<key>`: one bucket's fixed windows. */
export const RATE_LIMIT_SCHEMA: KindSchema = {
  kind: 'rateLimit',
  firstTable: 'rate_limit_window',
  migrations: [
    // 1: the schema from before versions were recorded.
    `CREATE TABLE IF NOT EXISTS rate_limit_window (window_start INTEGER PRIMARY KEY, count INTEGER NOT NULL);`,
  ],
};

export class RateLimitState implements RateLimitBucket {
  constructor(private readonly instance: InstanceStorage) {}

  /** Counts one request in the current fixed window; exact because calls are serialised here. */
  async hitRateLimit(input: { limit: number; windowSeconds: number; now: number }): Promise<RateLimitDecision> {
    const { sql, schema } = this.instance;
    const windowStart = Math.floor(input.now / input.windowSeconds) * input.windowSeconds;
    const row = schema.holds(RATE_LIMIT_SCHEMA)
      ? sql.exec<{ count: number }>('SELECT count FROM rate_limit_window WHERE window_start = ?', windowStart).toArray()[0]
      : undefined;
    const decision = decideRateLimit(row?.count ?? 0, { ...input, windowStart });
    // Only a counted hit writes; each new window's first hit (re)sets the alarm that deletes the bucket.
    if (decision.allowed) {
      schema.create(RATE_LIMIT_SCHEMA);
      sql.exec('INSERT INTO rate_limit_window VALUES (?, 1) ON CONFLICT (window_start) DO UPDATE SET count = count + 1', windowStart);
      if (!row) {
        sql.exec('DELETE FROM rate_limit_window WHERE window_start < ?', windowStart);
        await this.instance.storage.setAlarm((windowStart + 2 * input.windowSeconds) * 1000);
      }
    }
    return decision;
  }
}

import type { ConsentUse } from '../stores.js';
import type { InstanceStorage, KindSchema } from './schema.js';

/** Instance `consent:<cid>`: the single use of one consent form. */
export const CONSENT_SCHEMA: KindSchema = {
  kind: 'consent',
  firstTable: 'consent_use',
  migrations: [
    // 1: the schema from before versions were recorded.
    `CREATE TABLE IF NOT EXISTS consent_use (decision TEXT NOT NULL, used_at INTEGER NOT NULL);`,
  ],
};

export class ConsentState implements ConsentUse {
  constructor(private readonly instance: InstanceStorage) {}

  /**
   * RFC 9700 §4.12: records the decision on one consent request (its signed form). True for the
   * first decision only, approve or deny; every later post of the same form is refused. The
   * record is deleted by the alarm when the form expires, so nothing is kept longer than that.
   */
  async useConsent(input: { decision: 'approve' | 'deny'; expiresAt: number; now: number }): Promise<boolean> {
    const { sql, schema } = this.instance;
    schema.create(CONSENT_SCHEMA);
    if (sql.exec('SELECT 1 FROM consent_use LIMIT 1').toArray().length > 0) return false;
    sql.exec('INSERT INTO consent_use VALUES (?, ?)', input.decision, input.now);
    await this.instance.storage.setAlarm(input.expiresAt * 1000);
    return true;
  }
}

import type { UpstreamLinkStore } from '../stores.js';
import type { InstanceStorage, KindSchema } from './schema.js';

/** Instance `upstream-grant:<upstream grant id>` (Grantex mode): the link to our grant. */
export const UPSTREAM_LINK_SCHEMA: KindSchema = {
  kind: 'upstreamLink',
  firstTable: 'upstream_link',
  migrations: [
    // 1: the schema from before versions were recorded.
    `CREATE TABLE IF NOT EXISTS upstream_link (upstream_grant_id TEXT PRIMARY KEY, grant_id TEXT NOT NULL,
      client_id TEXT NOT NULL, expires_at INTEGER NOT NULL);`,
  ],
};

export class UpstreamLinkState implements UpstreamLinkStore {
  constructor(private readonly instance: InstanceStorage) {}

  async linkUpstreamGrant(link: { upstreamGrantId: string; grantId: string; clientId: string; expiresAt: number }): Promise<void> {
    this.instance.schema.create(UPSTREAM_LINK_SCHEMA);
    this.instance.sql.exec('INSERT OR REPLACE INTO upstream_link VALUES (?,?,?,?)', link.upstreamGrantId, link.grantId, link.clientId, link.expiresAt);
    await this.instance.storage.setAlarm(link.expiresAt * 1000);
  }

  async upstreamLink(): Promise<{ grantId: string; clientId: string } | undefined> {
    if (!this.instance.schema.holds(UPSTREAM_LINK_SCHEMA)) return undefined;
    const row = this.instance.sql.exec<{ grant_id: string; client_id: string }>('SELECT grant_id, client_id FROM upstream_link LIMIT 1').toArray()[0];
    return row ? { grantId: row.grant_id, clientId: row.client_id } : undefined;
  }

  async unlinkUpstreamGrant(): Promise<void> {
    await this.instance.destroy();
  }
}

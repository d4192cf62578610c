/// <reference types="vite/client" />
import { runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import storageDoc from '../../docs/storage.md?raw';
import type { McpAuthState } from '../../src/storage/state-object';
import type { KindSchema } from '../../src/storage/state/schema';
import { GRANT_SCHEMA } from '../../src/storage/state/grant';
import { UPSTREAM_LINK_SCHEMA } from '../../src/storage/state/upstream-link';
import { RATE_LIMIT_SCHEMA } from '../../src/storage/state/rate-limit';
import { CONSENT_SCHEMA } from '../../src/storage/state/consent';
import { SIGNING_KEYS_SCHEMA } from '../../src/storage/state/signing-keys';
import { USER_INDEX_SCHEMA } from '../../src/storage/state/user-index';
import { bindings } from './foundation-helpers';

const NOW = Math.floor(Date.now() / 1000);

/** The first write of each kind, as its seam makes it; health writes nothing. */
const FIRST_WRITE: Record<string, { schema?: KindSchema; write: (object: McpAuthState) => Promise<unknown> }> = {
  grant: {
    schema: GRANT_SCHEMA,
    write: (object) =>
      object.createGrant({
        grant_id: 'schema-test-grant-01',
        client_id: 'c',
        sub: 's',
        scope: 'a',
        resource: 'https://mcp.example.com/mcp',
        redirect_uri: 'https://client.example.com/cb',
        code_hash: 'h',
        code_challenge: 'x',
        code_expires_at: NOW + 600,
        code_redeemed_at: null,
        refresh_expires_at: null,
        created_at: NOW,
        client_state: null,
        upstream_state_hash: null,
        upstream_browser_hash: null,
        upstream_sealed: null,
        upstream_grant_id: null,
      }),
  },
  upstreamLink: {
    schema: UPSTREAM_LINK_SCHEMA,
    write: (object) => object.linkUpstreamGrant({ upstreamGrantId: 'u', grantId: 'g', clientId: 'c', expiresAt: NOW + 600 }),
  },
  rateLimit: { schema: RATE_LIMIT_SCHEMA, write: (object) => object.hitRateLimit({ limit: 5, windowSeconds: 60, now: NOW }) },
  consent: { schema: CONSENT_SCHEMA, write: (object) => object.useConsent({ decision: 'approve', expiresAt: NOW + 600, now: NOW }) },
  signingKeys: { schema: SIGNING_KEYS_SCHEMA, write: (object) => object.signingKeys({ alg: 'ES256', now: NOW, retainSeconds: 960 }) },
  userGrants: { schema: USER_INDEX_SCHEMA, write: (object) => object.recordUserGrant({ grantId: 'g', endsBy: NOW + 600, now: NOW }) },
  health: { write: (object) => object.ping() },
};

/** The rows of the markdown table of docs/storage.md whose header is exactly `header`. */
function markdownTable(markdown: string, header: string[]): string[][] {
  const lines = markdown.split('\n');
  const start = lines.findIndex((line) => cells(line)?.join('|') === header.join('|'));
  expect(start, `docs/storage.md has a table | ${header.join(' | ')} |`).toBeGreaterThanOrEqual(0);
  const rows: string[][] = [];
  for (const line of lines.slice(start + 2)) {
    const row = cells(line);
    if (!row) break;
    rows.push(row);
  }
  return rows;
}
function cells(line: string): string[] | undefined {
  const trimmed = line.trim();
  if (!trimmed.startsWith('|')) return undefined;
  return trimmed
    .slice(1, -1)
    .split('|')
    .map((cell) => cell.trim());
}
const names = (cell: string) => [...cell.matchAll(/`([^`]+)`/g)].map((match) => match[1]!);

/** What docs/storage.md says: kind → table → columns, in order. */
function documentedSchema(): Map<string, Map<string, string[]>> {
  const schema = new Map<string, Map<string, string[]>>();
  for (const [kind, table, columns] of markdownTable(storageDoc, ['kind', 'table', 'columns'])) {
    const [kindName] = names(kind!);
    const [tableName] = names(table!);
    if (!schema.has(kindName!)) schema.set(kindName!, new Map());
    schema.get(kindName!)!.set(tableName!, names(columns!));
  }
  return schema;
}

function documentedVersions(): Map<string, string> {
  return new Map(markdownTable(storageDoc, ['kind', 'instance', 'version']).map(([kind, , version]) => [names(kind!)[0]!, version!]));
}

/** What a fresh instance holds after the kind's first write: table → columns, and the recorded versions. */
async function actualSchema(write: (object: McpAuthState) => Promise<unknown>): Promise<{ tables: Map<string, string[]>; versions: Record<string, number> }> {
  const stub = bindings.MCP_AUTH_STATE.get(bindings.MCP_AUTH_STATE.idFromName(`storage-schema ${crypto.randomUUID()}`));
  await runInDurableObject(stub, (object: McpAuthState) => write(object));
  return runInDurableObject(stub, (_object, state) => {
    const sql = state.storage.sql;
    const tables = new Map<string, string[]>();
    const names = sql
      .exec<{ name: string }>(
        `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name NOT LIKE '\\_cf\\_%' ESCAPE '\\' ORDER BY name`,
      )
      .toArray()
      .map((row) => row.name);
    for (const table of names)
      tables.set(
        table,
        sql
          .exec<{ name: string }>(`PRAGMA table_info(${table})`)
          .toArray()
          .map((row) => row.name),
      );
    const versions = tables.has('schema_version')
      ? Object.fromEntries(
          sql
            .exec<{ kind: string; version: number }>('SELECT kind, version FROM schema_version')
            .toArray()
            .map((row) => [row.kind, row.version]),
        )
      : {};
    return { tables, versions };
  });
}

describe('docs/storage.md matches the schema of every kind of instance', () => {
  it('the documented kinds are exactly the kinds the Durable Object serves', () => {
    expect([...documentedVersions().keys()].sort()).toEqual(Object.keys(FIRST_WRITE).sort());
    expect([...documentedSchema().keys()].sort()).toEqual(
      Object.keys(FIRST_WRITE)
        .filter((kind) => kind !== 'health')
        .sort(),
    );
  });

  for (const [kind, { schema, write }] of Object.entries(FIRST_WRITE)) {
    it(`${kind}: a fresh instance holds exactly the documented tables and columns, at the documented version`, async () => {
      const actual = await actualSchema(write);
      const documented = documentedSchema().get(kind) ?? new Map<string, string[]>();
      expect(Object.fromEntries([...actual.tables].sort())).toEqual(Object.fromEntries([...documented].sort()));
      if (!schema) {
        expect(actual.versions).toEqual({});
        return;
      }
      expect(schema.kind).toBe(kind);
      expect(actual.versions).toEqual({ [kind]: schema.migrations.length });
      expect(documentedVersions().get(kind)).toBe(String(schema.migrations.length));
    });
  }
});

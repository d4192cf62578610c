/**
 * Versioned schemas of the state Durable Object (docs/storage.md, "Schema versions").
 *
 * Each kind of instance has an ordered list of migrations; the instance records, per kind, how
 * many it has applied in `schema_version`. Migration 1 of every kind is the schema as it was
 * before versions were recorded, written with `CREATE TABLE IF NOT EXISTS`: on an instance from
 * that time it changes nothing and only records version 1, so old and new instances then follow
 * the same path. Every later migration is an explicit change (`ALTER TABLE`, a new table and a
 * copy): `CREATE TABLE IF NOT EXISTS` never adds a column to a table that already exists.
 * A released migration is never edited; a change is a new entry at the end.
 */
export interface KindSchema {
  /** The kind's name in `schema_version`. */
  readonly kind: string;
  /** The table whose presence marked the kind before versions were recorded (version 0). */
  readonly firstTable: string;
  /** Migration i (0-based) brings the kind from version i to i + 1. */
  readonly migrations: readonly string[];
}

const VERSION_TABLE = 'CREATE TABLE IF NOT EXISTS schema_version (kind TEXT PRIMARY KEY, version INTEGER NOT NULL)';

/**
 * The schema state of one instance. Pending migrations run once, in order, inside one
 * `transactionSync` with the version they reach: a migration that fails leaves the instance as it
 * was (no half-applied version), and no other call of the instance runs in between.
 */
export class SchemaVersions {
  /** Kinds known to be at their latest version in this instance (until `forget`). */
  private readonly latest = new Set<string>();

  constructor(private readonly storage: DurableObjectStorage) {}

  /** Brings the kind to its latest version, creating its tables. Only a method about to write calls it. */
  create(schema: KindSchema): void {
    if (this.latest.has(schema.kind)) return;
    this.migrate(schema, this.version(schema) ?? 0);
  }

  /**
   * Whether the instance holds the kind, migrated to its latest version when it does. Never
   * creates anything: a lookup of an unknown id leaves its instance empty (RFC 6819 §4.4.1.11).
   */
  holds(schema: KindSchema): boolean {
    if (this.latest.has(schema.kind)) return true;
    const version = this.version(schema);
    if (version === undefined) return false;
    this.migrate(schema, version);
    return true;
  }

  /** After the instance's storage was deleted. */
  forget(): void {
    this.latest.clear();
  }

  /** The kind's recorded version; 0 for tables from before versions; undefined when the instance holds none. */
  private version(schema: KindSchema): number | undefined {
    const sql = this.storage.sql;
    const tables = sql
      .exec<{ name: string }>(`SELECT name FROM sqlite_master WHERE type = 'table' AND name IN ('schema_version', ?)`, schema.firstTable)
      .toArray()
      .map((row) => row.name);
    if (tables.includes('schema_version')) {
      const row = sql.exec<{ version: number }>('SELECT version FROM schema_version WHERE kind = ?', schema.kind).toArray()[0];
      if (row) return row.version;
    }
    return tables.includes(schema.firstTable) ? 0 : undefined;
  }

  private migrate(schema: KindSchema, from: number): void {
    const to = schema.migrations.length;
    // Code older than the instance cannot know its tables: refuse rather than misread them.
    if (from > to) throw new Error(`mcp-auth-edge: this instance's ${schema.kind} schema is at version ${from}, newer than this code's ${to}`);
    if (from < to) {
      this.storage.transactionSync(() => {
        for (const migration of schema.migrations.slice(from)) this.storage.sql.exec(migration);
        this.storage.sql.exec(VERSION_TABLE);
        this.storage.sql.exec('INSERT INTO schema_version VALUES (?, ?) ON CONFLICT (kind) DO UPDATE SET version = excluded.version', schema.kind, to);
      });
    }
    this.latest.add(schema.kind);
  }
}

/** What every kind's module is built with: the instance's storage and its schema state. */
export interface InstanceStorage {
  readonly storage: DurableObjectStorage;
  readonly sql: SqlStorage;
  readonly schema: SchemaVersions;
  /** Deletes everything the instance holds, its alarm included. */
  destroy(): Promise<void>;
}

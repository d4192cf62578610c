import type { JWK } from 'jose';
import { generateSigningKey, type SigningAlgorithm, type StoredSigningKey } from '../../tokens/signing-keys.js';
import type { SigningKeysInput, SigningKeyStore } from '../stores.js';
import type { InstanceStorage, KindSchema } from './schema.js';

/** Instance `signing-keys`: the generated signing keys of one issuer; long-lived, never deleted by its alarm. */
export const SIGNING_KEYS_SCHEMA: KindSchema = {
  kind: 'signingKeys',
  firstTable: 'signing_key',
  migrations: [
    // 1: the schema from before versions were recorded.
    `CREATE TABLE IF NOT EXISTS signing_key (kid TEXT PRIMARY KEY, alg TEXT NOT NULL, private_jwk TEXT NOT NULL,
      public_jwk TEXT NOT NULL, status TEXT NOT NULL, created_at INTEGER NOT NULL, retire_after INTEGER);`,
  ],
};

export class SigningKeyState implements SigningKeyStore {
  constructor(private readonly instance: InstanceStorage) {}

  private get sql(): SqlStorage {
    return this.instance.sql;
  }

  /** Whether this instance holds signing keys (its alarm then deletes nothing). */
  holds(): boolean {
    return this.instance.schema.holds(SIGNING_KEYS_SCHEMA);
  }

  /**
   * The signing keys, created on first use: a current key and a published next key. When the
   * configured algorithm changes, the keys rotate so the new algorithm signs from now on.
   */
  async signingKeys(input: SigningKeysInput): Promise<StoredSigningKey[]> {
    this.instance.schema.create(SIGNING_KEYS_SCHEMA);
    let keys = this.read(input.now);
    const current = keys.find((k) => k.status === 'current');
    if (!current || current.alg !== input.alg) {
      await this.rotateSigningKeys(input);
      keys = this.read(input.now);
    }
    return keys;
  }

  /** Promotes `next` to `current`, retires the old current, and publishes a new `next`. */
  async rotateSigningKeys(input: SigningKeysInput): Promise<StoredSigningKey[]> {
    this.instance.schema.create(SIGNING_KEYS_SCHEMA);
    // Generate before touching storage so the read-modify-write below has no await in it.
    const fresh = await generatePair(input.alg, input.now);
    return this.replace(fresh, input);
  }

  /**
   * The operator's rotation: only when the `next` key has been published since
   * `nextPublishedBy` (every verifier that caches the JWKS has seen it), else nothing changes.
   * Check and rotation run with no await in between, so two rotations never promote a key twice.
   */
  async rotatePublishedSigningKey(input: SigningKeysInput & { nextPublishedBy: number }): Promise<{ rotated: boolean; keys: StoredSigningKey[] }> {
    this.instance.schema.create(SIGNING_KEYS_SCHEMA);
    const fresh = await generatePair(input.alg, input.now);
    const next = this.read(input.now).find((k) => k.status === 'next' && k.alg === input.alg);
    if (next && next.created_at > input.nextPublishedBy) return { rotated: false, keys: this.read(input.now) };
    return { rotated: true, keys: this.replace(fresh, input) };
  }

  private replace(fresh: [next: StoredSigningKey, current: StoredSigningKey], input: SigningKeysInput): StoredSigningKey[] {
    const keys = this.read(input.now);
    const next = keys.find((k) => k.status === 'next' && k.alg === input.alg);
    this.sql.exec(`UPDATE signing_key SET status = 'retired', retire_after = ? WHERE status = 'current'`, input.now + input.retainSeconds);
    this.sql.exec(`DELETE FROM signing_key WHERE status = 'next'`);
    const promoted = next ? { ...next, status: 'current' as const } : fresh[1];
    for (const key of [promoted, fresh[0]]) {
      this.sql.exec(
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
    return this.read(input.now);
  }

  private read(now: number): StoredSigningKey[] {
    this.sql.exec(`DELETE FROM signing_key WHERE status = 'retired' AND retire_after <= ?`, now);
    return this.sql
      .exec<Record<string, string | number | null>>('SELECT * FROM signing_key ORDER BY created_at')
      .toArray()
      .map((row) => ({
        kid: row.kid as string,
        alg: row.alg as SigningAlgorithm,
        private_jwk: JSON.parse(row.private_jwk as string) as JWK,
        public_jwk: JSON.parse(row.public_jwk as string) as JWK,
        status: row.status as StoredSigningKey['status'],
        created_at: row.created_at as number,
        retire_after: row.retire_after as number | null,
      }));
  }
}

async function generatePair(alg: SigningAlgorithm, now: number): Promise<[next: StoredSigningKey, current: StoredSigningKey]> {
  return [await generateSigningKey(alg, 'next', now), await generateSigningKey(alg, 'current', now)];
}

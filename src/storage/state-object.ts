import { DurableObject } from 'cloudflare:workers';
import type { GrantRecord } from '../grants/grant-record.js';
import type { RateLimitDecision } from '../rate-limit/limits.js';
import type { StoredSigningKey } from '../tokens/signing-keys.js';
import type {
  CodeRedemption,
  ConsentUse,
  GrantOutcome,
  GrantStore,
  HealthProbe,
  RateLimitBucket,
  RefreshRotation,
  SigningKeysInput,
  SigningKeyStore,
  TokenStatus,
  UpstreamGrantStore,
  UpstreamLinkStore,
  UserGrantIndex,
} from './stores.js';
import { SchemaVersions, type InstanceStorage } from './state/schema.js';
import { GrantState } from './state/grant.js';
import { UpstreamGrantState } from './state/upstream-grant.js';
import { UpstreamLinkState } from './state/upstream-link.js';
import { RateLimitState } from './state/rate-limit.js';
import { ConsentState } from './state/consent.js';
import { SigningKeyState } from './state/signing-keys.js';
import { UserIndexState } from './state/user-index.js';
import { HealthState } from './state/health.js';

export type { GrantOutcome, TokenStatus } from './stores.js';

/** The per-kind modules of one instance, built on first use over its storage. */
class Kinds {
  readonly schema: SchemaVersions;
  private readonly instance: InstanceStorage;
  private built: Partial<{
    grant: GrantState;
    upstreamGrant: UpstreamGrantState;
    upstreamLink: UpstreamLinkState;
    rateLimit: RateLimitState;
    consent: ConsentState;
    signingKeys: SigningKeyState;
    userIndex: UserIndexState;
    health: HealthState;
  }> = {};

  constructor(storage: DurableObjectStorage) {
    this.schema = new SchemaVersions(storage);
    const schema = this.schema;
    this.instance = {
      storage,
      sql: storage.sql,
      schema,
      async destroy() {
        schema.forget();
        await storage.deleteAlarm();
        await storage.deleteAll();
      },
    };
  }

  get grant(): GrantState {
    return (this.built.grant ??= new GrantState(this.instance));
  }
  get upstreamGrant(): UpstreamGrantState {
    return (this.built.upstreamGrant ??= new UpstreamGrantState(this.grant));
  }
  get upstreamLink(): UpstreamLinkState {
    return (this.built.upstreamLink ??= new UpstreamLinkState(this.instance));
  }
  get rateLimit(): RateLimitState {
    return (this.built.rateLimit ??= new RateLimitState(this.instance));
  }
  get consent(): ConsentState {
    return (this.built.consent ??= new ConsentState(this.instance));
  }
  get signingKeys(): SigningKeyState {
    return (this.built.signingKeys ??= new SigningKeyState(this.instance));
  }
  get userIndex(): UserIndexState {
    return (this.built.userIndex ??= new UserIndexState(this.instance));
  }
  get health(): HealthState {
    return (this.built.health ??= new HealthState());
  }
  destroy(): Promise<void> {
    return this.instance.destroy();
  }
}

/**
 * The SQLite-backed Durable Object that holds all short-lived state: the one class a host binds
 * and exports. Each instance holds one kind of thing, named by src/storage/keys.ts; each kind's
 * tables, migrations and decisions live in its module under src/storage/state/, and this class
 * only forwards each RPC method to its kind. The contracts are the interfaces of ./stores.ts.
 */
export class McpAuthState
  extends DurableObject
  implements GrantStore, UpstreamGrantStore, UpstreamLinkStore, RateLimitBucket, ConsentUse, SigningKeyStore, UserGrantIndex, HealthProbe
{
  #built: Kinds | undefined;

  /** The kinds' modules, built on first use (a JS-private method: never reachable over RPC). */
  #kinds(): Kinds {
    return (this.#built ??= new Kinds(this.ctx.storage));
  }

  // ---- grant:<grant_id> (./state/grant.ts) ---------------------------------------------
  createGrant(grant: GrantRecord): Promise<void> {
    return this.#kinds().grant.createGrant(grant);
  }
  redeemAuthorizationCode(input: CodeRedemption): Promise<GrantOutcome> {
    return this.#kinds().grant.redeemAuthorizationCode(input);
  }
  rotateRefreshToken(input: RefreshRotation): Promise<GrantOutcome> {
    return this.#kinds().grant.rotateRefreshToken(input);
  }
  accessTokenStatus(jti: string): Promise<TokenStatus> {
    return this.#kinds().grant.accessTokenStatus(jti);
  }
  refreshTokenStatus(tokenHash: string, now: number): Promise<TokenStatus> {
    return this.#kinds().grant.refreshTokenStatus(tokenHash, now);
  }
  revokeAccessToken(input: { jti: string; exp: number; clientId: string }): Promise<GrantRecord | undefined> {
    return this.#kinds().grant.revokeAccessToken(input);
  }
  revokeGrant(input: { clientId: string; refreshTokenHash?: string }): Promise<GrantRecord | undefined> {
    return this.#kinds().grant.revokeGrant(input);
  }
  endUserGrant(input: { sub: string }): Promise<GrantRecord | undefined> {
    return this.#kinds().grant.endUserGrant(input);
  }

  // ---- the Grantex part of a grant (./state/upstream-grant.ts) ----------------------------
  completeUpstreamAuthorization(input: Parameters<UpstreamGrantStore['completeUpstreamAuthorization']>[0]): Promise<GrantRecord | undefined> {
    return this.#kinds().upstreamGrant.completeUpstreamAuthorization(input);
  }
  pendingUpstreamAuthorization(input: Parameters<UpstreamGrantStore['pendingUpstreamAuthorization']>[0]): Promise<GrantRecord | undefined> {
    return this.#kinds().upstreamGrant.pendingUpstreamAuthorization(input);
  }
  cancelUpstreamAuthorization(input: Parameters<UpstreamGrantStore['cancelUpstreamAuthorization']>[0]): Promise<GrantRecord | undefined> {
    return this.#kinds().upstreamGrant.cancelUpstreamAuthorization(input);
  }
  releaseAuthorizationCode(): Promise<void> {
    return this.#kinds().upstreamGrant.releaseAuthorizationCode();
  }
  attachUpstreamTokens(input: Parameters<UpstreamGrantStore['attachUpstreamTokens']>[0]): Promise<boolean> {
    return this.#kinds().upstreamGrant.attachUpstreamTokens(input);
  }
  rollbackRefreshRotation(input: { presentedHash: string; newHash: string }): Promise<void> {
    return this.#kinds().upstreamGrant.rollbackRefreshRotation(input);
  }

  // ---- upstream-grant:<id> (./state/upstream-link.ts) -----------------------------------
  linkUpstreamGrant(link: Parameters<UpstreamLinkStore['linkUpstreamGrant']>[0]): Promise<void> {
    return this.#kinds().upstreamLink.linkUpstreamGrant(link);
  }
  upstreamLink(): Promise<{ grantId: string; clientId: string } | undefined> {
    return this.#kinds().upstreamLink.upstreamLink();
  }
  unlinkUpstreamGrant(): Promise<void> {
    return this.#kinds().upstreamLink.unlinkUpstreamGrant();
  }

  // ---- user:<sub> (./state/user-index.ts) -----------------------------------------------
  recordUserGrant(input: { grantId: string; endsBy: number; now: number }): Promise<void> {
    return this.#kinds().userIndex.recordUserGrant(input);
  }
  userGrantIds(input: { limit: number; after: string; now: number }): Promise<{ grantIds: string[]; more: boolean }> {
    return this.#kinds().userIndex.userGrantIds(input);
  }
  forgetUserGrants(input: { ended: string[]; notFound: string[]; recordedBefore: number }): Promise<void> {
    return this.#kinds().userIndex.forgetUserGrants(input);
  }

  // ---- health (./state/health.ts) -------------------------------------------------------
  ping(): Promise<'ok'> {
    return this.#kinds().health.ping();
  }

  // ---- ratelimit:… (./state/rate-limit.ts) ----------------------------------------------
  hitRateLimit(input: { limit: number; windowSeconds: number; now: number }): Promise<RateLimitDecision> {
    return this.#kinds().rateLimit.hitRateLimit(input);
  }

  // ---- consent:<cid> (./state/consent.ts) -----------------------------------------------
  useConsent(input: { decision: 'approve' | 'deny'; expiresAt: number; now: number }): Promise<boolean> {
    return this.#kinds().consent.useConsent(input);
  }

  // ---- signing-keys (./state/signing-keys.ts) -------------------------------------------
  signingKeys(input: SigningKeysInput): Promise<StoredSigningKey[]> {
    return this.#kinds().signingKeys.signingKeys(input);
  }
  rotateSigningKeys(input: SigningKeysInput): Promise<StoredSigningKey[]> {
    return this.#kinds().signingKeys.rotateSigningKeys(input);
  }
  rotatePublishedSigningKey(input: SigningKeysInput & { nextPublishedBy: number }): Promise<{ rotated: boolean; keys: StoredSigningKey[] }> {
    return this.#kinds().signingKeys.rotatePublishedSigningKey(input);
  }

  /** Every kind but the signing keys deletes itself once nothing in it can still be used. */
  override async alarm(): Promise<void> {
    const kinds = this.#kinds();
    if (!kinds.signingKeys.holds()) await kinds.destroy();
  }
}

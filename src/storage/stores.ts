import type { GrantRecord } from '../grants/grant-record.js';
import type { CodeRedemptionInput, Decision } from '../grants/authorization-code.js';
import type { RefreshInput } from '../grants/refresh-token.js';
import type { RateLimitDecision } from '../rate-limit/limits.js';
import type { SigningAlgorithm, StoredSigningKey } from '../tokens/signing-keys.js';

/**
 * The typed seams over the state Durable Object (docs/storage.md): one interface per kind of
 * instance. `Services` hands them out (src/services.ts); each is implemented by one module of
 * src/storage/state/ and reached over RPC, so no route sees the Durable Object itself.
 *
 * Shared atomicity contract: every method is one call into one instance, and a Durable Object
 * instance runs its calls one at a time. A method whose read-decide-write has no `await` in it
 * is atomic: no other call of the same instance sees or writes between its read and its write.
 * A method that says "deletes the instance" deletes every row and the alarm before it answers.
 * Lookups of an unknown id leave nothing behind (RFC 6819 §4.4.1.11): no table, no row, no alarm.
 */

/** What a redemption or refresh hands back: the grant as it now stands, or why not. */
export type GrantOutcome =
  | { ok: true; grant: GrantRecord; scopes: string[]; upstreamSealed?: string | null }
  | { ok: false; error: Extract<Decision, { outcome: 'reject' }>['error']; description: string; replay: boolean; grant?: GrantRecord };

export interface TokenStatus {
  active: boolean;
  grant?: GrantRecord;
}

export type CodeRedemption = CodeRedemptionInput & { refreshTokenHash?: string; refreshExpiresAt?: number; accessTokenExpiresAt: number };
export type RefreshRotation = RefreshInput & { presentedHash: string; newHash: string; accessTokenExpiresAt: number };

/**
 * One authorization grant (instance `grant:<grant_id>`): its code, its refresh-token family and
 * its access-token denylist.
 *
 * Atomicity: `redeemAuthorizationCode` and `rotateRefreshToken` read, decide (pure functions of
 * src/grants/) and write with no `await` in between, so of two concurrent redemptions of one
 * code, or two rotations of one refresh token, exactly one succeeds and the other is a replay
 * (OAuth 2.1 §4.1.3, RFC 9700 §4.14.2). A replay, `revokeGrant` and `endUserGrant` delete the
 * instance: every token of the grant then looks up as unknown. The statuses are reads.
 */
export interface GrantStore {
  /** Stores a freshly approved grant with its (hashed) code; an alarm deletes it when the code expires unredeemed. */
  createGrant(grant: GrantRecord): Promise<void>;
  /** OAuth 2.1 §4.1.3: redeems the code once; a second redemption revokes the grant. */
  redeemAuthorizationCode(input: CodeRedemption): Promise<GrantOutcome>;
  /** OAuth 2.1 §4.3.1, RFC 9700 §4.14.2: rotates the refresh token; reuse revokes the family. */
  rotateRefreshToken(input: RefreshRotation): Promise<GrantOutcome>;
  /** RFC 7662: is the access token `jti` of this grant still active? */
  accessTokenStatus(jti: string): Promise<TokenStatus>;
  /** RFC 7662: an active (not rotated, not expired) refresh token of this grant. */
  refreshTokenStatus(tokenHash: string, now: number): Promise<TokenStatus>;
  /** RFC 7009 §2.1: the access token joins the denylist until it expires. Only its client may. */
  revokeAccessToken(input: { jti: string; exp: number; clientId: string }): Promise<GrantRecord | undefined>;
  /** RFC 7009 §2.1: revoking a refresh token revokes the grant (deletes the instance). Only its client may. */
  revokeGrant(input: { clientId: string; refreshTokenHash?: string }): Promise<GrantRecord | undefined>;
  /** The operator ends one grant of a user (deletes the instance). Only a grant of that user. */
  endUserGrant(input: { sub: string }): Promise<GrantRecord | undefined>;
}

/**
 * The Grantex part of a grant instance (its own tables `upstream_grant` and
 * `upstream_refresh_token`, docs/storage.md). Grantex mode only.
 *
 * Atomicity: each method checks and writes with no `await` in between. The callback methods
 * match the `state` hash and the browser hash in constant time and are single use:
 * `completeUpstreamAuthorization` clears both hashes in the same write that stores our code, and
 * `cancelUpstreamAuthorization` deletes the instance. `attachUpstreamTokens` refuses when the grant
 * ended or the refresh token was rotated meanwhile, so the caller revokes the upstream grant.
 */
export interface UpstreamGrantStore {
  /** The upstream consent came back: stores our code's hash and the sealed upstream code (single use). */
  completeUpstreamAuthorization(input: {
    stateHash: string;
    browserHash?: string;
    codeHash: string;
    sealed: string;
    codeExpiresAt: number;
    now: number;
  }): Promise<GrantRecord | undefined>;
  /** The pending upstream authorization this callback may complete (read only). */
  pendingUpstreamAuthorization(input: { stateHash: string; browserHash?: string; now: number }): Promise<GrantRecord | undefined>;
  /** The user denied upstream (or it failed): the pending grant is deleted; returns where to answer. */
  cancelUpstreamAuthorization(input: { stateHash: string; browserHash?: string; now: number }): Promise<GrantRecord | undefined>;
  /** The upstream exchange failed transiently: the code may be redeemed again. */
  releaseAuthorizationCode(): Promise<void>;
  /** Records the upstream grant id and sealed upstream refresh token; false when they no longer belong to a live grant. */
  attachUpstreamTokens(input: { upstreamGrantId: string; upstreamExpiresAt: number; refreshTokenHash?: string; sealedRefresh?: string }): Promise<boolean>;
  /** The upstream refresh failed transiently: undoes our rotation so the client can retry. */
  rollbackRefreshRotation(input: { presentedHash: string; newHash: string }): Promise<void>;
}

/**
 * Grantex mode: upstream grant id (`grnt`) → our grant (instance `upstream-grant:<id>`).
 * Atomicity: one row, written whole (`INSERT OR REPLACE`); unlinking deletes the instance.
 */
export interface UpstreamLinkStore {
  linkUpstreamGrant(link: { upstreamGrantId: string; grantId: string; clientId: string; expiresAt: number }): Promise<void>;
  upstreamLink(): Promise<{ grantId: string; clientId: string } | undefined>;
  unlinkUpstreamGrant(): Promise<void>;
}

/**
 * One rate-limit bucket (instance `ratelimit:…`). Atomicity: the count is read, decided and
 * incremented with no `await` in between, so the limit is exact under concurrency. Only a counted
 * hit writes.
 */
export interface RateLimitBucket {
  hitRateLimit(input: { limit: number; windowSeconds: number; now: number }): Promise<RateLimitDecision>;
}

/**
 * One consent form's single use (instance `consent:<cid>`), RFC 9700 §4.12. Atomicity: the check
 * for an earlier decision and the write of this one have no `await` in between, so of two
 * concurrent posts of one form exactly one gets `true`.
 */
export interface ConsentUse {
  useConsent(input: { decision: 'approve' | 'deny'; expiresAt: number; now: number }): Promise<boolean>;
}

export interface SigningKeysInput {
  alg: SigningAlgorithm;
  now: number;
  retainSeconds: number;
}

/**
 * The generated signing keys of one issuer (instance `signing-keys`, never deleted by its alarm).
 * Atomicity: new keys are generated (the only `await`) before storage is read; the read,
 * promotion and write that follow have no `await`, so two concurrent rotations never promote one
 * key twice.
 */
export interface SigningKeyStore {
  /** The keys, created on first use; a change of algorithm rotates them. */
  signingKeys(input: SigningKeysInput): Promise<StoredSigningKey[]>;
  /** Promotes `next` to `current`, retires the old current, publishes a new `next`. */
  rotateSigningKeys(input: SigningKeysInput): Promise<StoredSigningKey[]>;
  /** The operator's rotation: only once `next` was published by `nextPublishedBy`. */
  rotatePublishedSigningKey(input: SigningKeysInput & { nextPublishedBy: number }): Promise<{ rotated: boolean; keys: StoredSigningKey[] }>;
}

/**
 * The operator's index of one user's grant ids (instance `user:<sub>`). It may name grants that
 * already ended, never misses a live one: `recordUserGrant` runs before the grant is created.
 * Atomicity: each method is one read-write with no `await` before its last write.
 */
export interface UserGrantIndex {
  recordUserGrant(input: { grantId: string; endsBy: number; now: number }): Promise<void>;
  userGrantIds(input: { limit: number; after: string; now: number }): Promise<{ grantIds: string[]; more: boolean }>;
  forgetUserGrants(input: { ended: string[]; notFound: string[]; recordedBefore: number }): Promise<void>;
}

/** `GET /healthz` (instance `health`): answers without touching storage. */
export interface HealthProbe {
  ping(): Promise<'ok'>;
}

import type { Context } from 'hono';
import { createLocalJWKSet, type JWTVerifyGetKey } from 'jose';
import type { ResolvedOptions } from './options.js';
import { KvClientStore, withBoundedClientIds, withStaticClients, type ClientStore } from './storage/client-store.js';
import { withClientMetadataDocuments } from './clients/metadata-document-fetcher.js';
import type { McpAuthState } from './storage/state-object.js';
import type {
  ConsentUse,
  GrantStore,
  HealthProbe,
  RateLimitBucket,
  SigningKeyStore,
  UpstreamGrantStore,
  UpstreamLinkStore,
  UserGrantIndex,
} from './storage/stores.js';
import { stateObjectName, stateObjectNames } from './storage/keys.js';
import { keyFromSecret, toKeySet, type SigningKeySet, type StoredSigningKey } from './tokens/signing-keys.js';
import { deriveConsentKeys } from './tokens/consent-request.js';
import { createEventSink, type EmitEvent } from './events-sink.js';
import type { GrantAuthority } from './authority/types.js';
import type { GrantRecord } from './grants/grant-record.js';

/**
 * Everything a route needs, built from the options and the request's bindings. Storage is reached
 * through one typed seam per kind of instance (src/storage/stores.ts, each with its atomicity
 * contract), never through the Durable Object stub itself.
 */
export interface Services {
  options: ResolvedOptions;
  clients: ClientStore;
  /** One grant's instance: its code, refresh-token family and access-token denylist. */
  grant(grantId: string): GrantStore;
  /** Grantex mode: the upstream part of one grant's instance (same instance as `grant`). */
  upstreamGrant(grantId: string): UpstreamGrantStore;
  /**
   * Stores a newly approved grant, recorded first in its user's index (`userGrants`), so that no
   * live grant is ever missing from the index the operator revokes by.
   */
  createGrant(grant: GrantRecord): Promise<void>;
  /** The index of one user's grant ids (operator API: revoke a user's grants). */
  userGrants(sub: string): UserGrantIndex;
  /**
   * The operator's key rotation: promotes the published next key when it has been in the JWKS
   * long enough for every cache to have seen it (or `force`); the new keys sign at once here.
   */
  rotateSigningKeys(input: { force: boolean }): Promise<{ rotated: boolean; keys: StoredSigningKey[]; nextPublishedBy: number }>;
  /** Grantex mode: the link from an upstream grant id to our grant. */
  upstreamLink(upstreamGrantId: string): UpstreamLinkStore;
  rateLimitBucket(endpoint: string, key: string): RateLimitBucket;
  /** The record of one consent request's single use. */
  consent(consentId: string): ConsentUse;
  keys(): Promise<LoadedKeys>;
  /** The instance `GET /healthz` asks whether the Durable Object answers (it stores nothing). */
  health(): HealthProbe;
  /** Where grants and tokens come from (src/authority), picked once by createMcpAuth. */
  authority: GrantAuthority;
  emit: EmitEvent;
  now: () => number;
}

export interface LoadedKeys extends SigningKeySet {
  verificationKey: JWTVerifyGetKey;
  /** MAC keys of consent requests (current first), never published: src/tokens/consent-request.ts. */
  consentKeys: CryptoKey[];
}

/** How long an isolate keeps the signing keys before asking the Durable Object again (rotation). */
const KEY_CACHE_SECONDS = 300;
/** The JWKS route's `Cache-Control: max-age` (src/create-mcp-auth.ts). */
const JWKS_MAX_AGE_SECONDS = 300;

export function createServiceFactory(options: ResolvedOptions, authority: GrantAuthority): (env: Record<string, unknown>) => Services {
  const emit = createEventSink(options.hooks, authority.forwardAuditEvent);
  const now = options.clock;
  let cachedKeys: { value: Promise<LoadedKeys>; until: number } | undefined;

  const built = new WeakMap<object, Services>();
  return (env) => {
    const cached = built.get(env);
    if (cached) return cached;
    const namespace = binding<DurableObjectNamespace<McpAuthState>>(env, options.bindings.state, 'Durable Object');
    // The one place an instance is opened: every name is the issuer's (two issuers never share one).
    const stub = (name: string) => namespace.get(namespace.idFromName(stateObjectName(options.issuer, name)));
    const store = options.clientStore ?? new KvClientStore(binding<KVNamespace>(env, options.bindings.clients, 'KV namespace'), options.issuer);

    const keys = () => {
      const t = now();
      if (!cachedKeys || cachedKeys.until <= t) {
        const value = loadKeys(options, signingKeys, t);
        cachedKeys = { value, until: t + KEY_CACHE_SECONDS };
        value.catch(() => (cachedKeys = undefined));
      }
      return cachedKeys.value;
    };

    // Each seam is the instance's stub seen through its kind's interface (RPC).
    const upstreamLink = (upstreamGrantId: string): UpstreamLinkStore => stub(stateObjectNames.upstreamGrant(upstreamGrantId));
    const userGrants = (sub: string): UserGrantIndex => stub(stateObjectNames.userGrants(sub));
    const grant = (grantId: string): GrantStore => stub(stateObjectNames.grant(grantId));
    const upstreamGrant = (grantId: string): UpstreamGrantStore => stub(stateObjectNames.grant(grantId));
    const signingKeys = (): SigningKeyStore => stub(stateObjectNames.signingKeys());
    const result: Services = {
      options,
      // Bounded ids first: an over-long or malformed client_id reaches no store and no fetch.
      clients: withBoundedClientIds(
        options.clientMetadataDocuments
          ? withClientMetadataDocuments(withStaticClients(store, options.clients), options, options.clientMetadataDocuments, now)
          : withStaticClients(store, options.clients),
      ),
      grant,
      upstreamGrant,
      userGrants,
      createGrant: async (record) => {
        // The latest a token of this grant can be valid: its code redeemed at the last moment
        // (Grantex: a code of ours issued when the upstream consent comes back), its refresh
        // family used at its last moment, then the access token that refresh issued.
        const endsBy = record.code_expires_at + options.codeExpirationSeconds + options.refreshTokenTtlSeconds + options.accessTokenTtlSeconds + 60;
        await userGrants(record.sub).recordUserGrant({ grantId: record.grant_id, endsBy, now: now() });
        await grant(record.grant_id).createGrant(record);
      },
      rotateSigningKeys: async ({ force }) => {
        const t = now();
        const nextPublishedBy = t - JWKS_MAX_AGE_SECONDS - KEY_CACHE_SECONDS;
        const result = await signingKeys().rotatePublishedSigningKey({
          alg: options.signingAlgorithm,
          now: t,
          // Other isolates sign with the old key until their cache expires; its last token must verify.
          retainSeconds: options.accessTokenTtlSeconds + KEY_CACHE_SECONDS + 60,
          nextPublishedBy: force ? t : nextPublishedBy,
        });
        if (result.rotated) cachedKeys = undefined;
        return { ...result, nextPublishedBy };
      },
      upstreamLink,
      authority,
      rateLimitBucket: (endpoint, key): RateLimitBucket => stub(stateObjectNames.rateLimit(endpoint, key)),
      consent: (consentId): ConsentUse => stub(stateObjectNames.consent(consentId)),
      health: (): HealthProbe => stub(stateObjectNames.health()),
      keys,
      emit,
      now,
    };
    built.set(env, result);
    return result;
  };
}

async function loadKeys(options: ResolvedOptions, signingKeysObject: () => SigningKeyStore, now: number): Promise<LoadedKeys> {
  const stored = options.privateJwk
    ? [await keyFromSecret(options.privateJwk, options.signingAlgorithm)]
    : await signingKeysObject().signingKeys({ alg: options.signingAlgorithm, now, retainSeconds: options.accessTokenTtlSeconds + 60 });
  const set = await toKeySet(stored);
  return { ...set, verificationKey: createLocalJWKSet(set.jwks), consentKeys: await deriveConsentKeys(stored) };
}

function binding<T>(env: Record<string, unknown>, name: string, kind: string): T {
  const value = env?.[name];
  if (!value) throw new Error(`mcp-auth-edge: the ${kind} binding "${name}" is missing from the worker's configuration`);
  return value as T;
}

/** Runs work after the response when the platform allows it (hooks, logs). */
export function defer(c: Context, work: Promise<unknown>): void {
  try {
    c.executionCtx.waitUntil(work);
  } catch {
    void work; // no execution context (e.g. app.request in a test): the promise still runs
  }
}

import {
  createLocalJWKSet,
  createRemoteJWKSet,
  customFetch,
  errors,
  jwksCache,
  type ExportedJWKSCache,
  type JSONWebKeySet,
  type JWKSCacheInput,
  type JWTVerifyGetKey,
} from 'jose';
import { TokenVerificationError } from './errors.js';

/** Where verification keys come from. `refresh` refetches a remote set unless it is cooling down. */
export interface KeySource {
  getKey: JWTVerifyGetKey;
  /** Resolves `true` when a fresh key set was fetched (worth retrying), `false` otherwise. */
  refresh(): Promise<boolean>;
  /**
   * The key set in use now, as an identity that changes whenever the set does; `undefined` when
   * that cannot be known (a key function) or the set is due for a refetch. Verified tokens are
   * remembered only under it (see cache.ts).
   */
  currentSet(): object | undefined;
}

const noRefresh = async () => false;
const unknownSet = () => undefined;
const localSets = new WeakMap<JSONWebKeySet, JWTVerifyGetKey>();

/**
 * A key function failed in a way that says nothing about the token (a bug, a TypeError): carried
 * through jose to the verifier, which rethrows `cause` instead of calling the token bad.
 */
export class KeyFunctionFailure extends Error {
  constructor(override readonly cause: unknown) {
    super('The key function failed', { cause });
  }
}

/** A key function's own verdicts: ours (e.g. `jwks_unavailable`) and jose's (no matching key). */
function isVerdict(err: unknown): boolean {
  return err instanceof TokenVerificationError || err instanceof errors.JOSEError;
}

/** A local key function or JWK Set (e.g. the co-located signer's public keys). Built once per set object. */
export function localKeySource(keys: JWTVerifyGetKey | JSONWebKeySet): KeySource {
  if (typeof keys === 'function') {
    const getKey: JWTVerifyGetKey = async (header, token) => {
      try {
        return await keys(header, token);
      } catch (err) {
        throw isVerdict(err) ? err : new KeyFunctionFailure(err);
      }
    };
    return { getKey, refresh: noRefresh, currentSet: unknownSet };
  }
  let getKey = localSets.get(keys);
  if (!getKey) localSets.set(keys, (getKey = createLocalJWKSet(keys)));
  return { getKey, refresh: noRefresh, currentSet: () => keys };
}

export interface RemoteKeySourceOptions {
  fetch?: typeof fetch;
  cooldownSeconds: number;
}

const MAX_SHARED_SETS = 64;
const sharedSets = new Map<string, KeySource>();
const sharedSetsByFetch = new WeakMap<typeof fetch, Map<string, KeySource>>();

/**
 * One cached remote JWKS per (fetch implementation, URL, cooldown) for the whole isolate/process,
 * so neither `verifyAccessToken` nor a middleware factory re-downloads or re-imports keys per call.
 * jose's remote set caches keys for 10 minutes, refetches on an unknown `kid` at most once per
 * cooldown, does not share in-flight fetches across Workers requests, and times out after 5 s.
 */
export function remoteKeySource(url: string, options: RemoteKeySourceOptions): KeySource {
  let cache = sharedSets;
  if (options.fetch) {
    cache = sharedSetsByFetch.get(options.fetch) ?? new Map<string, KeySource>();
    sharedSetsByFetch.set(options.fetch, cache);
  }
  const cacheKey = `${options.cooldownSeconds} ${url}`;
  let source = cache.get(cacheKey);
  if (!source) {
    source = createRemoteKeySource(url, options);
    if (cache.size >= MAX_SHARED_SETS) cache.delete(cache.keys().next().value!);
    cache.set(cacheKey, source);
  }
  return source;
}

function createRemoteKeySource(url: string, options: RemoteKeySourceOptions): KeySource {
  // jose stores every key set it fetches here: a new `jwks` object per fetch.
  const fetched = {} as Partial<ExportedJWKSCache>;
  const set = createRemoteJWKSet(new URL(url), {
    cooldownDuration: options.cooldownSeconds * 1000,
    [jwksCache]: fetched as JWKSCacheInput,
    ...(options.fetch ? { [customFetch]: options.fetch } : {}),
  });
  return {
    async getKey(header, token) {
      try {
        return await set(header, token);
      } catch (err) {
        if (isKeySelectionError(err)) throw err;
        throw jwksUnavailable(err);
      }
    },
    // The Grantex contract: a regenerated key keeps its `kid`, so a signature that fails under a
    // cached key may be valid under the current one. Refetch, rate-limited by the same cooldown.
    async refresh() {
      if (set.coolingDown) return false;
      try {
        await set.reload();
      } catch (err) {
        throw jwksUnavailable(err);
      }
      return true;
    },
    // Past its maximum age the set must be refetched (by jose, on the next key lookup): no hits.
    currentSet: () => (set.fresh ? fetched.jwks : undefined),
  };
}

function isKeySelectionError(err: unknown): boolean {
  return err instanceof errors.JWKSNoMatchingKey || err instanceof errors.JWKSMultipleMatchingKeys || err instanceof errors.JOSENotSupported;
}

function jwksUnavailable(cause: unknown): TokenVerificationError {
  return new TokenVerificationError('jwks_unavailable', 'The issuer keys could not be retrieved', { cause });
}

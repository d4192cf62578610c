import type { McpGrant } from './types.js';

/**
 * Verified access tokens, so that a client presenting the same token on every request (as MCP
 * clients do) costs one signature verification, not one per request.
 *
 * A hit gives the answer a full verification would give at that moment:
 * - an entry is bound to the key set that verified it and is used only while that exact set is
 *   the current one (a reloaded or rotated set re-verifies every token);
 * - expiry is checked again on every hit, with jose's rule (RFC 7519 §4.1.4); `nbf` and `iat`
 *   passed when the token was verified and stay passed while the clock moves forward;
 * - the revocation status is the verifier's to keep on the entry: a "not revoked" answer stands
 *   until `statusCheckedUntil`, a "revoked" answer marks the entry for good.
 * Only successes are stored, so a forged or foreign token can never take a place. What is stored
 * is frozen: requests presenting the same token share one grant.
 */
export interface VerifiedTokenCache {
  /** The remembered verification with its revocation status, or undefined. */
  lookup(token: string, keySet: object | undefined, now: number, tolerance: number): VerifiedToken | undefined;
  /** `lookup(...)?.grant`. */
  get(token: string, keySet: object | undefined, now: number, tolerance: number): McpGrant | undefined;
  /** The new entry, or undefined when the token is not remembered (key function, over-long token). */
  set(token: string, grant: McpGrant, keySet: object | undefined, now: number): VerifiedToken | undefined;
}

/** A remembered verification and what the verifier last learnt of its revocation status. */
export interface VerifiedToken {
  readonly grant: McpGrant;
  /** Clock second from which the revocation status must be asked again (-Infinity: never asked). */
  statusCheckedUntil: number;
  /** The revocation check answered "revoked": refused from now on, with no further lookup. */
  revoked: boolean;
}

interface Entry extends VerifiedToken {
  keySet: object;
  verifiedAt: number;
}

/** Longer tokens are verified every time: with the entry count this bounds the memory held. */
export const MAX_CACHED_TOKEN_LENGTH = 8192;

/** Keeps at most `maxEntries`; when full, the oldest entry makes room (first in, first out). */
export function createVerifiedTokenCache(maxEntries: number): VerifiedTokenCache {
  const entries = new Map<string, Entry>();
  const lookup = (token: string, keySet: object | undefined, now: number, tolerance: number): Entry | undefined => {
    const entry = entries.get(token);
    if (entry === undefined) return undefined;
    if (entry.keySet === keySet && now >= entry.verifiedAt && entry.grant.exp > now - tolerance) return entry;
    entries.delete(token);
    return undefined;
  };
  return {
    lookup,
    get: (token, keySet, now, tolerance) => lookup(token, keySet, now, tolerance)?.grant,
    set(token, grant, keySet, now) {
      if (keySet === undefined || token.length > MAX_CACHED_TOKEN_LENGTH) return undefined;
      if (entries.size >= maxEntries && !entries.has(token)) entries.delete(entries.keys().next().value!);
      deepFreeze(grant);
      const entry: Entry = { grant, keySet, verifiedAt: now, statusCheckedUntil: -Infinity, revoked: false };
      entries.set(token, entry);
      return entry;
    },
  };
}

function deepFreeze(value: object): void {
  Object.freeze(value);
  for (const member of Object.values(value) as unknown[]) if (typeof member === 'object' && member !== null && !Object.isFrozen(member)) deepFreeze(member);
}

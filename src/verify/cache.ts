import type { McpGrant } from './index.js';

/**
 * Verified access tokens, so that a client presenting the same token on every request (as MCP
 * clients do) costs one signature verification, not one per request.
 *
 * A hit gives the answer a full verification would give at that moment:
 * - an entry is bound to the key set that verified it and is used only while that exact set is
 *   the current one (a reloaded or rotated set re-verifies every token);
 * - expiry is checked again on every hit, with jose's rule (RFC 7519 §4.1.4); `nbf` and `iat`
 *   passed when the token was verified and stay passed while the clock moves forward;
 * - revocation checks are never cached: they run after this, on every request.
 * Only successes are stored, so a forged or foreign token can never take a place. What is stored
 * is frozen: requests presenting the same token share one grant.
 */
export interface VerifiedTokenCache {
  get(token: string, keySet: object | undefined, now: number, tolerance: number): McpGrant | undefined;
  set(token: string, grant: McpGrant, keySet: object | undefined, now: number): void;
}

interface Entry {
  grant: McpGrant;
  keySet: object;
  verifiedAt: number;
}

/** Longer tokens are verified every time: with the entry count this bounds the memory held. */
export const MAX_CACHED_TOKEN_LENGTH = 8192;

/** Keeps at most `maxEntries`; when full, the oldest entry makes room (first in, first out). */
export function createVerifiedTokenCache(maxEntries: number): VerifiedTokenCache {
  const entries = new Map<string, Entry>();
  return {
    get(token, keySet, now, tolerance) {
      const entry = entries.get(token);
      if (entry === undefined) return undefined;
      if (entry.keySet === keySet && now >= entry.verifiedAt && entry.grant.exp > now - tolerance) return entry.grant;
      entries.delete(token);
      return undefined;
    },
    set(token, grant, keySet, now) {
      if (keySet === undefined || token.length > MAX_CACHED_TOKEN_LENGTH) return;
      if (entries.size >= maxEntries && !entries.has(token)) entries.delete(entries.keys().next().value!);
      deepFreeze(grant);
      entries.set(token, { grant, keySet, verifiedAt: now });
    },
  };
}

function deepFreeze(value: object): void {
  Object.freeze(value);
  for (const member of Object.values(value)) if (typeof member === 'object' && member !== null && !Object.isFrozen(member)) deepFreeze(member);
}

import { OAuthError } from '../errors.js';

/** RFC 6749 §3.3: space-delimited, case-sensitive scope tokens; duplicates collapse. */
export function parseScope(value: string | null | undefined): string[] {
  if (!value) return [];
  return [...new Set(value.split(' ').filter(Boolean))];
}

export function formatScope(scopes: readonly string[]): string {
  return scopes.join(' ');
}

/**
 * Scopes for an authorization request: the requested ones, all of them supported, or the
 * defaults when none are requested (RFC 6749 §3.3).
 */
export function resolveRequestedScopes(requested: readonly string[], supported: readonly string[], defaults: readonly string[]): string[] {
  if (requested.length === 0) return [...defaults];
  const unknown = requested.filter((s) => !supported.includes(s));
  if (unknown.length > 0) throw new OAuthError('invalid_scope', `Unsupported scope: ${unknown.join(' ')}.`);
  return [...requested];
}

/** OAuth 2.1 §4.3.1: a refresh may keep (no `scope`) or narrow the granted scope, never widen it. */
export function narrowScopes(requested: readonly string[], granted: readonly string[]): string[] {
  if (requested.length === 0) return [...granted];
  const extra = requested.filter((s) => !granted.includes(s));
  if (extra.length > 0) throw new OAuthError('invalid_scope', `Scope exceeds the grant: ${extra.join(' ')}.`);
  return [...requested];
}

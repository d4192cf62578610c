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
 * The scopes a client registered (RFC 7591 §2 `scope`), or undefined when it registered none
 * (then every supported scope is open to it). An empty `scope` counts as none.
 */
export function registeredScopes(scope: string | undefined): string[] | undefined {
  const scopes = parseScope(scope);
  return scopes.length > 0 ? scopes : undefined;
}

/**
 * Scopes for an authorization request (RFC 6749 §3.3): the requested ones, all of them supported
 * and, when the client registered a `scope` (RFC 7591 §2), all of them registered. Without a
 * request, the defaults the client is registered for; that may be none, which the caller refuses.
 */
export function resolveRequestedScopes(requested: readonly string[], supported: readonly string[], defaults: readonly string[], registered?: string): string[] {
  const allowed = registeredScopes(registered);
  if (requested.length === 0) return defaults.filter((s) => !allowed || allowed.includes(s));
  const unknown = requested.filter((s) => !supported.includes(s));
  if (unknown.length > 0) throw new OAuthError('invalid_scope', `Unsupported scope: ${unknown.join(' ')}.`);
  const unregistered = allowed ? requested.filter((s) => !allowed.includes(s)) : [];
  if (unregistered.length > 0) throw new OAuthError('invalid_scope', `Scope not registered for this client: ${unregistered.join(' ')}.`);
  return [...requested];
}

/** OAuth 2.1 §4.3.1: a refresh may keep (no `scope`) or narrow the granted scope, never widen it. */
export function narrowScopes(requested: readonly string[], granted: readonly string[]): string[] {
  if (requested.length === 0) return [...granted];
  const extra = requested.filter((s) => !granted.includes(s));
  if (extra.length > 0) throw new OAuthError('invalid_scope', `Scope exceeds the grant: ${extra.join(' ')}.`);
  return [...requested];
}

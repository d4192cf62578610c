import { OAuthError } from '../errors.js';
import type { ClientRecord } from '../storage/client-store.js';

import { SCOPE_TOKEN } from './scope-token.js';

export { SCOPE_TOKEN };

/** RFC 6749 §3.3: space-delimited, case-sensitive scope tokens; duplicates collapse. */
export function parseScope(value: string | null | undefined): string[] {
  if (!value) return [];
  return [...new Set(value.split(' ').filter(Boolean))];
}

export function formatScope(scopes: readonly string[]): string {
  return scopes.join(' ');
}

/**
 * The scopes a client may never exceed: its registered `scope` (RFC 7591 §2) when the operator
 * configured the client. A client's own registration (dynamic registration, a Client ID
 * Metadata Document) only says what it needs first: MCP clients register the scope of the first
 * challenge and step up later under the same registration (MCP 2025-11-25, scope challenge
 * handling), and anyone may self-register every supported scope, so it is no ceiling.
 * Undefined: no ceiling beyond `scopes_supported`.
 */
export function scopeCeiling(client: ClientRecord, configuredClients: readonly ClientRecord[]): string[] | undefined {
  if (!configuredClients.some((configured) => configured.client_id === client.client_id)) return undefined;
  const scopes = parseScope(client.scope);
  return scopes.length > 0 ? scopes : undefined;
}

/**
 * Scopes for an authorization request (RFC 6749 §3.3): the requested ones, all supported and
 * within the client's ceiling, if any. Without `scope`, the defaults within the client's
 * registered `scope` (RFC 7591 §2), if it registered one; that may leave none, which the caller
 * refuses.
 */
export function resolveRequestedScopes(
  requested: readonly string[],
  supported: readonly string[],
  defaults: readonly string[],
  client: { registered?: string; ceiling?: readonly string[] } = {},
): string[] {
  if (requested.length === 0) {
    const registered = parseScope(client.registered);
    return registered.length > 0 ? defaults.filter((s) => registered.includes(s)) : [...defaults];
  }
  const unknown = requested.filter((s) => !supported.includes(s));
  if (unknown.length > 0) throw new OAuthError('invalid_scope', `Unsupported scope: ${unknown.join(' ')}.`);
  const beyond = client.ceiling ? requested.filter((s) => !client.ceiling!.includes(s)) : [];
  if (beyond.length > 0) throw new OAuthError('invalid_scope', `Scope not registered for this client: ${beyond.join(' ')}.`);
  return [...requested];
}

/** OAuth 2.1 §4.3.1: a refresh may keep (no `scope`) or narrow the granted scope, never widen it. */
export function narrowScopes(requested: readonly string[], granted: readonly string[]): string[] {
  if (requested.length === 0) return [...granted];
  const extra = requested.filter((s) => !granted.includes(s));
  if (extra.length > 0) throw new OAuthError('invalid_scope', `Scope exceeds the grant: ${extra.join(' ')}.`);
  return [...requested];
}

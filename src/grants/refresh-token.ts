import type { GrantRecord, RefreshTokenRow } from './grant-record.js';
import type { Decision } from './authorization-code.js';
import { sameResource } from '../protocol/resource.js';
import { narrowScopes, parseScope } from '../protocol/scope.js';
import { OAuthError } from '../errors.js';

export interface RefreshInput {
  clientId: string;
  resource?: string;
  /** `scope` of the refresh request; empty keeps the granted scope. */
  requestedScopes: string[];
  /** The scopes the client may never exceed, as configured now (`scopeCeiling`); unset: none. */
  scopeCeiling?: readonly string[];
  now: number;
}

/** RFC 6749 §5.2 `invalid_grant`: one description, so the answer tells no case from another. */
export const INVALID_REFRESH = 'The refresh token is invalid, expired or revoked.';

/**
 * Pure decision for a refresh (OAuth 2.1 §4.3.1, RFC 9700 §4.14.2): tokens rotate on every use
 * and presenting a rotated one is a replay that revokes the whole family. The scope may only
 * narrow, and only within the client's current ceiling (RFC 7591 §2, `scopeCeiling`).
 */
export function decideRefresh(
  grant: GrantRecord | undefined,
  row: RefreshTokenRow | undefined,
  input: RefreshInput,
): Decision | { outcome: 'issue'; scopes: string[] } {
  if (!grant || !row) return { outcome: 'reject', error: 'invalid_grant', description: INVALID_REFRESH };
  // RFC 6749 §6: the refresh token is bound to the client it was issued to.
  if (grant.client_id !== input.clientId) return { outcome: 'reject', error: 'invalid_grant', description: INVALID_REFRESH };
  if (row.status === 'rotated') return { outcome: 'replay' };
  if (grant.refresh_expires_at === null || input.now >= grant.refresh_expires_at)
    return { outcome: 'reject', error: 'invalid_grant', description: INVALID_REFRESH };
  if (input.resource !== undefined && !sameResource(input.resource, grant.resource))
    return { outcome: 'reject', error: 'invalid_target', description: 'The refresh request may not change the resource of the grant.' };
  const ceiling = input.scopeCeiling;
  const granted = parseScope(grant.scope).filter((s) => !ceiling || ceiling.includes(s));
  if (granted.length === 0) return { outcome: 'reject', error: 'invalid_scope', description: 'No scope of the grant is still registered for this client.' };
  try {
    return { outcome: 'issue', scopes: narrowScopes(input.requestedScopes, granted) };
  } catch (err) {
    if (err instanceof OAuthError) return { outcome: 'reject', error: err.code, description: err.description ?? err.code };
    throw err;
  }
}

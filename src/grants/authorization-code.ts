import type { OAuthErrorCode } from '../errors.js';
import { timingSafeEqual } from '../crypto.js';
import type { GrantRecord } from './grant-record.js';
import { sameResource } from '../protocol/resource.js';

export interface CodeRedemptionInput {
  codeHash: string;
  clientId: string;
  /** `redirect_uri` from the token request, when sent. */
  redirectUri?: string;
  /** S256 of the presented `code_verifier`, computed before the atomic section. */
  verifierChallenge: string;
  /** `resource` from the token request, when sent (RFC 8707 §2.2). */
  resource?: string;
  /** When a client registered for the refresh grant gets a refresh token; default `always`. */
  refreshTokens?: RefreshTokenPolicy;
  now: number;
}

/**
 * `always`: every client registered for the refresh_token grant gets a refresh token.
 * `offline_access`: only when the grant includes `offline_access` (MCP 2026-07-28, as in
 * OpenID Connect Core §11).
 */
export type RefreshTokenPolicy = 'always' | 'offline_access';

export type Decision = { outcome: 'issue' } | { outcome: 'reject'; error: OAuthErrorCode; description: string } | { outcome: 'replay' };

/** A redemption's decision; `refreshToken` says whether the grant may start a refresh family. */
export type CodeDecision = Exclude<Decision, { outcome: 'issue' }> | { outcome: 'issue'; refreshToken: boolean };

/** RFC 6749 §5.2 `invalid_grant`: one description, so the answer tells no case from another. */
export const INVALID_CODE = 'The authorization code is invalid, expired or already used.';

/**
 * Pure decision for redeeming an authorization code (OAuth 2.1 §4.1.3, RFC 7636 §4.6,
 * RFC 8707 §2.2). A failed attempt leaves the code redeemable by the rightful client. A used
 * code is a replay, which revokes the grant, only when the presenter also proves it owns the
 * code (client, redirect_uri, PKCE verifier; RFC 9700 §4.5.3): a code seen in a URL is not
 * enough to end someone else's session.
 */
export function decideCodeRedemption(grant: GrantRecord | undefined, input: CodeRedemptionInput): CodeDecision {
  if (!grant || !timingSafeEqual(grant.code_hash, input.codeHash)) return reject('invalid_grant', INVALID_CODE);
  if (grant.client_id !== input.clientId) return reject('invalid_grant', INVALID_CODE);
  if (input.redirectUri !== undefined && input.redirectUri !== grant.redirect_uri)
    return reject('invalid_grant', 'redirect_uri does not match the authorization request.');
  if (!timingSafeEqual(grant.code_challenge, input.verifierChallenge))
    return reject('invalid_grant', 'code_verifier does not match the code_challenge (RFC 7636 section 4.6).');
  if (grant.code_redeemed_at !== null) return { outcome: 'replay' };
  if (input.now >= grant.code_expires_at) return reject('invalid_grant', INVALID_CODE);
  if (input.resource !== undefined && !sameResource(input.resource, grant.resource))
    return reject('invalid_target', 'The token request may not widen or change the resource of the authorization.');
  const refreshToken = (input.refreshTokens ?? 'always') === 'always' || grant.scope.split(' ').includes('offline_access');
  return { outcome: 'issue', refreshToken };
}

function reject(error: OAuthErrorCode, description: string): Extract<Decision, { outcome: 'reject' }> {
  return { outcome: 'reject', error, description };
}

import type { AuthorizationRequest } from '../protocol/authorization-request.js';

/**
 * One authorization grant as kept in its own Durable Object instance (docs/storage.md): the
 * `grant_record` row joined with the Grantex part's `upstream_grant` row (null fields when there
 * is none, as for every local grant).
 */
export interface GrantRecord extends GrantCore, UpstreamGrantFields {}

/** The columns of `grant_record`. */
export interface GrantCore {
  grant_id: string;
  client_id: string;
  sub: string;
  /** Space-joined granted scopes. */
  scope: string;
  resource: string;
  redirect_uri: string;
  code_hash: string;
  code_challenge: string;
  code_expires_at: number;
  /** When the code was redeemed; a second redemption is a replay (OAuth 2.1 §4.1.3). */
  code_redeemed_at: number | null;
  /** Expiry of the refresh-token family; null until the code is redeemed or when none is issued. */
  refresh_expires_at: number | null;
  created_at: number;
}

/** The columns of `upstream_grant` (Grantex mode only; all null for a local grant). */
export interface UpstreamGrantFields {
  /** The MCP client's `state`, to answer it after the upstream consent. */
  client_state: string | null;
  /** SHA-256 of the `state` sent upstream; cleared once the callback used it. */
  upstream_state_hash: string | null;
  /** SHA-256 of the cookie that binds the upstream round trip to this browser. */
  upstream_browser_hash: string | null;
  /** Upstream PKCE verifier (sealed with the state), then upstream code + verifier (sealed with our code). */
  upstream_sealed: string | null;
  /** The upstream grant id (Grantex `grnt`), once tokens were issued. */
  upstream_grant_id: string | null;
}

export interface RefreshTokenRow {
  token_hash: string;
  status: 'active' | 'rotated';
  created_at: number;
  /** The upstream refresh token, sealed with this refresh token (`upstream_refresh_token`); null in local mode. */
  upstream_sealed: string | null;
}

/** The upstream fields of a local grant. */
export const NO_UPSTREAM = {
  client_state: null,
  upstream_state_hash: null,
  upstream_browser_hash: null,
  upstream_sealed: null,
  upstream_grant_id: null,
} as const;

/** A grant as the user approved it: the validated request, who approved, and the code's hash. */
export function approvedGrant(
  request: AuthorizationRequest,
  sub: string,
  input: { grantId: string; codeHash: string; codeExpiresAt: number; now: number },
  upstream: Pick<GrantRecord, 'client_state' | 'upstream_state_hash' | 'upstream_browser_hash' | 'upstream_sealed'> = NO_UPSTREAM,
): GrantRecord {
  return {
    grant_id: input.grantId,
    client_id: request.clientId,
    sub,
    scope: request.scopes.join(' '),
    resource: request.resource,
    redirect_uri: request.redirectUri,
    code_hash: input.codeHash,
    code_challenge: request.codeChallenge,
    code_expires_at: input.codeExpiresAt,
    code_redeemed_at: null,
    refresh_expires_at: null,
    created_at: input.now,
    ...upstream,
    upstream_grant_id: null,
  };
}

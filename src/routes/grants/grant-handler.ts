import type { AppContext } from '../../http/context.js';
import { noStoreJson } from '../../http/responses.js';
import { OAuthError } from '../../errors.js';
import type { Services } from '../../services.js';
import type { ClientRecord } from '../../storage/client-store.js';
import type { GrantOutcome } from '../../storage/state-object.js';
import type { GrantRecord } from '../../grants/grant-record.js';
import type { GrantType } from './registry.js';
import type { IssuedTokens } from '../../authority/types.js';

/** A token request once its common parts are checked (src/routes/token.ts): the client, the grant type's right to it, one resource. */
export interface TokenRequest {
  c: AppContext;
  form: URLSearchParams;
  client: ClientRecord;
  /** RFC 8707 §2.2 `resource`, when sent (at most one). */
  resource?: string;
  services: Services;
  now: number;
  /** Runs work after the response (audit events, the authority's answer to a replay). */
  defer: (work: Promise<unknown>) => void;
}

/** One grant type of the token endpoint (OAuth 2.1 §3.2.2): registered by name in src/routes/grants/registry.ts. */
export type GrantHandler = (request: TokenRequest) => Promise<Response>;

/** The grant a redemption or rotation succeeded on; a replay is audited, and ended at the authority, before the error. */
export function grantOf(request: TokenRequest, outcome: GrantOutcome, what: 'authorization_code' | 'refresh_token'): Extract<GrantOutcome, { ok: true }> {
  if (outcome.ok) return outcome;
  const { services, defer } = request;
  if (outcome.replay && outcome.grant) {
    const { client_id: clientId, grant_id: grantId, sub, upstream_grant_id: upstreamGrantId } = outcome.grant;
    defer(services.authority.replayed(services, outcome.grant, what));
    defer(services.emit({ type: 'security.replay_detected', what, clientId, grantId }));
    defer(
      services.emit({
        type: 'token.revoked',
        clientId,
        sub,
        grantId,
        upstreamGrantId: upstreamGrantId ?? undefined,
        tokenType: 'refresh_token',
        reason: what === 'authorization_code' ? 'code_replay' : 'refresh_token_reuse',
      }),
    );
  }
  throw new OAuthError(outcome.error, outcome.description);
}

/** OAuth 2.1 §3.2.3: the successful answer, and its `token.issued` event. */
export function tokenResponse(request: TokenRequest, grant: GrantRecord, issued: IssuedTokens, grantType: GrantType): Response {
  const { c, services, defer } = request;
  defer(
    services.emit({
      type: 'token.issued',
      grantType,
      clientId: grant.client_id,
      sub: grant.sub,
      scopes: issued.scopes,
      resource: grant.resource,
      grantId: grant.grant_id,
      upstreamGrantId: issued.upstreamGrantId,
      jti: issued.jti,
      expiresAt: issued.exp,
      refreshTokenIssued: issued.refreshToken !== undefined,
    }),
  );
  return noStoreJson(c, {
    access_token: issued.accessToken,
    token_type: 'Bearer',
    expires_in: issued.expiresIn,
    scope: issued.scopes.join(' '),
    ...(issued.refreshToken ? { refresh_token: issued.refreshToken } : {}),
  });
}

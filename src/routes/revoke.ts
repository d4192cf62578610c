import type { AppContext } from './http.js';
import { authenticatedClient, readForm } from './http.js';
import { defer, type Services } from '../services.js';
import { lookupToken, tokenParameter, type TokenLookup } from '../tokens/lookup.js';
import { OAuthError } from '../errors.js';
import { GrantexError } from '../authority/grantex/client.js';
import { upstreamError } from '../authority/grantex/config.js';
import type { GrantRecord } from '../grants/grant-record.js';

/** POST /revoke (RFC 7009 §2): 200 whatever the token, so nothing is learnt from the answer. */
export async function revokeToken(c: AppContext): Promise<Response> {
  const form = await readForm(c, { acceptJson: true });
  const client = await authenticatedClient(c, form);
  const services = c.var.services;
  const found = await lookupToken(services, tokenParameter(form), form.get('token_type_hint'));
  if (found && found.grant.client_id === client.client_id) {
    const revoked = await revoke(services, found);
    if (revoked) {
      defer(c, services.emit({
        type: 'token.revoked',
        clientId: client.client_id,
        sub: revoked.sub,
        grantId: revoked.grant_id,
        upstreamGrantId: revoked.upstream_grant_id ?? undefined,
        jti: found.kind === 'access_token' ? found.view.jti : undefined,
        tokenType: found.kind,
        reason: 'client_request',
      }));
    }
  }
  return c.body(null, 200, { 'Cache-Control': 'no-store' });
}

/**
 * Local: an access token joins its grant's denylist; a refresh token takes its grant down.
 * Grantex: either token revokes the upstream grant (`DELETE /v1/grants/{id}`), so Grantex's
 * refresh token dies too, then ours.
 */
async function revoke(services: Services, found: NonNullable<TokenLookup>): Promise<GrantRecord | undefined> {
  const stub = services.grant(found.grant.grant_id);
  const clientId = found.grant.client_id;
  const authority = services.options.authority;
  if (!authority) {
    return found.kind === 'access_token'
      ? stub.revokeAccessToken({ jti: found.view.jti, exp: found.view.exp, clientId })
      : stub.revokeGrant({ clientId, refreshTokenHash: found.tokenHash });
  }
  const upstreamGrantId = found.grant.upstream_grant_id;
  if (upstreamGrantId) {
    try {
      await authority.api.grants.revoke(upstreamGrantId);
    } catch (err) {
      // 404: already gone upstream. Anything retryable: keep our state so the client can retry.
      if (!(err instanceof GrantexError && err.status === 404))
        throw upstreamError(err, new OAuthError('temporarily_unavailable', 'The grant could not be revoked; retry later.', { status: 503 }));
    }
    await services.upstreamLink(upstreamGrantId).unlinkUpstreamGrant();
  }
  return stub.revokeGrant({ clientId, refreshTokenHash: found.kind === 'refresh_token' ? found.tokenHash : undefined });
}

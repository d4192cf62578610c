import { OAuthError } from '../../errors.js';
import { randomToken, sha256 } from '../../crypto.js';
import { parseScope, scopeCeiling } from '../../protocol/scope.js';
import { grantIdOf } from '../../storage/keys.js';
import { INVALID_REFRESH } from '../../grants/refresh-token.js';
import { grantOf, tokenResponse, type GrantHandler } from './grant-handler.js';

/** `grant_type=refresh_token` (OAuth 2.1 §4.3): the token rotates atomically, then the authority issues. */
export const refreshTokenGrant: GrantHandler = async (request) => {
  const { form, client, resource, services, now } = request;
  const { options } = services;
  const presented = form.get('refresh_token');
  if (!presented) throw new OAuthError('invalid_request', 'refresh_token is required.');
  const grantId = grantIdOf(presented);
  if (!grantId) throw new OAuthError('invalid_grant', INVALID_REFRESH);
  const rotated = `${grantId}.${randomToken(32)}`;
  const outcome = await services.grant(grantId).rotateRefreshToken({
    presentedHash: await sha256(presented),
    newHash: await sha256(rotated),
    clientId: client.client_id,
    requestedScopes: parseScope(form.get('scope')),
    scopeCeiling: scopeCeiling(client, options.clients),
    resource,
    now,
    accessTokenExpiresAt: now + options.accessTokenTtlSeconds,
  });
  const { grant, scopes, upstreamSealed } = grantOf(request, outcome, 'refresh_token');
  const issued = await services.authority.tokensForRefresh(services, { grant, scopes, presented, rotated, upstreamSealed, now });
  return tokenResponse(request, grant, issued, 'refresh_token');
};

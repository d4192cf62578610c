import { OAuthError } from '../../errors.js';
import { randomToken, sha256 } from '../../crypto.js';
import { checkCodeVerifier, s256 } from '../../protocol/pkce.js';
import { grantIdOf } from '../../storage/keys.js';
import { INVALID_CODE } from '../../grants/authorization-code.js';
import { grantOf, tokenResponse, type GrantHandler } from './grant-handler.js';

/** `grant_type=authorization_code` (OAuth 2.1 §4.1.3): the code is redeemed once, atomically, then the authority issues. */
export const authorizationCodeGrant: GrantHandler = async (request) => {
  const { form, client, resource, services, now } = request;
  const { options } = services;
  const code = form.get('code');
  if (!code) throw new OAuthError('invalid_request', 'code is required.');
  const grantId = grantIdOf(code);
  if (!grantId) throw new OAuthError('invalid_grant', INVALID_CODE);
  const verifier = checkCodeVerifier(form.get('code_verifier') ?? undefined);
  const refreshToken = client.grant_types.includes('refresh_token') ? `${grantId}.${randomToken(32)}` : undefined;
  const outcome = await services.grant(grantId).redeemAuthorizationCode({
    codeHash: await sha256(code),
    clientId: client.client_id,
    redirectUri: form.get('redirect_uri') ?? undefined,
    verifierChallenge: await s256(verifier),
    resource,
    refreshTokens: options.refreshTokens,
    now,
    refreshTokenHash: refreshToken ? await sha256(refreshToken) : undefined,
    refreshExpiresAt: now + options.refreshTokenTtlSeconds,
    accessTokenExpiresAt: now + options.accessTokenTtlSeconds,
  });
  const { grant, scopes } = grantOf(request, outcome, 'authorization_code');
  const issued = await services.authority.tokensForCode(services, { grant, scopes, code, refreshToken, now });
  return tokenResponse(request, grant, issued, 'authorization_code');
};

import type { AppContext } from './http.js';
import { noStoreJson, readForm } from './http.js';
import { OAuthError } from '../errors.js';
import { randomToken, sha256 } from '../crypto.js';
import { defer, type Services } from '../services.js';
import { authenticateClient, extractClientCredentials } from '../protocol/client-auth.js';
import { checkCodeVerifier, s256 } from '../protocol/pkce.js';
import { parseScope } from '../protocol/scope.js';
import { grantIdOf } from '../storage/keys.js';
import type { ClientRecord } from '../storage/client-store.js';
import type { GrantOutcome } from '../storage/state-object.js';
import { accessTokenClaims, signAccessToken } from '../tokens/access-token.js';

/** Authenticates the client of a token, introspection or revocation request (RFC 6749 §2.3). */
export async function authenticatedClient(c: AppContext, form: URLSearchParams): Promise<ClientRecord> {
  const credentials = extractClientCredentials(c.req.header('Authorization'), form);
  const services = c.var.services;
  return authenticateClient(credentials, await services.clients.get(credentials.clientId), services.now());
}

/** POST /token (OAuth 2.1 §3.2): authorization_code and refresh_token grants. */
export async function issueToken(c: AppContext): Promise<Response> {
  const form = await readForm(c, { repeatable: ['resource'] });
  const client = await authenticatedClient(c, form);
  const grantType = form.get('grant_type');
  if (!grantType) throw new OAuthError('invalid_request', 'grant_type is required.');
  if (grantType !== 'authorization_code' && grantType !== 'refresh_token')
    throw new OAuthError('unsupported_grant_type', `grant_type "${grantType}" is not supported.`);
  if (!client.grant_types.includes(grantType)) throw new OAuthError('unauthorized_client', `This client may not use the ${grantType} grant.`);
  const resources = form.getAll('resource');
  if (resources.length > 1) throw new OAuthError('invalid_target', 'Only one resource may be requested per token.');
  const resource = resources[0];

  const services = c.var.services;
  const now = services.now();
  const { options } = services;
  const canRefresh = client.grant_types.includes('refresh_token');
  const refreshToken = (grantId: string) => `${grantId}.${randomToken(32)}`;
  const accessTokenExpiresAt = now + options.accessTokenTtlSeconds;

  if (grantType === 'authorization_code') {
    const code = form.get('code');
    if (!code) throw new OAuthError('invalid_request', 'code is required.');
    const grantId = grantIdOf(code);
    if (!grantId) throw new OAuthError('invalid_grant', 'The authorization code is invalid, expired or already used.');
    const verifier = checkCodeVerifier(form.get('code_verifier') ?? undefined);
    const newRefresh = canRefresh ? refreshToken(grantId) : undefined;
    const outcome = await services.grant(grantId).redeemAuthorizationCode({
      codeHash: await sha256(code),
      clientId: client.client_id,
      redirectUri: form.get('redirect_uri') ?? undefined,
      verifierChallenge: await s256(verifier),
      resource,
      now,
      refreshTokenHash: newRefresh ? await sha256(newRefresh) : undefined,
      refreshExpiresAt: now + options.refreshTokenTtlSeconds,
      accessTokenExpiresAt,
    });
    return respondWithTokens(c, services, outcome, 'authorization_code', newRefresh, now);
  }

  const presented = form.get('refresh_token');
  if (!presented) throw new OAuthError('invalid_request', 'refresh_token is required.');
  const grantId = grantIdOf(presented);
  if (!grantId) throw new OAuthError('invalid_grant', 'The refresh token is invalid, expired or revoked.');
  const rotated = refreshToken(grantId);
  const outcome = await services.grant(grantId).rotateRefreshToken({
    presentedHash: await sha256(presented),
    newHash: await sha256(rotated),
    clientId: client.client_id,
    requestedScopes: parseScope(form.get('scope')),
    resource,
    now,
    accessTokenExpiresAt,
  });
  return respondWithTokens(c, services, outcome, 'refresh_token', rotated, now);
}

async function respondWithTokens(
  c: AppContext,
  services: Services,
  outcome: GrantOutcome,
  grantType: 'authorization_code' | 'refresh_token',
  refreshToken: string | undefined,
  now: number,
): Promise<Response> {
  if (!outcome.ok) {
    if (outcome.replay && outcome.grant) {
      const { client_id: clientId, grant_id: grantId } = outcome.grant;
      const what = grantType === 'authorization_code' ? 'authorization_code' : 'refresh_token';
      defer(c, services.emit({ type: 'security.replay_detected', what, clientId, grantId }));
      defer(c, services.emit({ type: 'token.revoked', clientId, grantId, tokenType: 'refresh_token', reason: what === 'authorization_code' ? 'code_replay' : 'refresh_token_reuse' }));
    }
    throw new OAuthError(outcome.error, outcome.description);
  }
  const { grant, scopes } = outcome;
  const { options } = services;
  const claims = accessTokenClaims({
    issuer: options.issuer,
    sub: grant.sub,
    resource: grant.resource,
    clientId: grant.client_id,
    scopes,
    grantId: grant.grant_id,
    now,
    ttlSeconds: options.accessTokenTtlSeconds,
  });
  const accessToken = await signAccessToken(claims, await services.keys());
  const issuesRefresh = grant.refresh_expires_at !== null && refreshToken !== undefined;
  defer(
    c,
    services.emit({
      type: 'token.issued',
      grantType,
      clientId: grant.client_id,
      sub: grant.sub,
      scopes,
      resource: grant.resource,
      grantId: grant.grant_id,
      jti: claims.jti,
      expiresAt: claims.exp,
      refreshTokenIssued: issuesRefresh,
    }),
  );
  return noStoreJson(c, {
    access_token: accessToken,
    token_type: 'Bearer',
    expires_in: options.accessTokenTtlSeconds,
    scope: claims.scope,
    ...(issuesRefresh ? { refresh_token: refreshToken } : {}),
  });
}

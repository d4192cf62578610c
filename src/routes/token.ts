import type { AppContext } from './http.js';
import { authenticatedClient, noStoreJson, readForm } from './http.js';
import { OAuthError } from '../errors.js';
import { randomToken, sha256 } from '../crypto.js';
import { defer, type Services } from '../services.js';
import { checkCodeVerifier, s256 } from '../protocol/pkce.js';
import { parseScope, scopeCeiling } from '../protocol/scope.js';
import { grantIdOf } from '../storage/keys.js';
import type { GrantOutcome } from '../storage/state-object.js';
import type { GrantRecord } from '../grants/grant-record.js';
import { accessTokenClaims, signAccessToken } from '../tokens/access-token.js';
import { exchangeGrantexCode, refreshGrantex, revokeUpstreamGrant, type IssuedTokens } from '../authority/grantex/tokens.js';

const INVALID_CODE = 'The authorization code is invalid, expired or already used.';
const INVALID_REFRESH = 'The refresh token is invalid, expired or revoked.';

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
  const { options } = services;
  const now = services.now();
  const accessTokenExpiresAt = now + options.accessTokenTtlSeconds;

  if (grantType === 'authorization_code') {
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
      accessTokenExpiresAt,
    });
    const { grant, scopes } = await granted(c, outcome, 'authorization_code');
    const issued = options.authority
      ? await exchangeGrantexCode(services, options.authority, grant, code, refreshToken)
      : await signLocalTokens(services, grant, scopes, refreshToken, now);
    return respond(c, services, grant, issued, 'authorization_code');
  }

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
    accessTokenExpiresAt,
  });
  const { grant, scopes, upstreamSealed } = await granted(c, outcome, 'refresh_token');
  const issued = options.authority
    ? await refreshGrantex(services, options.authority, grant, upstreamSealed, presented, rotated)
    : await signLocalTokens(services, grant, scopes, rotated, now);
  return respond(c, services, grant, issued, 'refresh_token');
}

/** The grant a redemption or rotation succeeded on; a replay is audited before the error. */
async function granted(c: AppContext, outcome: GrantOutcome, what: 'authorization_code' | 'refresh_token'): Promise<Extract<GrantOutcome, { ok: true }>> {
  if (outcome.ok) return outcome;
  const services = c.var.services;
  if (outcome.replay && outcome.grant) {
    const { client_id: clientId, grant_id: grantId, sub, upstream_grant_id: upstreamGrantId } = outcome.grant;
    // The grant is gone here; upstream it must die too.
    if (upstreamGrantId && services.options.authority) defer(c, revokeUpstreamGrant(services, services.options.authority, upstreamGrantId, what === 'authorization_code' ? 'code replay' : 'refresh token reuse'));
    defer(c, services.emit({ type: 'security.replay_detected', what, clientId, grantId }));
    defer(c, services.emit({
      type: 'token.revoked',
      clientId,
      sub,
      grantId,
      upstreamGrantId: upstreamGrantId ?? undefined,
      tokenType: 'refresh_token',
      reason: what === 'authorization_code' ? 'code_replay' : 'refresh_token_reuse',
    }));
  }
  throw new OAuthError(outcome.error, outcome.description);
}

/** Local authority: an RFC 9068 JWT signed with this server's key. */
async function signLocalTokens(services: Services, grant: GrantRecord, scopes: string[], refreshToken: string | undefined, now: number): Promise<IssuedTokens> {
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
  return {
    accessToken: await signAccessToken(claims, await services.keys()),
    expiresIn: options.accessTokenTtlSeconds,
    scopes,
    jti: claims.jti,
    exp: claims.exp,
    refreshToken: grant.refresh_expires_at !== null ? refreshToken : undefined,
  };
}

function respond(c: AppContext, services: Services, grant: GrantRecord, issued: IssuedTokens, grantType: 'authorization_code' | 'refresh_token'): Response {
  defer(
    c,
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

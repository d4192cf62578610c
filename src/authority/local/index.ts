import type { ResolvedOptions } from '../../options.js';
import type { Services } from '../../services.js';
import type { GrantRecord } from '../../grants/grant-record.js';
import { approvedGrant } from '../../grants/grant-record.js';
import { randomToken, sha256 } from '../../crypto.js';
import { authorizationResponseUrl } from '../../protocol/authorization-request.js';
import { noStoreRedirect } from '../../http/responses.js';
import { accessTokenClaims, readOwnAccessToken, signAccessToken } from '../../tokens/access-token.js';
import type { GrantAuthority, IssuedTokens } from '../types.js';

/** The embedded signer (the default): this server's grants, RFC 9068 JWTs signed with its own keys. */
export function localAuthority(options: ResolvedOptions): GrantAuthority {
  return {
    ownConsentPage: false,
    consentOrigins: [],
    routes: [],

    // OAuth 2.1 §4.1.2: a code of ours, bound to the grant the user approved.
    async startAuthorization(c, request, principal) {
      const services = c.var.services;
      const grantId = randomToken(16);
      const code = `${grantId}.${randomToken(32)}`;
      const now = services.now();
      await services.createGrant(
        approvedGrant(request, principal.id, { grantId, codeHash: await sha256(code), codeExpiresAt: now + options.codeExpirationSeconds, now }),
      );
      return noStoreRedirect(c, authorizationResponseUrl(request.redirectUri, options.issuer, { code, state: request.state }), 303);
    },

    tokensForCode: (services, { grant, scopes, refreshToken, now }) => signTokens(services, grant, scopes, refreshToken, now),
    tokensForRefresh: (services, { grant, scopes, rotated, now }) => signTokens(services, grant, scopes, rotated, now),

    async readAccessToken(services, token) {
      const claims = await readOwnAccessToken(token, await services.keys(), options.issuer, options.resources, options.clock());
      if (!claims) return undefined;
      const { scope, sub, aud, iss, exp, iat, jti, grnt } = claims;
      // Our grant id stays internal: a local grant has no Grantex name.
      return { jti, exp, grantId: grnt, fields: { scope, sub, aud, iss, exp, iat, jti, token_type: 'Bearer' } };
    },

    // RFC 7009 §2.1: an access token joins its grant's denylist; a refresh token takes its grant down.
    revoke(services, found) {
      const stub = services.grant(found.grant.grant_id);
      const clientId = found.grant.client_id;
      return found.kind === 'access_token'
        ? stub.revokeAccessToken({ jti: found.view.jti, exp: found.view.exp, clientId })
        : stub.revokeGrant({ clientId, refreshTokenHash: found.tokenHash });
    },

    replayed: async () => {},
    grantsEnded: async () => undefined,
    refreshTokenFields: () => ({}),

    resourceTokenCheck: (resource) => ({
      async verifierFor(services) {
        const keys = await services.keys();
        return {
          scope: keys,
          options: () => ({
            issuer: options.issuer,
            audience: resource,
            algorithms: [options.signingAlgorithm],
            keys: keys.jwks,
            now: options.clock,
            clockToleranceSeconds: 0, // the issuer's own clock: no skew to allow for
            // RFC 7009: revoked when the grant is gone or the `jti` is on its denylist.
            checkRevocation: async (grant) => !grant.grantId || !(await services.grant(grant.grantId).accessTokenStatus(grant.jti)).active,
          }),
        };
      },
    }),
  };
}

/** An RFC 9068 JWT signed with this server's key. */
async function signTokens(services: Services, grant: GrantRecord, scopes: string[], refreshToken: string | undefined, now: number): Promise<IssuedTokens> {
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

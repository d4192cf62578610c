import type { ResolvedOptions } from '../options.js';
import type { LoadedKeys } from '../services.js';
import type { UpstreamLinkStore } from '../storage/stores.js';
import { readOwnAccessToken } from './access-token.js';
import { readGrantToken } from '../authority/grantex/config.js';
import { createTokenVerifier } from '../verify/index.js';

/** What introspection and revocation need to know about a valid access token. */
export interface AccessTokenView {
  jti: string;
  exp: number;
  /** Our grant (its Durable Object holds the client binding and the denylist). */
  grantId: string;
  /** Grantex mode: the upstream grant to revoke. */
  upstreamGrantId?: string;
  /** RFC 7662 §2.2 members of an active answer (client_id is added from the grant). */
  fields: Record<string, string | number | undefined>;
}

export type AccessTokenReader = (token: string) => Promise<AccessTokenView | undefined>;

/**
 * Reads an access token of this server: a JWT it signed (local), or a Grantex grant token that
 * one of its grants produced (grantex). Anything else is undefined.
 */
export function createAccessTokenReader(
  options: ResolvedOptions,
  keys: () => Promise<LoadedKeys>,
  upstreamLink: (upstreamGrantId: string) => UpstreamLinkStore,
): AccessTokenReader {
  const authority = options.authority;
  if (!authority) {
    return async (token) => {
      const claims = await readOwnAccessToken(token, await keys(), options.issuer, options.resources, options.clock());
      if (!claims) return undefined;
      const { scope, sub, aud, iss, exp, iat, jti, grnt } = claims;
      // Our grant id stays internal: a local grant has no Grantex name.
      return { jti, exp, grantId: grnt, fields: { scope, sub, aud, iss, exp, iat, jti, token_type: 'Bearer' } };
    };
  }
  const verify = createTokenVerifier(authority.verifierOptions(options.resources));
  return async (token) => {
    const grant = await readGrantToken(authority, verify, token);
    if (!grant?.grantId) return undefined;
    const link = await upstreamLink(grant.grantId).upstreamLink();
    if (!link) return undefined;
    const claims = grant.claims;
    return {
      jti: grant.jti,
      exp: grant.exp,
      grantId: link.grantId,
      upstreamGrantId: grant.grantId,
      fields: {
        scope: grant.scopes.join(' '),
        sub: grant.sub,
        aud: typeof claims.aud === 'string' ? claims.aud : undefined,
        iss: grant.iss,
        exp: grant.exp,
        iat: grant.iat,
        jti: grant.jti,
        token_type: 'Bearer',
        grantex_grant_id: grant.grantId,
        grantex_agent_did: grant.agentDid,
        grantex_developer_id: grant.developerId,
        grantex_delegation_depth: grant.delegationDepth ?? 0,
        grantex_parent_agent: typeof claims.parentAgt === 'string' ? claims.parentAgt : undefined,
        grantex_budget_remaining: typeof claims.bdg === 'number' ? claims.bdg : undefined,
      },
    };
  };
}

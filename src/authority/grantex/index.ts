import type { ResolvedOptions } from '../../options.js';
import type { Services } from '../../services.js';
import type { AuditEvent } from '../../events.js';
import { OAuthError } from '../../errors.js';
import { createTokenVerifier, type McpGrant, type TokenVerifier } from '../../verify/index.js';
import type { GrantAuthority, ResourceTokenCheck } from '../types.js';
import { GrantexError } from './client.js';
import { readGrantToken, upstreamError, type GrantexAuthority } from './config.js';
import { exchangeGrantexCode, refreshGrantex, revokeUpstreamGrant } from './tokens.js';
import { CALLBACK_PATH, startUpstreamAuthorization, upstreamCallback } from './authorization.js';

/**
 * Grantex as the grant authority (docs/architecture.md#grantex): consent, grants, token signing
 * and revocation happen at Grantex; this server keeps a grant of its own per Grantex grant and the
 * link between them (trust: a grant token is accepted only when this server issued it).
 */
export function grantexAuthority(config: GrantexAuthority, options: ResolvedOptions): GrantAuthority {
  let introspectionVerifier: TokenVerifier | undefined;
  return {
    ownConsentPage: true,
    consentOrigins: config.consentOrigins,
    routes: [{ path: CALLBACK_PATH, handle: upstreamCallback }],
    signingKeyRotationRefusal: 'Grantex signs the tokens in Grantex mode; there is no signing key here to rotate.',
    forwardAuditEvent: config.forwardAuditEvents ? (event) => forwardToGrantex(config, event) : undefined,

    startAuthorization: (c, request, principal) => startUpstreamAuthorization(c, config, request, principal),
    tokensForCode: (services, { grant, code, refreshToken }) => exchangeGrantexCode(services, config, grant, code, refreshToken),
    tokensForRefresh: (services, { grant, upstreamSealed, presented, rotated }) => refreshGrantex(services, config, grant, upstreamSealed, presented, rotated),

    // A Grantex grant token that one of our grants produced (the link names our grant).
    async readAccessToken(services, token) {
      introspectionVerifier ??= createTokenVerifier(config.verifierOptions(options.resources));
      const grant = await readGrantToken(config, introspectionVerifier, token, options.logger);
      if (!grant?.grantId) return undefined;
      const link = await services.upstreamLink(grant.grantId).upstreamLink();
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
    },

    /**
     * Either token revokes the Grantex grant (`DELETE /v1/grants/{id}`), so Grantex's refresh
     * token dies too, then ours. 404: already gone upstream. Anything retryable: our state is
     * kept so the client can retry.
     */
    async revoke(services, found) {
      const clientId = found.grant.client_id;
      const upstreamGrantId = found.grant.upstream_grant_id;
      if (upstreamGrantId) {
        try {
          await config.api.grants.revoke(upstreamGrantId);
        } catch (err) {
          if (!(err instanceof GrantexError && err.status === 404))
            throw upstreamError(
              err,
              new OAuthError('temporarily_unavailable', 'The grant could not be revoked; retry later.', { status: 503 }),
              options.logger,
            );
        }
        await services.upstreamLink(upstreamGrantId).unlinkUpstreamGrant();
      }
      return services.grant(found.grant.grant_id).revokeGrant({ clientId, refreshTokenHash: found.kind === 'refresh_token' ? found.tokenHash : undefined });
    },

    // Our grant is gone; upstream it must end too.
    async replayed(services, grant, what) {
      if (grant.upstream_grant_id)
        await revokeUpstreamGrant(services, config, grant.upstream_grant_id, what === 'authorization_code' ? 'code replay' : 'refresh token reuse');
    },

    async grantsEnded(services, grants, reason) {
      const notRevoked: string[] = [];
      for (const grant of grants) {
        if (grant.upstream_grant_id && !(await revokeUpstreamGrant(services, config, grant.upstream_grant_id, reason)))
          notRevoked.push(grant.upstream_grant_id);
      }
      return notRevoked;
    },

    // Grantex's own grant id (`grnt`).
    refreshTokenFields: (grant): Record<string, string> => (grant.upstream_grant_id ? { grantex_grant_id: grant.upstream_grant_id } : {}),

    resourceTokenCheck: (resource) => resourceTokenCheck(config, options, resource),
  };
}

/**
 * protect() in Grantex mode. Contract (trust): a grant token is accepted only when its grant was
 * issued through this server (our /token linked it); grant tokens carry no `client_id`, the link
 * names the client. Revoked (RFC 7009) when the link is gone (a revocation or a refresh-token
 * replay removes it) or our grant is. One verifier per bindings.
 */
function resourceTokenCheck(config: GrantexAuthority, options: ResolvedOptions, resource: string): ResourceTokenCheck {
  /** Our grant behind each accepted grant token (set by `issuedHere`). */
  const ourGrantIds = new WeakMap<McpGrant, string>();
  /** Runs on a full verification only: the enriched grant is remembered with the token. */
  const issuedHere =
    (services: Services) =>
    async (grant: McpGrant): Promise<McpGrant | false> => {
      const link = grant.grantId === undefined ? undefined : await services.upstreamLink(grant.grantId).upstreamLink();
      if (!link) return false;
      const enriched = { ...grant, clientId: link.clientId };
      ourGrantIds.set(enriched, link.grantId);
      return enriched;
    };
  const revoked =
    (services: Services) =>
    async (grant: McpGrant): Promise<boolean> => {
      if (!grant.grantId) return true;
      const ours = ourGrantIds.get(grant);
      if (ours === undefined) return true;
      const [link, status] = await Promise.all([services.upstreamLink(grant.grantId).upstreamLink(), services.grant(ours).accessTokenStatus(grant.jti)]);
      return link?.grantId !== ours || !status.active;
    };
  return {
    verifierFor: async (services) => ({
      scope: services,
      options: () => ({ ...config.verifierOptions([resource]), now: options.clock, checkRevocation: revoked(services), checkGrant: issuedHere(services) }),
    }),
  };
}

/** Issuance and revocation also go to `POST /v1/audit/log` (its hash chain). */
async function forwardToGrantex(config: GrantexAuthority, event: AuditEvent): Promise<void> {
  if (event.type !== 'token.issued' && event.type !== 'token.revoked') return;
  if (!event.sub || !(event.upstreamGrantId ?? event.grantId)) return;
  const { type, sub, upstreamGrantId, grantId, ...metadata } = event;
  await config.api.audit.log({
    agentId: config.agentId,
    agentDid: config.agentDid,
    grantId: (upstreamGrantId ?? grantId)!,
    principalId: sub,
    action: type,
    metadata: { ...metadata, mcpGrantId: grantId },
    status: 'success',
  });
}

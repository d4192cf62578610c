import { OAuthError } from '../../errors.js';
import { seal, sha256, unseal } from '../../crypto.js';
import { errorFields, type Logger } from '../../log.js';
import type { Services } from '../../services.js';
import type { GrantRecord } from '../../grants/grant-record.js';
import { GrantexError, type GrantexTokenResponse } from './client.js';
import { grantTokenFacts, secondsUntil, upstreamError, type GrantexAuthority } from './config.js';
import { upstreamCallbackUrl } from './authorization.js';
import type { IssuedTokens } from '../types.js';
import { INVALID_CODE } from '../../grants/authorization-code.js';
import { INVALID_REFRESH } from '../../grants/refresh-token.js';

const ENDED = 'The grant authority did not confirm the request; the authorization has ended. Start a new authorization.';
const REPLAYED = 'The grant was ended while its tokens were being issued.';
/** Clock difference allowed between this server and Grantex when matching `issuedAt`. */
const ISSUED_AT_SKEW_SECONDS = 60;

/**
 * How a Grantex code exchange or refresh ended: tokens, a refusal (the work was not done, or was
 * done by an earlier attempt whose answer was lost), or unavailable (not known to be done).
 */
type Settled = { ok: true; response: GrantexTokenResponse } | { ok: false; refused: boolean; error: unknown; afterUnknown: boolean };

/**
 * Calls Grantex once; when the outcome is unknown (no answer, 502, 504), once more. Codes and
 * refresh tokens are single-use at Grantex (a row lock, then consumed), so the second call cannot
 * do the work twice: it does it (the first did not), or it is refused (the first did, or still is
 * doing it, and its answer is lost). Grantex ignores `Idempotency-Key`, so nothing else can tell.
 */
async function settle(call: () => Promise<GrantexTokenResponse>, logger: Logger): Promise<Settled> {
  let afterUnknown = false;
  for (;;) {
    try {
      return { ok: true, response: await call() };
    } catch (err) {
      if (!(err instanceof GrantexError)) throw err;
      if (err.outcomeUnknown && !afterUnknown) {
        afterUnknown = true;
        logger.warn('grant authority outcome unknown; asking again', { operation: err.operation, status: err.status, code: err.code });
        continue;
      }
      return { ok: false, refused: !err.retryable, error: err, afterUnknown };
    }
  }
}

/**
 * Grantex: exchanges the upstream code (sealed with our code) for the grant token.
 * - unavailable: our code is given back, the client may retry (503, `Retry-After`);
 * - refused: our grant ends, and any Grantex grant this code produced is found and revoked;
 * - issued: linked, then attached to our grant; if our grant ended meanwhile (a parallel
 *   redemption of the same code, RFC 9700 §4.5.3), the Grantex grant is revoked and nothing issued.
 */
export async function exchangeGrantexCode(
  services: Services,
  authority: GrantexAuthority,
  grant: GrantRecord,
  code: string,
  refreshToken: string | undefined,
): Promise<IssuedTokens> {
  const ours = services.grant(grant.grant_id);
  const opened = grant.upstream_sealed ? await unseal(grant.upstream_sealed, code) : undefined;
  if (!opened) throw new OAuthError('invalid_grant', INVALID_CODE);
  const upstream = JSON.parse(opened) as { code: string; verifier: string };
  const settled = await settle(
    () =>
      authority.api.tokens.exchange({
        code: upstream.code,
        agentId: authority.agentId,
        codeVerifier: upstream.verifier,
        redirectUri: upstreamCallbackUrl(services.options),
      }),
    services.options.logger,
  );
  if (!settled.ok) {
    const mapped = upstreamError(settled.error, new OAuthError('invalid_grant', settled.afterUnknown ? ENDED : INVALID_CODE), services.options.logger);
    if (!settled.refused) {
      await services.upstreamGrant(grant.grant_id).releaseAuthorizationCode();
      throw mapped;
    }
    await ours.revokeGrant({ clientId: grant.client_id });
    await revokeUnlinkedGrants(services, authority, grant);
    throw mapped;
  }
  return keepUpstreamTokens(services, authority, grant, settled.response, refreshToken);
}

/** Grantex: refreshes upstream with Grantex's refresh token, which only our presented token unseals. */
export async function refreshGrantex(
  services: Services,
  authority: GrantexAuthority,
  grant: GrantRecord,
  sealedRefresh: string | null | undefined,
  presented: string,
  rotated: string,
): Promise<IssuedTokens> {
  const ours = services.grant(grant.grant_id);
  const upstreamRefresh = sealedRefresh ? await unseal(sealedRefresh, presented) : undefined;
  if (!upstreamRefresh) throw new OAuthError('invalid_grant', INVALID_REFRESH);
  const settled = await settle(() => authority.api.tokens.refresh({ refreshToken: upstreamRefresh, agentId: authority.agentId }), services.options.logger);
  if (!settled.ok) {
    const mapped = upstreamError(settled.error, new OAuthError('invalid_grant', settled.afterUnknown ? ENDED : INVALID_REFRESH), services.options.logger);
    if (!settled.refused) {
      await services.upstreamGrant(grant.grant_id).rollbackRefreshRotation({ presentedHash: await sha256(presented), newHash: await sha256(rotated) });
      throw mapped;
    }
    // Refused: Grantex's refresh token is spent (its successor lost) or its grant is over. Ours ends with it.
    await ours.revokeGrant({ clientId: grant.client_id });
    if (grant.upstream_grant_id) await revokeUpstreamGrant(services, authority, grant.upstream_grant_id, 'refresh refused');
    throw mapped;
  }
  return keepUpstreamTokens(services, authority, grant, settled.response, rotated);
}

/**
 * Links Grantex's grant to ours first, then attaches its tokens to our grant. In this order a
 * grant of ours that ends at any moment takes the Grantex grant with it: before the attach, the
 * attach fails and the Grantex grant is revoked here; after it, whoever ends our grant sees the
 * upstream id and revokes it (`replayed` and `revoke` in src/authority/grantex/index.ts).
 */
async function keepUpstreamTokens(
  services: Services,
  authority: GrantexAuthority,
  grant: GrantRecord,
  response: GrantexTokenResponse,
  refreshToken: string | undefined,
): Promise<IssuedTokens> {
  const now = services.now();
  const facts = grantTokenFacts(response);
  const keepsRefresh = refreshToken !== undefined && grant.refresh_expires_at !== null;
  let attached: boolean;
  try {
    await services.upstreamLink(response.grantId).linkUpstreamGrant({
      upstreamGrantId: response.grantId,
      grantId: grant.grant_id,
      clientId: grant.client_id,
      expiresAt: Math.max(grant.refresh_expires_at ?? 0, facts.exp, now + 60),
    });
    attached = await services.upstreamGrant(grant.grant_id).attachUpstreamTokens({
      upstreamGrantId: response.grantId,
      upstreamExpiresAt: facts.exp, // grant tokens expire with their grant (refresh does not extend it)
      refreshTokenHash: keepsRefresh ? await sha256(refreshToken) : undefined,
      sealedRefresh: keepsRefresh ? await seal(response.refreshToken, refreshToken) : undefined,
    });
  } catch (err) {
    // Our storage failed after Grantex issued: nobody will hold these tokens, so neither may Grantex.
    await revokeUpstreamGrant(services, authority, response.grantId, 'storage failed during issuance');
    throw err;
  }
  if (!attached) {
    await revokeUpstreamGrant(services, authority, response.grantId, 'grant ended during issuance');
    throw new OAuthError('invalid_grant', REPLAYED);
  }
  return {
    accessToken: response.grantToken,
    expiresIn: secondsUntil(response.expiresAt, now),
    scopes: response.scopes,
    jti: facts.jti,
    exp: facts.exp,
    refreshToken: keepsRefresh ? refreshToken : undefined,
    upstreamGrantId: response.grantId,
  };
}

/**
 * Revokes a Grantex grant (`DELETE /v1/grants/{id}`; 404: already revoked) and removes its link.
 * Never throws: a failure is logged with the id for the operator. A link left behind points to a
 * grant of ours that is gone, so `protect()` keeps refusing the grant's tokens.
 */
export async function revokeUpstreamGrant(services: Services, authority: GrantexAuthority, upstreamGrantId: string, reason: string): Promise<boolean> {
  try {
    await authority.api.grants.revoke(upstreamGrantId);
  } catch (err) {
    if (!(err instanceof GrantexError && err.status === 404)) {
      services.options.logger.error('upstream grant could not be revoked', { upstreamGrantId, reason, ...errorFields(err) });
      return false;
    }
  }
  try {
    await services.upstreamLink(upstreamGrantId).unlinkUpstreamGrant();
  } catch (err) {
    services.options.logger.warn('upstream grant revoked, its link not removed', { upstreamGrantId, reason, ...errorFields(err) });
  }
  return true;
}

/**
 * After a refused exchange, the Grantex grant this code may have produced (an earlier attempt
 * whose answer was lost) is unknown by id. Grantex lists the developer's grants: an active grant
 * of our agent for this principal, issued since this authorization started and linked to no grant
 * of ours, was issued for no one we answered, and is revoked. Contract: `GET /v1/grants`.
 */
async function revokeUnlinkedGrants(services: Services, authority: GrantexAuthority, grant: GrantRecord): Promise<void> {
  let listed;
  try {
    listed = await authority.api.grants.list({ agentId: authority.agentId, principalId: grant.sub, status: 'active' });
  } catch (err) {
    services.options.logger.error('unlinked upstream grants could not be listed', { grantId: grant.grant_id, ...errorFields(err) });
    return;
  }
  const since = (grant.created_at - ISSUED_AT_SKEW_SECONDS) * 1000;
  for (const candidate of listed.grants) {
    if (candidate.status !== 'active' || !(Date.parse(candidate.issuedAt) >= since)) continue;
    if (await services.upstreamLink(candidate.grantId).upstreamLink()) continue;
    if (await revokeUpstreamGrant(services, authority, candidate.grantId, 'issued for a refused exchange'))
      services.options.logger.warn('revoked an upstream grant no grant of ours holds', { upstreamGrantId: candidate.grantId, grantId: grant.grant_id });
  }
}

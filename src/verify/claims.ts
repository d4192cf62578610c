/** The header and claims of a token jose has verified, read into an `McpGrant` (RFC 9068, Grantex). */
import type { JWSHeaderParameters, JWTPayload } from 'jose';
import { canonicalResource } from '../protocol/resource.js';
import type { Config } from './config.js';
import { TokenVerificationError } from './errors.js';
import type { McpGrant } from './types.js';

/** RFC 8725 §3.1 (the allowlist decides, never the token) and §3.11 / RFC 9068 §4 (explicit typing). */
export function checkHeader(header: JWSHeaderParameters, profile: Config['profile'], algorithms: readonly string[]): void {
  if (typeof header.alg !== 'string' || !algorithms.includes(header.alg))
    throw new TokenVerificationError('unsupported_algorithm', 'The access token signing algorithm is not accepted');
  // Explicit typing prevents cross-JWT confusion (ID tokens etc.).
  const typ = typeof header.typ === 'string' ? header.typ.toLowerCase() : undefined;
  const typeOk =
    profile === 'rfc9068'
      ? typ === 'at+jwt' || typ === 'application/at+jwt'
      : typ === undefined || typ === 'jwt' || typ === 'at+jwt' || typ === 'application/at+jwt';
  if (!typeOk) throw new TokenVerificationError('wrong_type', 'The access token has the wrong JWT type (typ)');
}

function invalidClaim(claim: string): TokenVerificationError {
  return new TokenVerificationError('malformed', `The access token has an invalid ${claim} claim`);
}

/** A claim that must be a non-empty string when present. */
function optionalString(claims: JWTPayload, claim: string): string | undefined {
  const value = claims[claim];
  if (value !== undefined && (typeof value !== 'string' || value === '')) throw invalidClaim(claim);
  return value as string | undefined;
}

/** RFC 8707: `aud` (a string or an array) names one of the configured resources, compared like `sameResource()`. */
function audienceMatches(aud: unknown, audiences: Set<string>): boolean {
  const matches = (value: unknown) => typeof value === 'string' && (audiences.has(value) || audiences.has(canonicalResource(value) ?? ''));
  return typeof aud === 'string' ? matches(aud) : Array.isArray(aud) && aud.some(matches);
}

export function toGrant(raw: string, claims: JWTPayload, config: Config): McpGrant {
  // RFC 9068 §4 step 4, RFC 8707: the audience must name this resource.
  if (config.audiences.size > 0 && !audienceMatches(claims.aud, config.audiences))
    throw new TokenVerificationError('wrong_audience', 'The access token is not intended for this resource');
  // jose checks iat only with maxTokenAge; a token issued in the future is not valid yet.
  if (claims.iat! > config.now() + config.tolerance) throw new TokenVerificationError('not_yet_valid', 'The access token is not valid yet (iat in the future)');

  const sub = optionalString(claims, 'sub')!;
  const jti = optionalString(claims, 'jti')!;
  const clientId = optionalString(claims, 'client_id');
  const agentDid = optionalString(claims, 'agt');
  const developerId = optionalString(claims, 'dev');
  const grantId = optionalString(claims, 'grnt');
  if (config.agent !== undefined && agentDid !== config.agent) throw new TokenVerificationError('wrong_agent', 'The access token was granted to another agent');
  if (config.developer !== undefined && developerId !== config.developer)
    throw new TokenVerificationError('wrong_developer', 'The access token was granted by another developer');

  let scopes: string[];
  const { scp, scope } = claims;
  if (Array.isArray(scp)) {
    for (const s of scp) if (typeof s !== 'string') throw invalidClaim('scp');
    scopes = scp as string[];
  } else if (scp !== undefined) {
    if (typeof scp !== 'string') throw invalidClaim('scp');
    scopes = splitScope(scp);
  } else if (scope !== undefined) {
    if (typeof scope !== 'string') throw invalidClaim('scope');
    scopes = splitScope(scope);
  } else scopes = [];

  let delegationDepth = claims.delegationDepth;
  if (delegationDepth === undefined) delegationDepth = config.profile === 'grantex' ? 0 : undefined;
  else if (!Number.isSafeInteger(delegationDepth) || (delegationDepth as number) < 0) throw invalidClaim('delegationDepth');

  const grant: McpGrant = { sub, iss: claims.iss!, jti, scopes, exp: claims.exp!, iat: claims.iat!, raw, claims };
  if (clientId !== undefined) grant.clientId = clientId;
  if (agentDid !== undefined) grant.agentDid = agentDid;
  if (developerId !== undefined) grant.developerId = developerId;
  if (grantId !== undefined) grant.grantId = grantId;
  if (delegationDepth !== undefined) grant.delegationDepth = delegationDepth as number;
  return grant;
}

function splitScope(value: string): string[] {
  return value.split(' ').filter((s) => s !== '');
}

/**
 * Framework-free access-token verification for MCP resource servers (`mcp-auth-edge/verify`).
 * Web APIs and jose only: runs in Workers and on Node 20.
 */
import { jwtVerify, type JWTPayload } from 'jose';
import { createVerifiedTokenCache } from './cache.js';
import { joseOptions, resolveConfig, type Config } from './config.js';
import { toGrant } from './claims.js';
import { TokenVerificationError } from './errors.js';
import { verifyAfterFailure } from './failures.js';
import { errorFields } from '../log.js';
import type { McpGrant, TokenVerifier, VerifyOptions } from './types.js';

export { TokenVerificationError, type VerifyErrorCode } from './errors.js';
export { introspectionRevocationCheck, type IntrospectionRevocationCheckOptions } from './introspection.js';
export { createScopeMatcher, type ScopeHierarchy } from './scopes.js';
export { SUPPORTED_ALGORITHMS, type McpGrant, type TokenVerifier, type VerifyAlgorithm, type VerifyOptions } from './types.js';
export type { Logger, LogFields } from '../log.js';

/** Verified tokens a verifier with local keys remembers unless told otherwise. */
const DEFAULT_VERIFIED_TOKEN_CACHE_SIZE = 1000;

/**
 * Validates the options once and returns a verifier reusing one key cache: build it at startup
 * (or in a middleware factory), not per request. With local `keys` it remembers up to 1000
 * verified tokens by default; with a remote JWKS only when `verifiedTokenCacheSize` is given.
 *
 * @example
 * ```ts
 * const verify = createTokenVerifier({ issuer: 'https://auth.example.com', audience: 'https://api.example.com/mcp' });
 * try {
 *   const grant = await verify(token); // { sub, scopes, clientId, exp, ... }
 * } catch (err) {
 *   if (err instanceof TokenVerificationError) console.log(err.code, err.unavailable ? 503 : 401);
 * }
 * ```
 */
export function createTokenVerifier(options: VerifyOptions): TokenVerifier {
  const config = resolveConfig(options);
  // Remembering tokens verified under a remote JWKS is opt-in (`verifiedTokenCacheSize`); local keys remember by default.
  const size = options.verifiedTokenCacheSize ?? (options.keys === undefined ? 0 : DEFAULT_VERIFIED_TOKEN_CACHE_SIZE);
  if (!Number.isSafeInteger(size) || size < 0) throw new TypeError('verify: verifiedTokenCacheSize must be a whole number >= 0');
  if (size > 0) config.cache = createVerifiedTokenCache(size);
  return (token) => verifyWithConfig(token, config);
}

/**
 * One-shot verification (nothing of the token is remembered). Remote key sets are still cached
 * per JWKS URL for the whole isolate.
 *
 * @example
 * ```ts
 * const grant = await verifyAccessToken(token, { issuer: 'https://auth.example.com', audience: 'https://api.example.com/mcp' });
 * ```
 */
export async function verifyAccessToken(token: string, options: VerifyOptions): Promise<McpGrant> {
  return verifyWithConfig(token, resolveConfig(options));
}

async function verifyWithConfig(token: string, config: Config): Promise<McpGrant> {
  try {
    return await verifyOnce(token, config);
  } catch (err) {
    // No decision (keys or revocation status unreachable): the operator needs the cause, the client never sees it.
    if (err instanceof TokenVerificationError && err.unavailable)
      config.logger.warn('access token could not be verified', { reason: err.code, ...errorFields(err.cause) });
    throw err;
  }
}

async function verifyOnce(token: string, config: Config): Promise<McpGrant> {
  const { cache } = config;
  // Read before verifying: a key set replaced meanwhile must not vouch for this verification.
  const keySet = cache && config.keys.currentSet();
  const now = cache ? config.now() : 0;
  let entry = cache?.lookup(token, keySet, now, config.tolerance);
  let grant = entry?.grant;
  if (!grant) {
    const options = joseOptions(config);
    let payload: JWTPayload;
    try {
      // The common case, with no async layer of ours between this and jose.
      payload = (await jwtVerify(token, config.getKey, options)).payload;
    } catch (err) {
      payload = await verifyAfterFailure(token, err, config, options);
    }
    grant = toGrant(token, payload, config);
    if (config.checkGrant) {
      const accepted = await runCheck(config.checkGrant, grant);
      if (accepted !== true && (typeof accepted !== 'object' || accepted === null))
        throw new TokenVerificationError('unknown_grant', 'The access token belongs to no grant issued by this server');
      if (accepted !== true) grant = accepted;
    }
    entry = cache?.set(token, grant, keySet, now);
  }
  const check = config.checkRevocation;
  // A remembered "not revoked" stands until `revocationCheckInterval` has passed; "revoked" is final.
  if (check && (entry === undefined || entry.revoked || now >= entry.statusCheckedUntil)) {
    if (entry?.revoked || (await runCheck(check, grant))) {
      if (entry) entry.revoked = true;
      throw new TokenVerificationError('revoked', 'The access token has been revoked');
    }
    // `now` was read before the check: the interval counts from before the answer, never after.
    if (entry) entry.statusCheckedUntil = now + config.revocationCheckInterval;
  }
  return grant;
}

/** A hook of ours to run; one that throws (cannot decide) is `revocation_unavailable` (503). */
async function runCheck<T>(check: (grant: McpGrant) => Promise<T>, grant: McpGrant): Promise<T> {
  try {
    return await check(grant);
  } catch (err) {
    if (err instanceof TokenVerificationError) throw err;
    throw new TokenVerificationError('revocation_unavailable', 'The token revocation status could not be checked', { cause: err });
  }
}

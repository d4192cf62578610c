/**
 * Framework-free access-token verification for MCP resource servers (`mcp-auth-edge/verify`).
 * Web APIs and jose only: runs in Workers and on Node 20.
 */
import {
  decodeProtectedHeader,
  errors,
  jwtVerify,
  type JSONWebKeySet,
  type JWSHeaderParameters,
  type JWTPayload,
  type JWTVerifyGetKey,
  type JWTVerifyOptions,
} from 'jose';
import { canonicalResource } from '../protocol/resource.js';
import { createVerifiedTokenCache, type VerifiedTokenCache } from './cache.js';
import { TokenVerificationError } from './errors.js';
import { KeyFunctionFailure, localKeySource, remoteKeySource, type KeySource } from './keys.js';
import { errorFields, resolveLogger, type Logger } from '../log.js';

export { TokenVerificationError, type VerifyErrorCode } from './errors.js';
export { introspectionRevocationCheck, type IntrospectionRevocationCheckOptions } from './introspection.js';
export { createScopeMatcher, type ScopeHierarchy } from './scopes.js';
export type { Logger, LogFields } from '../log.js';

/**
 * The same shape whether the token came from the local signer or from Grantex. A remembered
 * grant is frozen, claims included: every request presenting the same token shares it.
 */
export interface McpGrant {
  sub: string;
  iss: string;
  jti: string;
  scopes: string[];
  /**
   * The OAuth client's id: `client_id` of a local token; in Grantex mode (no `client_id` in grant
   * tokens) protect() fills it in from the grant's link to this server. Never Grantex's `dev`.
   */
  clientId?: string;
  /** Grantex `agt`. */
  agentDid?: string;
  /** Grantex `dev`. */
  developerId?: string;
  /** `grnt`. */
  grantId?: string;
  /** Grantex delegation depth; 0 when absent under the grantex profile. */
  delegationDepth?: number;
  exp: number;
  iat: number;
  /** The compact JWT as received. */
  raw: string;
  claims: JWTPayload;
}

/** RFC 8725 §3.1: asymmetric algorithms only. HS* and `none` can never be enabled. */
export const SUPPORTED_ALGORITHMS = ['RS256', 'ES256', 'PS256', 'EdDSA'] as const;
export type VerifyAlgorithm = (typeof SUPPORTED_ALGORITHMS)[number];

export interface VerifyOptions {
  /** Exact string match with `iss` (RFC 9068 §4 step 3). */
  issuer: string;
  /** This resource (RFC 8707); `aud` must name one of them, compared like `sameResource()`. */
  audience?: string | string[];
  /** Default true: an `audience` must be configured (no token passthrough, MCP spec). */
  requireAudience?: boolean;
  /** Allowlist; default all four. Anything outside `SUPPORTED_ALGORITHMS` is ignored. */
  algorithms?: VerifyAlgorithm[];
  /**
   * `rfc9068` (default): `typ` must be `at+jwt`; requires iss sub aud exp iat jti client_id.
   * `grantex`: `typ` absent, `JWT` or `at+jwt`; requires iss jti sub agt dev scp iat exp.
   */
  profile?: 'rfc9068' | 'grantex';
  /**
   * Grantex profile, required: the agent (`did:grantex:<agentId>`, or the bare agent id) whose
   * grants are accepted; `agt` must equal it. One Grantex service signs every developer's tokens
   * with one key and one `iss`, so signature, issuer and audience do not say whose grant it is.
   */
  agent?: string;
  /** Grantex profile, required: the developer id (`dev_…`) whose grants are accepted; `dev` must equal it. */
  developer?: string;
  /**
   * Resolves false to refuse a grant that verified (→ `unknown_grant`), e.g. one not issued through
   * this server; true to accept it as it is; or the grant to accept instead (e.g. with `clientId`
   * filled in from this server's records), which is then what is remembered and returned. Runs on
   * a full verification only; its answer is remembered with the verified token.
   */
  checkGrant?: (grant: McpGrant) => Promise<boolean | McpGrant>;
  /** Extra claims that must be present. */
  requiredClaims?: string[];
  /** Allowed clock skew for exp/nbf/iat, seconds. Default 30. */
  clockToleranceSeconds?: number;
  /** Local key source; otherwise the remote JWKS at `jwksUri`. */
  keys?: JWTVerifyGetKey | JSONWebKeySet;
  /** Default `${issuer}/.well-known/jwks.json`. */
  jwksUri?: string;
  /** Minimum seconds between two refetches of the remote JWKS (unknown kid, failed signature). Default 30. */
  jwksCooldownSeconds?: number;
  /** For the remote JWKS. */
  fetch?: typeof fetch;
  /**
   * Resolves true when the grant is revoked (→ `revoked`); a throw is `revocation_unavailable`
   * (503). See `introspectionRevocationCheck`.
   */
  checkRevocation?: (grant: McpGrant) => Promise<boolean>;
  /**
   * How long a "not revoked" answer of `checkRevocation` stands for a remembered token, seconds
   * (default 0: asked on every request). A revocation then reaches this verifier within this
   * bound: the token is asked about again at the first request after the interval. A "revoked"
   * answer is final for the remembered token. Tokens that are not remembered (one-shot
   * `verifyAccessToken`, `verifiedTokenCacheSize: 0`, key functions) are asked on every request.
   */
  revocationCheckIntervalSeconds?: number;
  /** Seconds since the epoch, for tests. */
  now?: () => number;
  /**
   * How many verified tokens `createTokenVerifier` remembers (default 1000; 0 turns it off), so a
   * token presented again skips its signature verification. A hit answers exactly as a full
   * verification would: it is bound to the key set that verified the token (JWK Set keys; with a
   * key function nothing is remembered), expiry is checked on every hit, and `checkRevocation`
   * runs again once `revocationCheckIntervalSeconds` have passed (by default on every request).
   * Tokens longer than 8 KiB are never remembered.
   */
  verifiedTokenCacheSize?: number;
  /**
   * Receives every line the verifier writes (a JWKS or revocation check that could not be
   * reached); default one JSON line on the console, `false` writes nothing.
   */
  logger?: Logger | false;
}

export type TokenVerifier = (token: string) => Promise<McpGrant>;

const PROFILE_CLAIMS = {
  rfc9068: ['iss', 'sub', 'aud', 'exp', 'iat', 'jti', 'client_id'], // RFC 9068 §2.2
  grantex: ['iss', 'jti', 'sub', 'agt', 'dev', 'scp', 'iat', 'exp'], // Grantex protocol v1.0
} as const;

interface Config {
  profile: 'rfc9068' | 'grantex';
  audiences: Set<string>; // canonical forms
  tolerance: number;
  /** Undefined when the real clock is used (jose then reads it itself). */
  clock?: () => number;
  /** The jose options for the clock's current second (see `joseOptions`). */
  dated?: { now: number; options: JWTVerifyOptions };
  now: () => number;
  keys: KeySource;
  /** `keys.getKey` behind the header checks: jose hands it the header it has already parsed. */
  getKey: JWTVerifyGetKey;
  jose: JWTVerifyOptions;
  checkRevocation?: (grant: McpGrant) => Promise<boolean>;
  /** Seconds a "not revoked" answer stands for a remembered token. */
  revocationCheckInterval: number;
  checkGrant?: (grant: McpGrant) => Promise<boolean | McpGrant>;
  /** Grantex profile: the `agt` and `dev` every grant must carry. */
  agent?: string;
  developer?: string;
  cache?: VerifiedTokenCache;
  logger: Logger;
}

/**
 * Validates the options once and returns a verifier reusing one key cache: build it at startup
 * (or in a middleware factory), not per request.
 */
export function createTokenVerifier(options: VerifyOptions): TokenVerifier {
  const config = resolveConfig(options);
  const size = options.verifiedTokenCacheSize ?? 1000;
  if (!Number.isSafeInteger(size) || size < 0) throw new TypeError('verify: verifiedTokenCacheSize must be a whole number >= 0');
  if (size > 0) config.cache = createVerifiedTokenCache(size);
  return (token) => verifyWithConfig(token, config);
}

/**
 * One-shot verification (nothing of the token is remembered). Remote key sets are still cached
 * per JWKS URL for the whole isolate.
 */
export async function verifyAccessToken(token: string, options: VerifyOptions): Promise<McpGrant> {
  return verifyWithConfig(token, resolveConfig(options));
}

function resolveConfig(options: VerifyOptions): Config {
  const { issuer } = options;
  if (typeof issuer !== 'string' || issuer === '') throw new TypeError('verify: issuer is required');
  const profile = options.profile ?? 'rfc9068';
  if (!(profile in PROFILE_CLAIMS)) throw new TypeError(`verify: unknown profile ${String(profile)}`);

  const configured = options.audience === undefined ? [] : [options.audience].flat();
  const audiences = new Set<string>(); // canonical forms, plus the configured spellings as a fast path
  for (const audience of configured) {
    const canonical = canonicalAudience(audience);
    if (canonical === undefined) throw new TypeError(`verify: audience must be an absolute URI without fragment: ${audience}`);
    audiences.add(canonical).add(audience);
  }
  if (audiences.size === 0 && options.requireAudience !== false)
    throw new TypeError('verify: audience is required (the resource URI); pass requireAudience: false to accept any audience');

  const allowed: readonly string[] = SUPPORTED_ALGORITHMS;
  const algorithms = (options.algorithms ?? SUPPORTED_ALGORITHMS).filter((alg) => allowed.includes(alg));
  if (algorithms.length === 0) throw new TypeError(`verify: algorithms must include one of ${SUPPORTED_ALGORITHMS.join(', ')}`);

  // Grantex contract (trust): bind grants to our agent and developer, never to the issuer alone.
  let agent: string | undefined;
  let developer: string | undefined;
  if (profile === 'grantex') {
    if (typeof options.agent !== 'string' || options.agent === '')
      throw new TypeError('verify: agent is required for the grantex profile (did:grantex:<agentId>)');
    if (typeof options.developer !== 'string' || options.developer === '')
      throw new TypeError('verify: developer is required for the grantex profile (the Grantex developer id)');
    agent = options.agent.startsWith('did:') ? options.agent : `did:grantex:${options.agent}`;
    developer = options.developer;
  }

  const revocationCheckInterval = options.revocationCheckIntervalSeconds ?? 0;
  if (!(revocationCheckInterval >= 0) || !Number.isFinite(revocationCheckInterval))
    throw new TypeError('verify: revocationCheckIntervalSeconds must be a finite number >= 0');

  const tolerance = options.clockToleranceSeconds ?? 30;
  const cooldown = options.jwksCooldownSeconds ?? 30;
  if (!(tolerance >= 0) || !(cooldown >= 0)) throw new TypeError('verify: clockToleranceSeconds and jwksCooldownSeconds must be >= 0');

  const requiredClaims = [...new Set([...PROFILE_CLAIMS[profile], ...(audiences.size > 0 ? ['aud'] : []), ...(options.requiredClaims ?? [])])];
  const now = options.now ?? (() => Math.floor(Date.now() / 1000));
  const keys = options.keys
    ? localKeySource(options.keys)
    : remoteKeySource(options.jwksUri ?? `${issuer.replace(/\/$/, '')}/.well-known/jwks.json`, {
        fetch: options.fetch,
        cooldownSeconds: cooldown,
      });

  return {
    profile,
    audiences,
    tolerance,
    clock: options.now,
    now,
    keys,
    // Header checks before any key lookup, so a foreign or forged token never triggers a JWKS
    // fetch. jose calls this with the header it parsed (and after its own `alg` allowlist check),
    // so the header is decoded once per verification.
    getKey: (header, jws) => {
      checkHeader(header, profile, algorithms);
      return keys.getKey(header, jws);
    },
    checkRevocation: options.checkRevocation,
    revocationCheckInterval,
    checkGrant: options.checkGrant,
    agent,
    developer,
    jose: { algorithms, issuer, requiredClaims, clockTolerance: tolerance },
    logger: resolveLogger(options.logger),
  };
}

// verifyAccessToken resolves its options on every call: remember the URL parsing of audiences.
const canonicalAudiences = new Map<string, string | undefined>();
function canonicalAudience(audience: string): string | undefined {
  if (canonicalAudiences.has(audience)) return canonicalAudiences.get(audience);
  const canonical = typeof audience === 'string' ? canonicalResource(audience) : undefined;
  if (canonicalAudiences.size >= 256) canonicalAudiences.clear();
  canonicalAudiences.set(audience, canonical);
  return canonical;
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

/** RFC 8725 §3.1 (the allowlist decides, never the token) and §3.11 / RFC 9068 §4 (explicit typing). */
function checkHeader(header: JWSHeaderParameters, profile: Config['profile'], algorithms: readonly string[]): void {
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

/**
 * Why jose refused a token. jose may stop before the header checks ran (bad `alg`, broken
 * encoding): those checks decide first, exactly as if they had run before jose.
 */
function classify(token: string, err: unknown, config: Config): TokenVerificationError {
  if (err instanceof TokenVerificationError) return err;
  // A key function's own failure (a bug) says nothing about the token: it is the caller's error.
  if (err instanceof KeyFunctionFailure) throw err.cause;
  let header: JWSHeaderParameters;
  try {
    header = decodeProtectedHeader(token);
  } catch (cause) {
    return new TokenVerificationError('malformed', 'The access token is not a well-formed JWT', { cause });
  }
  try {
    checkHeader(header, config.profile, config.jose.algorithms!);
  } catch (headerError) {
    return headerError as TokenVerificationError;
  }
  return toVerificationError(err);
}

/** jose's options; with an injected clock, one options object per second of that clock. */
function joseOptions(config: Config): JWTVerifyOptions {
  if (!config.clock) return config.jose;
  const now = config.clock();
  if (config.dated?.now !== now) config.dated = { now, options: { ...config.jose, currentDate: new Date(now * 1000) } };
  return config.dated.options;
}

/**
 * jose refused the first attempt: try each key when several match, then, after a signature
 * failure, refetch a remote key set once (a cached key with the same kid may have been
 * regenerated: Grantex) and try again; otherwise say why.
 */
async function verifyAfterFailure(token: string, first: unknown, config: Config, options: JWTVerifyOptions): Promise<JWTPayload> {
  let err = first;
  try {
    return await tryEachKey(token, first, options);
  } catch (next) {
    err = next;
  }
  if (!(err instanceof errors.JWSSignatureVerificationFailed) || !(await config.keys.refresh())) throw classify(token, err, config);
  try {
    return await verifyAnyKey(token, config.getKey, options);
  } catch (retry) {
    throw classify(token, retry, config);
  }
}

async function verifyAnyKey(token: string, getKey: JWTVerifyGetKey, options: JWTVerifyOptions): Promise<JWTPayload> {
  try {
    return (await jwtVerify(token, getKey, options)).payload;
  } catch (err) {
    return tryEachKey(token, err, options);
  }
}

/** jose 6 reports several keys matching (no `kid`) instead of trying them: try each. Rethrows any other error. */
async function tryEachKey(token: string, err: unknown, options: JWTVerifyOptions): Promise<JWTPayload> {
  if (!(err instanceof errors.JWKSMultipleMatchingKeys)) throw err;
  for await (const key of err) {
    try {
      return (await jwtVerify(token, key, options)).payload;
    } catch (inner) {
      if (!(inner instanceof errors.JWSSignatureVerificationFailed)) throw inner;
    }
  }
  throw new errors.JWSSignatureVerificationFailed();
}

function toVerificationError(err: unknown): TokenVerificationError {
  const fail = (code: ConstructorParameters<typeof TokenVerificationError>[0], message: string) => new TokenVerificationError(code, message, { cause: err });
  if (err instanceof TokenVerificationError) return err;
  if (err instanceof errors.JOSEAlgNotAllowed) return fail('unsupported_algorithm', 'The access token signing algorithm is not accepted');
  if (err instanceof errors.JWSSignatureVerificationFailed) return fail('invalid_signature', 'The access token signature is invalid');
  if (err instanceof errors.JWKSNoMatchingKey) return fail('unknown_key', 'No key of the issuer matches the access token');
  if (err instanceof errors.JWTExpired) return fail('expired', 'The access token has expired');
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.reason === 'missing') return fail('missing_claim', `The access token lacks the required ${err.claim} claim`);
    if (err.claim === 'iss') return fail('wrong_issuer', 'The access token was issued by another issuer');
    if (err.claim === 'nbf') return fail('not_yet_valid', 'The access token is not valid yet');
    return fail('malformed', `The access token has an invalid ${err.claim} claim`);
  }
  if (err instanceof errors.JOSEError) return fail('malformed', 'The access token is not a well-formed JWT');
  // jose refused the key a key function returned for this token's algorithm (e.g. an RSA token
  // for an EC key; jose throws TypeError): never a 500 for a bad token. Throw a
  // TokenVerificationError from `keys` to signal outages. Anything else is a bug: rethrown.
  if (err instanceof TypeError || (typeof DOMException !== 'undefined' && err instanceof DOMException))
    return fail('invalid_signature', 'The access token signature is invalid');
  throw err;
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

function toGrant(raw: string, claims: JWTPayload, config: Config): McpGrant {
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
    scopes = scp;
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

/** The verifier's options, validated once into the configuration every verification reads. */
import type { JWTVerifyGetKey, JWTVerifyOptions } from 'jose';
import { currentNumericDate } from '../protocol/numeric-date.js';
import { canonicalResource } from '../protocol/resource.js';
import { resolveLogger, type Logger } from '../log.js';
import type { VerifiedTokenCache } from './cache.js';
import { checkHeader } from './claims.js';
import { localKeySource, remoteKeySource, type KeySource } from './keys.js';
import { SUPPORTED_ALGORITHMS, type McpGrant, type VerifyOptions } from './types.js';

const PROFILE_CLAIMS = {
  rfc9068: ['iss', 'sub', 'aud', 'exp', 'iat', 'jti', 'client_id'], // RFC 9068 §2.2
  grantex: ['iss', 'jti', 'sub', 'agt', 'dev', 'scp', 'iat', 'exp'], // Grantex protocol v1.0
} as const;

export interface Config {
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

export function resolveConfig(options: VerifyOptions): Config {
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
  const now = options.now ?? currentNumericDate;
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

/** jose's options; with an injected clock, one options object per second of that clock. */
export function joseOptions(config: Config): JWTVerifyOptions {
  if (!config.clock) return config.jose;
  const now = config.clock();
  if (config.dated?.now !== now) config.dated = { now, options: { ...config.jose, currentDate: new Date(now * 1000) } };
  return config.dated.options;
}

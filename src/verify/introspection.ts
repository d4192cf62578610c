import { currentNumericDate } from '../protocol/numeric-date.js';
import { TokenVerificationError } from './errors.js';
import type { McpGrant } from './types.js';

export interface IntrospectionRevocationCheckOptions {
  /** The issuer's RFC 7662 endpoint, e.g. `https://auth.example.com/introspect`. */
  introspectionEndpoint: string;
  /** This resource server's client id at the issuer (RFC 7662 §2.1: introspection needs client auth). */
  clientId: string;
  /** With a secret: `client_secret_basic`; without: `client_id` in the body (public/`none`). */
  clientSecret?: string;
  /**
   * How long an "active" answer is trusted: the documented staleness bound for revocations
   * (default 60 s; Grantex allows at most 300). A "revoked" answer is final and kept until `exp`.
   */
  cacheTtlSeconds?: number;
  /** Bound on cached answers (oldest evicted first). Default 10 000. */
  maxEntries?: number;
  fetch?: typeof fetch;
  /** Request timeout in milliseconds. Default 5 000. */
  timeoutMs?: number;
  /** Seconds since the epoch, for tests. */
  now?: () => number;
}

/**
 * `checkRevocation` for `VerifyOptions` backed by RFC 7662 introspection. Resolves `true` when the
 * issuer answers `active: false` (revoked, or unknown to it). When the issuer cannot answer
 * (network error, timeout, non-200, not JSON, no boolean `active`) it throws
 * `TokenVerificationError('revocation_unavailable')`: the adapters answer 503 with `Retry-After`
 * (fail closed, but tell the client it may retry). Failures are never cached.
 *
 * @example
 * ```ts
 * const verify = createTokenVerifier({
 *   issuer: 'https://auth.example.com',
 *   audience: 'https://api.example.com/mcp',
 *   checkRevocation: introspectionRevocationCheck({
 *     introspectionEndpoint: 'https://auth.example.com/introspect',
 *     clientId: 'resource-server',
 *     clientSecret: env.INTROSPECTION_SECRET,
 *   }),
 * });
 * ```
 */
export function introspectionRevocationCheck(options: IntrospectionRevocationCheckOptions): (grant: McpGrant) => Promise<boolean> {
  const endpoint = new URL(options.introspectionEndpoint).href;
  if (!options.clientId) throw new TypeError('introspectionRevocationCheck: clientId is required');
  const ttl = options.cacheTtlSeconds ?? 60;
  const maxEntries = options.maxEntries ?? 10_000;
  if (!(ttl >= 0) || !(maxEntries >= 1)) throw new TypeError('introspectionRevocationCheck: cacheTtlSeconds must be >= 0 and maxEntries >= 1');
  const doFetch = options.fetch ?? fetch;
  const timeoutMs = options.timeoutMs ?? 5_000;
  const now = options.now ?? currentNumericDate;
  const headers: Record<string, string> = {
    'Content-Type': 'application/x-www-form-urlencoded',
    Accept: 'application/json',
  };
  // RFC 6749 §2.3.1: form-encode id and secret before base64.
  if (options.clientSecret !== undefined) headers.Authorization = `Basic ${btoa(`${formEncode(options.clientId)}:${formEncode(options.clientSecret)}`)}`;

  // Settled answers only: sharing an in-flight fetch across Workers requests is not allowed.
  const cache = new Map<string, { until: number; revoked: boolean }>();

  async function introspect(token: string): Promise<boolean> {
    const body = new URLSearchParams({ token, token_type_hint: 'access_token' });
    if (options.clientSecret === undefined) body.set('client_id', options.clientId);
    let result: unknown;
    try {
      const response = await doFetch(endpoint, {
        method: 'POST',
        headers,
        body,
        redirect: 'manual',
        signal: AbortSignal.timeout(timeoutMs),
      });
      if (response.status !== 200) throw new Error(`introspection answered HTTP ${response.status}`);
      result = await response.json();
    } catch (cause) {
      throw unavailable(cause);
    }
    const active = (result as { active?: unknown } | null)?.active;
    if (typeof active !== 'boolean') throw unavailable(new Error('introspection response has no boolean "active"'));
    return !active;
  }

  return async function isRevoked(grant) {
    const key = `${grant.iss} ${grant.jti}`;
    const t = now();
    const hit = cache.get(key);
    if (hit && hit.until > t) return hit.revoked;
    const revoked = await introspect(grant.raw);
    cache.delete(key);
    cache.set(key, { until: revoked ? Math.max(grant.exp, t + ttl) : t + ttl, revoked });
    if (cache.size > maxEntries) cache.delete(cache.keys().next().value!);
    return revoked;
  };
}

function formEncode(value: string): string {
  return new URLSearchParams([['', value]]).toString().slice(1);
}

function unavailable(cause: unknown): TokenVerificationError {
  return new TokenVerificationError('revocation_unavailable', 'The token revocation status could not be checked', { cause });
}

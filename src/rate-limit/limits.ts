/** The endpoints whose limits are configured, by name. `other` covers discovery, JWKS and the rest. */
export const CONFIGURED_ENDPOINTS = ['authorize', 'token', 'introspect', 'revoke', 'register', 'other'] as const;
export type ConfiguredEndpoint = (typeof CONFIGURED_ENDPOINTS)[number];

/**
 * The buckets requests are counted in: one per configured endpoint, and `authorize-continue` for
 * the steps that only continue a sign-in whose GET /authorize was counted already (the consent
 * form's POST /authorize, GET /grantex/callback). Its limit follows `authorize` (`continuationLimitOf`).
 */
export type RateLimitedEndpoint = ConfiguredEndpoint | 'authorize-continue';

export interface RateLimit {
  limit: number;
  windowSeconds: number;
  /**
   * `authorize` and `token` only: requests per window from one address whatever the client
   * (default 10 × `limit`); `limit` then counts per client and address.
   */
  addressLimit?: number;
}

/**
 * Endpoints whose requests name their client before any work: counted per (client, address)
 * at `limit`, and per address at the looser `addressLimit`. Many users of one hosted client (one
 * address) share only that client's bucket, and one client cannot exhaust another's.
 */
export const CLIENT_KEYED_ENDPOINTS = ['authorize', 'token'] as const satisfies readonly ConfiguredEndpoint[];
export type ClientKeyedEndpoint = (typeof CLIENT_KEYED_ENDPOINTS)[number];

/** Per-endpoint limits; `false` disables limiting for that endpoint. */
export type RateLimitOptions = Partial<Record<ConfiguredEndpoint, RateLimit | false>> & {
  /** Turn every limit off (e.g. behind a gateway that limits already). */
  enabled?: boolean;
};

/** Defaults of the upstream package: requests per minute per client address (and client, where keyed). */
export const DEFAULT_RATE_LIMITS: Record<ConfiguredEndpoint, RateLimit> = {
  authorize: { limit: 10, windowSeconds: 60 },
  token: { limit: 20, windowSeconds: 60 },
  introspect: { limit: 30, windowSeconds: 60 },
  revoke: { limit: 20, windowSeconds: 60 },
  register: { limit: 100, windowSeconds: 60 },
  other: { limit: 100, windowSeconds: 60 },
};

export function effectiveLimit(endpoint: RateLimitedEndpoint, options: RateLimitOptions): RateLimit | undefined {
  if (options.enabled === false) return undefined;
  if (endpoint === 'authorize-continue') {
    const authorize = effectiveLimit('authorize', options);
    return authorize && continuationLimitOf(authorize);
  }
  const configured = options[endpoint];
  if (configured === false) return undefined;
  return configured ?? DEFAULT_RATE_LIMITS[endpoint];
}

/** The per-address limit of a client-keyed endpoint: `addressLimit`, or 10 × `limit`. */
export function addressLimitOf(limit: RateLimit): RateLimit {
  return { limit: limit.addressLimit ?? 10 * limit.limit, windowSeconds: limit.windowSeconds };
}

/**
 * A sign-in is counted once, at the GET /authorize that starts it. The steps that can only
 * continue it (the consent form's POST carries a MACed, single-use consent request; the Grantex
 * callback a single-use state bound to the browser by a cookie) are counted per address in their
 * own bucket, before any work, at twice the per-address budget of GET /authorize. A sign-in takes
 * two such steps at most (the POST, then the callback), so every sign-in GET admitted can finish,
 * while a flood of forged or replayed posts and callbacks (each a MAC check or a Durable Object
 * lookup) gets no more than twice what GET /authorize itself admits from that address.
 */
export function continuationLimitOf(authorize: RateLimit): RateLimit {
  return { limit: 2 * addressLimitOf(authorize).limit, windowSeconds: authorize.windowSeconds };
}

export interface RateLimitDecision {
  allowed: boolean;
  limit: number;
  remaining: number;
  /** Seconds until the window resets. */
  resetSeconds: number;
  windowSeconds: number;
}

/** Fixed-window counting: pure, `now` passed in. */
export function decideRateLimit(countSoFar: number, input: RateLimit & { now: number; windowStart: number }): RateLimitDecision {
  const allowed = countSoFar < input.limit;
  const used = allowed ? countSoFar + 1 : countSoFar;
  return {
    allowed,
    limit: input.limit,
    remaining: Math.max(0, input.limit - used),
    resetSeconds: Math.max(1, input.windowStart + input.windowSeconds - input.now),
    windowSeconds: input.windowSeconds,
  };
}

/**
 * IETF draft-ietf-httpapi-ratelimit-headers (structured fields): `RateLimit-Policy` names the
 * quota and window, `RateLimit` the remaining quota and the seconds until reset; one list
 * member per policy that applied to the request, e.g. `"token"` per client and address and
 * `"token-address"` per address. `Retry-After` is the longest wait of the policies that refused.
 */
export function policyHeaders(policies: readonly (readonly [name: string, decision: RateLimitDecision])[]): Record<string, string> {
  const headers: Record<string, string> = {
    'RateLimit-Policy': policies.map(([name, d]) => `"${name}";q=${d.limit};w=${d.windowSeconds}`).join(', '),
    RateLimit: policies.map(([name, d]) => `"${name}";r=${d.remaining};t=${d.resetSeconds}`).join(', '),
  };
  const refused = policies.filter(([, d]) => !d.allowed).map(([, d]) => d.resetSeconds);
  if (refused.length > 0) headers['Retry-After'] = String(Math.max(...refused));
  return headers;
}

/** The endpoints that are rate limited, by name. `other` covers discovery, JWKS and the rest. */
export type RateLimitedEndpoint = 'authorize' | 'token' | 'introspect' | 'revoke' | 'register' | 'other';

export interface RateLimit {
  limit: number;
  windowSeconds: number;
}

/** Per-endpoint limits; `false` disables limiting for that endpoint. */
export type RateLimitOptions = Partial<Record<RateLimitedEndpoint, RateLimit | false>> & {
  /** Turn every limit off (e.g. behind a gateway that limits already). */
  enabled?: boolean;
};

/** Defaults of the upstream package: requests per minute per client address. */
export const DEFAULT_RATE_LIMITS: Record<RateLimitedEndpoint, RateLimit> = {
  authorize: { limit: 10, windowSeconds: 60 },
  token: { limit: 20, windowSeconds: 60 },
  introspect: { limit: 30, windowSeconds: 60 },
  revoke: { limit: 20, windowSeconds: 60 },
  register: { limit: 100, windowSeconds: 60 },
  other: { limit: 100, windowSeconds: 60 },
};

export function effectiveLimit(endpoint: RateLimitedEndpoint, options: RateLimitOptions): RateLimit | undefined {
  if (options.enabled === false) return undefined;
  const configured = options[endpoint];
  if (configured === false) return undefined;
  return configured ?? DEFAULT_RATE_LIMITS[endpoint];
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
 * quota and window, `RateLimit` the remaining quota and the seconds until reset.
 */
export function rateLimitHeaders(endpoint: RateLimitedEndpoint, d: RateLimitDecision): Record<string, string> {
  const headers: Record<string, string> = {
    'RateLimit-Policy': `"${endpoint}";q=${d.limit};w=${d.windowSeconds}`,
    RateLimit: `"${endpoint}";r=${d.remaining};t=${d.resetSeconds}`,
  };
  if (!d.allowed) headers['Retry-After'] = String(d.resetSeconds);
  return headers;
}

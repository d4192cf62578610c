/**
 * Every storage key and Durable Object instance name, in one place (docs/storage.md).
 *
 * Durable Object instances are sharded by what they hold: one instance per grant (its code,
 * refresh-token family and access-token denylist), one per rate-limit bucket, one per upstream
 * grant link (Grantex mode) and one for the signing keys. No instance sees every request.
 */
export const kvKeys = {
  client: (clientId: string) => `client:${clientId}`,
};

export const stateObjectNames = {
  grant: (grantId: string) => `grant:${grantId}`,
  /** Grantex mode: upstream grant id (the grant token's `grnt`) → our grant and its client. */
  upstreamGrant: (upstreamGrantId: string) => `upstream-grant:${upstreamGrantId}`,
  rateLimit: (endpoint: string, key: string) => `ratelimit:${endpoint}:${key}`,
  signingKeys: () => 'signing-keys',
};

/**
 * Codes and refresh tokens are `<grantId>.<secret>`: the grant id routes the request to the
 * grant's Durable Object; only the SHA-256 of the whole token is stored there.
 */
export function grantIdOf(token: string): string | undefined {
  const dot = token.indexOf('.');
  if (dot <= 0) return undefined;
  const grantId = token.slice(0, dot);
  return /^[A-Za-z0-9_-]{16,64}$/.test(grantId) ? grantId : undefined;
}

import { sha256 } from '../crypto.js';

/**
 * Every storage key and Durable Object instance name, in one place (docs/storage.md).
 *
 * Durable Object instances are sharded by what they hold: one instance per grant (its code,
 * refresh-token family and access-token denylist), one per rate-limit bucket, one per upstream
 * grant link (Grantex mode), one per decided consent request and one for the signing keys. No
 * instance sees every request.
 *
 * Every key and instance name belongs to one issuer, so two issuers served by one worker with the
 * same bindings never share a client, a grant or a signing key: KV keys carry `issuerKey(issuer)`,
 * and every instance name is made absolute by `stateObjectName(issuer, …)` in the one place that
 * opens stubs (src/services.ts).
 */

/**
 * RFC 6749 Appendix A.1: `client-id = *VSCHAR`. This server also bounds it to 255 characters, so
 * a client key fits the 512-byte KV key limit whatever the issuer. An id outside this is an
 * unknown client, never a storage call.
 */
export function isStorableClientId(clientId: string): boolean {
  return /^[\x20-\x7E]{1,255}$/.test(clientId);
}

/**
 * The KV namespace of one issuer: SHA-256 of the issuer, base64url (43 characters). Fixed length,
 * whatever the issuer's length, so `client:<issuer key>:<client_id>` is at most
 * 7 + 43 + 1 + 255 = 306 bytes (KV allows 512).
 */
export function issuerKey(issuer: string): Promise<string> {
  return sha256(issuer);
}

export const kvKeys = {
  client: (issuerKey: string, clientId: string) => {
    if (!isStorableClientId(clientId)) throw new RangeError('mcp-auth-edge: a client_id outside RFC 6749 Appendix A.1 bounds reached the client key builder');
    return `client:${issuerKey}:${clientId}`;
  },
};

/**
 * The name of a Durable Object instance of one issuer: the issuer, a space (never part of a
 * canonical issuer URL, so the split is unambiguous), then the instance's own name below. The
 * platform hashes names into ids, so the issuer's length costs nothing; no other code names an
 * instance.
 */
export function stateObjectName(issuer: string, name: string): string {
  return `${issuer} ${name}`;
}

/** Instance names within one issuer (see `stateObjectName`). */
export const stateObjectNames = {
  grant: (grantId: string) => `grant:${grantId}`,
  /** Grantex mode: upstream grant id (the grant token's `grnt`) → our grant and its client. */
  upstreamGrant: (upstreamGrantId: string) => `upstream-grant:${upstreamGrantId}`,
  rateLimit: (endpoint: string, key: string) => `ratelimit:${endpoint}:${key}`,
  /** One consent request (the `cid` of its signed form): records its single use until it expires. */
  consent: (consentId: string) => `consent:${consentId}`,
  signingKeys: () => 'signing-keys',
  /** The operator's user index: the ids of one user's grants (docs/storage.md). */
  userGrants: (sub: string) => `user:${sub}`,
  /** Answers health checks; stores nothing. */
  health: () => 'health',
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

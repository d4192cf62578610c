import { base64url, jwtVerify, SignJWT } from 'jose';
import type { AuthorizationRequest } from '../protocol/authorization-request.js';
import type { StoredSigningKey } from './signing-keys.js';

export const CONSENT_TYP = 'mcp-consent-request+jwt';

/** Domain separation (RFC 5869 §3.2 `info`): these keys serve consent requests and nothing else. */
const CONSENT_KEY_INFO = new TextEncoder().encode('mcp-auth-edge consent-request HS256 v1');

/** What the consent form carries, MAC-protected: the validated request, the CSRF hash, its id. */
export interface ConsentRequestClaims {
  req: AuthorizationRequest;
  /** SHA-256 of the value in this browser's consent cookie. */
  csrf: string;
  /** Names the record of this consent's single use (`consent:<cid>`). */
  cid: string;
  exp: number;
}

/**
 * HMAC-SHA-256 keys for consent requests, one per stored signing key (the current one first),
 * derived with HKDF-SHA256 (RFC 5869) from the private part `d` of that key. They are never
 * published, so nothing signed with them verifies against the JWKS, and nothing signed for the
 * JWKS verifies as a consent request (RFC 8725 §3.11: different kinds of JWT, different keys).
 * Every isolate derives the same keys with no storage of their own; a key from a secret works alike.
 */
export async function deriveConsentKeys(stored: readonly StoredSigningKey[]): Promise<CryptoKey[]> {
  const ordered = [...stored.filter((k) => k.status === 'current'), ...stored.filter((k) => k.status !== 'current')];
  return Promise.all(
    ordered.map(async (key) => {
      const d = (key.private_jwk as { d?: string }).d;
      if (!d) throw new Error('signing key without a private part');
      const material = await crypto.subtle.importKey('raw', base64url.decode(d) as Uint8Array<ArrayBuffer>, 'HKDF', false, ['deriveKey']);
      return crypto.subtle.deriveKey(
        { name: 'HKDF', hash: 'SHA-256', salt: new Uint8Array(32), info: CONSENT_KEY_INFO },
        material,
        { name: 'HMAC', hash: 'SHA-256', length: 256 },
        false,
        ['sign', 'verify'],
      );
    }),
  );
}

const CONSENT_ID = /^[A-Za-z0-9_-]{22}$/;

/** Signs the consent form's request with the current consent key (HS256, typed, 10 minutes at most). */
export function signConsentRequest(
  claims: Omit<ConsentRequestClaims, 'exp'>,
  input: { keys: readonly CryptoKey[]; issuer: string; now: number; ttlSeconds: number },
): Promise<string> {
  return new SignJWT({ req: claims.req, csrf: claims.csrf, cid: claims.cid })
    .setProtectedHeader({ alg: 'HS256', typ: CONSENT_TYP })
    .setIssuer(input.issuer)
    .setAudience(`${input.issuer}/authorize`)
    .setIssuedAt(input.now)
    .setExpirationTime(input.now + input.ttlSeconds)
    .sign(input.keys[0]!);
}

/**
 * The claims of a consent request that one of the consent keys MACed (a key rotated in another
 * isolate is still among them); undefined when none did, or it expired or is malformed.
 */
export async function verifyConsentRequest(
  jws: string,
  input: { keys: readonly CryptoKey[]; issuer: string; now: number },
): Promise<ConsentRequestClaims | undefined> {
  for (const key of input.keys) {
    try {
      const { payload } = await jwtVerify<Partial<ConsentRequestClaims>>(jws, key, {
        algorithms: ['HS256'],
        issuer: input.issuer,
        audience: `${input.issuer}/authorize`,
        typ: CONSENT_TYP,
        currentDate: new Date(input.now * 1000),
      });
      const { req, csrf, cid, exp } = payload;
      if (!req || typeof csrf !== 'string' || typeof cid !== 'string' || !CONSENT_ID.test(cid) || typeof exp !== 'number') return undefined;
      return { req, csrf, cid, exp };
    } catch {
      // not this key (or not valid at all): try the next one
    }
  }
  return undefined;
}

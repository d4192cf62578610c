import { SignJWT, jwtVerify, errors as joseErrors, type JWTPayload } from 'jose';
import type { LoadedKeys } from '../services.js';
import { randomToken } from '../crypto.js';
import { formatScope } from '../protocol/scope.js';
import { SIGNING_ALGORITHMS } from './signing-keys.js';

/** RFC 9068 §2.2 claims, plus Grantex-style `scp` and `grnt` so one verifier reads both modes. */
export interface AccessTokenClaims extends JWTPayload {
  iss: string;
  sub: string;
  aud: string;
  client_id: string;
  scope: string;
  scp: string[];
  grnt: string;
  jti: string;
  iat: number;
  exp: number;
}

export function accessTokenClaims(input: {
  issuer: string;
  sub: string;
  resource: string;
  clientId: string;
  scopes: string[];
  grantId: string;
  now: number;
  ttlSeconds: number;
}): AccessTokenClaims {
  return {
    iss: input.issuer,
    sub: input.sub,
    aud: input.resource,
    client_id: input.clientId,
    scope: formatScope(input.scopes),
    scp: input.scopes,
    grnt: input.grantId,
    jti: randomToken(16),
    iat: input.now,
    exp: input.now + input.ttlSeconds,
  };
}

/** RFC 9068 §2.1: `typ: at+jwt`, signed with the current key. */
export function signAccessToken(claims: AccessTokenClaims, keys: LoadedKeys): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: keys.alg, kid: keys.kid, typ: 'at+jwt' }).sign(keys.privateKey);
}

/**
 * Verifies one of our own access tokens (introspection, revocation): signature under our keys,
 * exact issuer, `typ`, and an audience among our resources. Returns undefined for anything else.
 */
export async function readOwnAccessToken(
  token: string,
  keys: LoadedKeys,
  issuer: string,
  resources: string[],
  now: number,
): Promise<AccessTokenClaims | undefined> {
  try {
    const { payload } = await jwtVerify<AccessTokenClaims>(token, keys.verificationKey, {
      issuer,
      audience: resources,
      typ: 'at+jwt',
      algorithms: [...SIGNING_ALGORITHMS], // a retired key may use another algorithm than the current one
      currentDate: new Date(now * 1000),
      requiredClaims: ['sub', 'jti', 'client_id', 'grnt', 'exp', 'iat'],
    });
    return payload;
  } catch (err) {
    if (err instanceof joseErrors.JOSEError || err instanceof TypeError) return undefined;
    throw err;
  }
}

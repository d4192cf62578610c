// Test-only: an ES256 key pair and RFC 9068 access tokens for resource-server tests (the Hono
// middleware in workerd, the Express middleware in Node).
import { exportJWK, generateKeyPair, SignJWT, type JWK, type JWTPayload } from 'jose';

export const ISSUER = 'https://as.example.com';
export const RESOURCE = 'https://mcp.example.com/mcp';
export const PRM = 'https://mcp.example.com/.well-known/oauth-protected-resource/mcp';
export const NOW = 1_800_000_000;
export const now = () => NOW;

/** RFC 9068 §2.2 claims; an override of `undefined` removes the claim. */
export function claims(overrides: Record<string, unknown> = {}): JWTPayload {
  const all: Record<string, unknown> = {
    iss: ISSUER,
    sub: 'user-1',
    aud: RESOURCE,
    client_id: 'client-1',
    scope: 'mcp:tools:read',
    scp: ['mcp:tools:read'],
    jti: 'jti-1',
    iat: NOW - 5,
    exp: NOW + 300,
    ...overrides,
  };
  return Object.fromEntries(Object.entries(all).filter(([, v]) => v !== undefined));
}

export interface TokenMint {
  jwks: { keys: JWK[] };
  token(overrides?: Record<string, unknown>, header?: Record<string, string>): Promise<string>;
  withScopes(...scopes: string[]): Promise<string>;
}

export async function createTokenMint(): Promise<TokenMint> {
  const pair = await generateKeyPair('ES256', { extractable: true });
  const publicJwk: JWK = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
  const token = (overrides: Record<string, unknown> = {}, header: Record<string, string> = {}) =>
    new SignJWT(claims(overrides)).setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: 'k1', ...header }).sign(pair.privateKey);
  return {
    jwks: { keys: [publicJwk] },
    token,
    withScopes: (...scopes) => token({ scp: scopes, scope: scopes.join(' ') }),
  };
}

import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type CryptoKey, type JWK } from 'jose';

/** The algorithms this server signs with: asymmetric only (RFC 8725 §3.1); ES256 is the default. */
export const SIGNING_ALGORITHMS = ['ES256', 'EdDSA', 'RS256'] as const;
export type SigningAlgorithm = (typeof SIGNING_ALGORITHMS)[number];

/**
 * A signing key as stored in the Durable Object. Rotation: a `next` key is published in the
 * JWKS before it signs; on rotation it becomes `current` and the old current becomes `retired`,
 * still published until `retire_after` (the last token it signed has expired).
 */
export interface StoredSigningKey {
  kid: string;
  alg: SigningAlgorithm;
  private_jwk: JWK;
  public_jwk: JWK;
  status: 'next' | 'current' | 'retired';
  created_at: number;
  retire_after: number | null;
}

export interface SigningKeySet {
  kid: string;
  alg: SigningAlgorithm;
  privateKey: CryptoKey;
  /** Public keys to publish and to verify with: current, next and not-yet-expired retired keys. */
  jwks: { keys: JWK[] };
}

const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const;

export function publicPart(jwk: JWK, kid: string, alg: SigningAlgorithm): JWK {
  const pub: JWK = { ...jwk };
  for (const member of PRIVATE_MEMBERS) delete (pub as Record<string, unknown>)[member];
  delete pub.key_ops;
  delete pub.ext;
  return { ...pub, kid, alg, use: 'sig' };
}

export async function generateSigningKey(alg: SigningAlgorithm, status: StoredSigningKey['status'], now: number): Promise<StoredSigningKey> {
  const { privateKey } = await generateKeyPair(alg, { extractable: true, ...(alg === 'RS256' ? { modulusLength: 2048 } : {}) });
  const privateJwk = await exportJWK(privateKey);
  const kid = await calculateJwkThumbprint(privateJwk);
  return { kid, alg, private_jwk: { ...privateJwk, kid, alg }, public_jwk: publicPart(privateJwk, kid, alg), status, created_at: now, retire_after: null };
}

/** A key given as a secret (a private JWK); its `kid` defaults to the RFC 7638 thumbprint. */
export async function keyFromSecret(jwk: JsonWebKey, alg: SigningAlgorithm): Promise<StoredSigningKey> {
  const kid = (jwk as JWK).kid ?? (await calculateJwkThumbprint(jwk as JWK));
  return { kid, alg, private_jwk: jwk as JWK, public_jwk: publicPart(jwk as JWK, kid, alg), status: 'current', created_at: 0, retire_after: null };
}

export async function toKeySet(keys: readonly StoredSigningKey[]): Promise<SigningKeySet> {
  const current = keys.find((k) => k.status === 'current');
  if (!current) throw new Error('no current signing key');
  return {
    kid: current.kid,
    alg: current.alg,
    privateKey: (await importJWK(current.private_jwk, current.alg)) as CryptoKey,
    jwks: { keys: keys.map((k) => k.public_jwk) },
  };
}

import { base64url } from 'jose';

/** `bytes` of CSPRNG output, base64url-encoded (32 bytes = 256 bits by default). */
export function randomToken(bytes = 32): string {
  return base64url.encode(crypto.getRandomValues(new Uint8Array(bytes)));
}

/** SHA-256 of a UTF-8 string, base64url-encoded: how secrets and tokens are stored at rest. */
export async function sha256(value: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(value));
  return base64url.encode(new Uint8Array(digest));
}

/**
 * Constant-time comparison of two equal-length strings (hash digests). Both sides are hashes,
 * so their length is public; the loop never exits early.
 */
export function timingSafeEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

/** Compares a presented secret with a stored SHA-256 hash without leaking timing. */
export async function secretMatchesHash(secret: string, storedHash: string): Promise<boolean> {
  return timingSafeEqual(await sha256(secret), storedHash);
}

const SEAL_INFO = new TextEncoder().encode('mcp-auth-edge seal v1');

/** AES-256-GCM key derived (HKDF-SHA256) from a high-entropy token the client holds. */
async function sealKey(token: string, usage: 'encrypt' | 'decrypt'): Promise<globalThis.CryptoKey> {
  const material = await crypto.subtle.importKey('raw', new TextEncoder().encode(token), 'HKDF', false, ['deriveKey']);
  return crypto.subtle.deriveKey(
    { name: 'HKDF', hash: 'SHA-256', salt: new Uint8Array(32), info: SEAL_INFO },
    material,
    { name: 'AES-GCM', length: 256 },
    false,
    [usage],
  );
}

/**
 * Encrypts a value under a key derived from a token that only the client holds (a code, a
 * refresh token, a state). Stored state alone then never yields an upstream secret.
 */
export async function seal(value: string, token: string): Promise<string> {
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const sealed = await crypto.subtle.encrypt({ name: 'AES-GCM', iv }, await sealKey(token, 'encrypt'), new TextEncoder().encode(value));
  return `${base64url.encode(iv)}.${base64url.encode(new Uint8Array(sealed))}`;
}

/** The inverse of `seal`; undefined when the token does not open it. */
export async function unseal(sealed: string, token: string): Promise<string | undefined> {
  const [iv, data] = sealed.split('.');
  if (!iv || !data) return undefined;
  try {
    const plain = await crypto.subtle.decrypt(
      { name: 'AES-GCM', iv: base64url.decode(iv) as Uint8Array<ArrayBuffer> },
      await sealKey(token, 'decrypt'),
      base64url.decode(data) as Uint8Array<ArrayBuffer>,
    );
    return new TextDecoder().decode(plain);
  } catch {
    return undefined;
  }
}

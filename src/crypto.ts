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

import { sha256 } from '../crypto.js';
import { OAuthError } from '../errors.js';

/** RFC 7636 §4.1: 43–128 characters of [A-Z] / [a-z] / [0-9] / "-" / "." / "_" / "~". */
const VERIFIER = /^[A-Za-z0-9\-._~]{43,128}$/;
/** RFC 7636 §4.2: BASE64URL(SHA256(verifier)) is always 43 characters. */
const S256_CHALLENGE = /^[A-Za-z0-9_-]{43}$/;

/** OAuth 2.1 §4.1.1 / MCP: a challenge is required and only S256 is accepted (no `plain`). */
export function checkCodeChallenge(challenge: string | undefined, method: string | undefined): string {
  if (!challenge) throw new OAuthError('invalid_request', 'code_challenge is required (PKCE, RFC 7636).');
  if (method !== 'S256') throw new OAuthError('invalid_request', 'code_challenge_method must be S256; plain is not supported.');
  if (!S256_CHALLENGE.test(challenge)) throw new OAuthError('invalid_request', 'code_challenge is not a valid S256 challenge.');
  return challenge;
}

export function checkCodeVerifier(verifier: string | undefined): string {
  if (!verifier) throw new OAuthError('invalid_grant', 'code_verifier is required (RFC 7636 §4.5).');
  if (!VERIFIER.test(verifier)) throw new OAuthError('invalid_grant', 'code_verifier is malformed (RFC 7636 §4.1).');
  return verifier;
}

/** RFC 7636 §4.6: the S256 challenge of a verifier is BASE64URL(SHA256(ASCII(verifier))). */
export function s256(verifier: string): Promise<string> {
  return sha256(verifier);
}

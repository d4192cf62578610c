import type { OAuthErrorCode } from '../errors.js';

/**
 * Why a token was rejected. Closed union (house style): adapters map every code to a response.
 * `jwks_unavailable` and `revocation_unavailable` mean "could not decide" (503, retry later),
 * every other code means "this token is not acceptable" (401 `invalid_token`).
 */
export type VerifyErrorCode =
  | 'malformed'
  | 'invalid_signature'
  | 'unsupported_algorithm'
  | 'wrong_type'
  | 'wrong_issuer'
  | 'wrong_audience'
  | 'wrong_agent'
  | 'wrong_developer'
  | 'unknown_grant'
  | 'expired'
  | 'not_yet_valid'
  | 'missing_claim'
  | 'unknown_key'
  | 'revoked'
  | 'jwks_unavailable'
  | 'revocation_unavailable';

/**
 * Thrown by the verifier. `message` is safe to show to the client (it becomes the RFC 6750 §3
 * `error_description`, so it only uses %x20-21 / %x23-5B / %x5D-7E: no `"` or `\`); the
 * underlying jose or network error, if any, is in `cause` and must only be logged.
 */
export class TokenVerificationError extends Error {
  /**
   * The RFC 6750 §3.1 error code this failure is answered with, from the project's one union of
   * error codes: `invalid_token`, or `temporarily_unavailable` when no decision was reached.
   */
  readonly error: Extract<OAuthErrorCode, 'invalid_token' | 'temporarily_unavailable'>;

  constructor(
    readonly code: VerifyErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'TokenVerificationError';
    this.error = this.unavailable ? 'temporarily_unavailable' : 'invalid_token';
  }

  /** True when the verifier could not reach a decision (JWKS or introspection down): answer 503, not 401. */
  get unavailable(): boolean {
    return this.code === 'jwks_unavailable' || this.code === 'revocation_unavailable';
  }
}

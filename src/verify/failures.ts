/** What happens when jose refuses a token: another key, one refetch of a remote set, or why it failed. */
import { decodeProtectedHeader, errors, jwtVerify, type JWSHeaderParameters, type JWTPayload, type JWTVerifyGetKey, type JWTVerifyOptions } from 'jose';
import { checkHeader } from './claims.js';
import type { Config } from './config.js';
import { TokenVerificationError } from './errors.js';
import { KeyFunctionFailure } from './keys.js';

/**
 * Why jose refused a token. jose may stop before the header checks ran (bad `alg`, broken
 * encoding): those checks decide first, exactly as if they had run before jose.
 */
function classify(token: string, err: unknown, config: Config): TokenVerificationError {
  if (err instanceof TokenVerificationError) return err;
  // A key function's own failure (a bug) says nothing about the token: it is the caller's error.
  if (err instanceof KeyFunctionFailure) throw err.cause;
  let header: JWSHeaderParameters;
  try {
    header = decodeProtectedHeader(token);
  } catch (cause) {
    return new TokenVerificationError('malformed', 'The access token is not a well-formed JWT', { cause });
  }
  try {
    checkHeader(header, config.profile, config.jose.algorithms!);
  } catch (headerError) {
    return headerError as TokenVerificationError;
  }
  return toVerificationError(err);
}

/**
 * jose refused the first attempt: try each key when several match, then, after a signature
 * failure, refetch a remote key set once (a cached key with the same kid may have been
 * regenerated: Grantex) and try again; otherwise say why.
 */
export async function verifyAfterFailure(token: string, first: unknown, config: Config, options: JWTVerifyOptions): Promise<JWTPayload> {
  let err = first;
  try {
    return await tryEachKey(token, first, options);
  } catch (next) {
    err = next;
  }
  if (!(err instanceof errors.JWSSignatureVerificationFailed) || !(await config.keys.refresh())) throw classify(token, err, config);
  try {
    return await verifyAnyKey(token, config.getKey, options);
  } catch (retry) {
    throw classify(token, retry, config);
  }
}

async function verifyAnyKey(token: string, getKey: JWTVerifyGetKey, options: JWTVerifyOptions): Promise<JWTPayload> {
  try {
    return (await jwtVerify(token, getKey, options)).payload;
  } catch (err) {
    return tryEachKey(token, err, options);
  }
}

/** jose 6 reports several keys matching (no `kid`) instead of trying them: try each. Rethrows any other error. */
async function tryEachKey(token: string, err: unknown, options: JWTVerifyOptions): Promise<JWTPayload> {
  if (!(err instanceof errors.JWKSMultipleMatchingKeys)) throw err;
  for await (const key of err) {
    try {
      return (await jwtVerify(token, key, options)).payload;
    } catch (inner) {
      if (!(inner instanceof errors.JWSSignatureVerificationFailed)) throw inner;
    }
  }
  throw new errors.JWSSignatureVerificationFailed();
}

function toVerificationError(err: unknown): TokenVerificationError {
  const fail = (code: ConstructorParameters<typeof TokenVerificationError>[0], message: string) => new TokenVerificationError(code, message, { cause: err });
  if (err instanceof TokenVerificationError) return err;
  if (err instanceof errors.JOSEAlgNotAllowed) return fail('unsupported_algorithm', 'The access token signing algorithm is not accepted');
  if (err instanceof errors.JWSSignatureVerificationFailed) return fail('invalid_signature', 'The access token signature is invalid');
  if (err instanceof errors.JWKSNoMatchingKey) return fail('unknown_key', 'No key of the issuer matches the access token');
  if (err instanceof errors.JWTExpired) return fail('expired', 'The access token has expired');
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.reason === 'missing') return fail('missing_claim', `The access token lacks the required ${err.claim} claim`);
    if (err.claim === 'iss') return fail('wrong_issuer', 'The access token was issued by another issuer');
    if (err.claim === 'nbf') return fail('not_yet_valid', 'The access token is not valid yet');
    return fail('malformed', `The access token has an invalid ${err.claim} claim`);
  }
  if (err instanceof errors.JOSEError) return fail('malformed', 'The access token is not a well-formed JWT');
  // jose refused the key a key function returned for this token's algorithm (e.g. an RSA token
  // for an EC key; jose throws TypeError): never a 500 for a bad token. Throw a
  // TokenVerificationError from `keys` to signal outages. Anything else is a bug: rethrown.
  if (err instanceof TypeError || (typeof DOMException !== 'undefined' && err instanceof DOMException))
    return fail('invalid_signature', 'The access token signature is invalid');
  throw err;
}

import { jwtVerify, SignJWT } from 'jose';
import type { AuthorizationRequest } from '../protocol/authorization-request.js';
import type { Principal, SignInRedirect } from './types.js';

/**
 * An authorization waiting for a login flow (`SignInRedirect`), and the user it signed in. Both
 * are MACed with the consent-request keys (src/tokens/consent-request.ts: HKDF-derived, never
 * published) under their own `typ` and audience, so neither verifies as a consent form, as the
 * other, or as an access token (RFC 8725 §3.11).
 */
export const PENDING_SIGN_IN_TYP = 'mcp-pending-sign-in+jwt';
export const SIGNED_IN_TYP = 'mcp-signed-in+jwt';

/** Where a login flow comes back, under the issuer's path. */
export const SIGN_IN_RESUME_PATH = '/authorize/resume';

/** How long a user has for the login page (as long as for the consent form). */
export const PENDING_SIGN_IN_SECONDS = 600;

/** The resolver's own data for the way back: bounded so the cookie stays below 4096 bytes. */
export const MAX_SIGN_IN_STATE = 1024;

/** A cookie holds at most 4096 bytes of name and value (RFC 6265 §6.1 minimum browsers honour). */
export const MAX_PENDING_COOKIE = 4000;

export interface PendingSignIn {
  /** The validated authorization request, re-validated (client, redirect URI) on resume. */
  req: AuthorizationRequest;
  /** Names the record of its single use (`consent:<pid>`, the consent forms' single-use kind). */
  pid: string;
  /** The resolver's own data (`SignInRedirect.state`). */
  state?: string;
  exp: number;
}

const ID = /^[A-Za-z0-9_-]{22}$/;

interface MacInput {
  keys: readonly CryptoKey[];
  issuer: string;
  now: number;
}

/**
 * Why a `SignInRedirect` cannot be followed, for the operator; undefined when it can. The login
 * page is an absolute http(s) URL; the resolver's state is a bounded string. Pure.
 */
export function signInRedirectProblem(answer: SignInRedirect): string | undefined {
  let url: URL;
  try {
    url = new URL(answer.signInAt);
  } catch {
    return 'signInAt is not an absolute URL';
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return 'signInAt is not an http or https URL';
  if (answer.state !== undefined && (typeof answer.state !== 'string' || answer.state.length > MAX_SIGN_IN_STATE))
    return `state must be a string of at most ${MAX_SIGN_IN_STATE} characters`;
  return undefined;
}

/** The pending authorization, MACed for this browser's cookie (HS256, typed, 10 minutes at most). */
export function signPendingSignIn(claims: Omit<PendingSignIn, 'exp'>, input: MacInput): Promise<string> {
  return new SignJWT({ req: claims.req, pid: claims.pid, ...(claims.state === undefined ? {} : { state: claims.state }) })
    .setProtectedHeader({ alg: 'HS256', typ: PENDING_SIGN_IN_TYP })
    .setIssuer(input.issuer)
    .setAudience(`${input.issuer}${SIGN_IN_RESUME_PATH}`)
    .setIssuedAt(input.now)
    .setExpirationTime(input.now + PENDING_SIGN_IN_SECONDS)
    .sign(input.keys[0]!);
}

async function verifyWithAny<T>(jws: string, input: MacInput, typ: string, audience: string): Promise<Partial<T> | undefined> {
  for (const key of input.keys) {
    try {
      const { payload } = await jwtVerify<Partial<T>>(jws, key, {
        algorithms: ['HS256'],
        issuer: input.issuer,
        audience,
        typ,
        currentDate: new Date(input.now * 1000),
      });
      return payload;
    } catch {
      // not this key (or not valid at all): try the next one
    }
  }
  return undefined;
}

/** The pending authorization a consent key MACed; undefined when forged, expired or malformed. */
export async function verifyPendingSignIn(jws: string, input: MacInput): Promise<PendingSignIn | undefined> {
  const payload = await verifyWithAny<PendingSignIn>(jws, input, PENDING_SIGN_IN_TYP, `${input.issuer}${SIGN_IN_RESUME_PATH}`);
  if (!payload) return undefined;
  const { req, pid, state, exp } = payload;
  if (!req || typeof req !== 'object' || typeof pid !== 'string' || !ID.test(pid) || typeof exp !== 'number') return undefined;
  if (state !== undefined && typeof state !== 'string') return undefined;
  return { req, pid, state, exp };
}

/**
 * The user a login flow signed in, for the consent form that follows: bound to that form's
 * `cid`, so it is worth nothing with any other form (whose CSRF cookie binds it to its browser).
 */
export function signSignedInPrincipal(input: MacInput & { principal: Principal; cid: string; ttlSeconds: number }): Promise<string> {
  return new SignJWT({ principal: { id: input.principal.id, displayName: input.principal.displayName }, cid: input.cid })
    .setProtectedHeader({ alg: 'HS256', typ: SIGNED_IN_TYP })
    .setIssuer(input.issuer)
    .setAudience(`${input.issuer}/authorize`)
    .setIssuedAt(input.now)
    .setExpirationTime(input.now + input.ttlSeconds)
    .sign(input.keys[0]!);
}

/** The signed-in user of the consent form `cid`; undefined when forged, expired, malformed or for another form. */
export async function verifySignedInPrincipal(jws: string, input: MacInput & { cid: string }): Promise<Principal | undefined> {
  const payload = await verifyWithAny<{ principal: Principal; cid: string }>(jws, input, SIGNED_IN_TYP, `${input.issuer}/authorize`);
  const principal = payload?.principal;
  if (!payload || payload.cid !== input.cid || !principal || typeof principal.id !== 'string' || !principal.id) return undefined;
  if (principal.displayName !== undefined && typeof principal.displayName !== 'string') return undefined;
  return { id: principal.id, ...(principal.displayName === undefined ? {} : { displayName: principal.displayName }) };
}

/** The public shapes of `mcp-auth-edge/verify`: the verified grant and the verifier's options. */
import type { JSONWebKeySet, JWTPayload, JWTVerifyGetKey } from 'jose';
import type { Logger } from '../log.js';

/**
 * The same shape whether the token came from the local signer or from Grantex. A remembered
 * grant is frozen, claims included: every request presenting the same token shares it.
 */
export interface McpGrant {
  sub: string;
  iss: string;
  jti: string;
  scopes: string[];
  /**
   * The OAuth client's id: `client_id` of a local token; in Grantex mode (no `client_id` in grant
   * tokens) protect() fills it in from the grant's link to this server. Never Grantex's `dev`.
   */
  clientId?: string;
  /** Grantex `agt`. */
  agentDid?: string;
  /** Grantex `dev`. */
  developerId?: string;
  /** `grnt`. */
  grantId?: string;
  /** Grantex delegation depth; 0 when absent under the grantex profile. */
  delegationDepth?: number;
  exp: number;
  iat: number;
  /** The compact JWT as received. */
  raw: string;
  claims: JWTPayload;
}

/** RFC 8725 §3.1: asymmetric algorithms only. HS* and `none` can never be enabled. */
export const SUPPORTED_ALGORITHMS = ['RS256', 'ES256', 'PS256', 'EdDSA'] as const;
export type VerifyAlgorithm = (typeof SUPPORTED_ALGORITHMS)[number];

export interface VerifyOptions {
  /** Exact string match with `iss` (RFC 9068 §4 step 3). */
  issuer: string;
  /** This resource (RFC 8707); `aud` must name one of them, compared like `sameResource()`. */
  audience?: string | string[];
  /** Default true: an `audience` must be configured (no token passthrough, MCP spec). */
  requireAudience?: boolean;
  /** Allowlist; default all four. Anything outside `SUPPORTED_ALGORITHMS` is ignored. */
  algorithms?: VerifyAlgorithm[];
  /**
   * `rfc9068` (default): `typ` must be `at+jwt`; requires iss sub aud exp iat jti client_id.
   * `grantex`: `typ` absent, `JWT` or `at+jwt`; requires iss jti sub agt dev scp iat exp.
   */
  profile?: 'rfc9068' | 'grantex';
  /**
   * Grantex profile, required: the agent (`did:grantex:<agentId>`, or the bare agent id) whose
   * grants are accepted; `agt` must equal it. One Grantex service signs every developer's tokens
   * with one key and one `iss`, so signature, issuer and audience do not say whose grant it is.
   */
  agent?: string;
  /** Grantex profile, required: the developer id (`dev_…`) whose grants are accepted; `dev` must equal it. */
  developer?: string;
  /**
   * Resolves false to refuse a grant that verified (→ `unknown_grant`), e.g. one not issued through
   * this server; true to accept it as it is; or the grant to accept instead (e.g. with `clientId`
   * filled in from this server's records), which is then what is remembered and returned. Runs on
   * a full verification only; its answer is remembered with the verified token.
   */
  checkGrant?: (grant: McpGrant) => Promise<boolean | McpGrant>;
  /** Extra claims that must be present. */
  requiredClaims?: string[];
  /** Allowed clock skew for exp/nbf/iat, seconds. Default 30. */
  clockToleranceSeconds?: number;
  /** Local key source; otherwise the remote JWKS at `jwksUri`. */
  keys?: JWTVerifyGetKey | JSONWebKeySet;
  /** Default `${issuer}/.well-known/jwks.json`. */
  jwksUri?: string;
  /** Minimum seconds between two refetches of the remote JWKS (unknown kid, failed signature). Default 30. */
  jwksCooldownSeconds?: number;
  /** For the remote JWKS. */
  fetch?: typeof fetch;
  /**
   * Resolves true when the grant is revoked (→ `revoked`); a throw is `revocation_unavailable`
   * (503). See `introspectionRevocationCheck`.
   */
  checkRevocation?: (grant: McpGrant) => Promise<boolean>;
  /**
   * How long a "not revoked" answer of `checkRevocation` stands for a remembered token, seconds
   * (default 0: asked on every request). A revocation then reaches this verifier within this
   * bound: the token is asked about again at the first request after the interval. A "revoked"
   * answer is final for the remembered token. Tokens that are not remembered (one-shot
   * `verifyAccessToken`, `verifiedTokenCacheSize: 0`, key functions) are asked on every request.
   */
  revocationCheckIntervalSeconds?: number;
  /** Seconds since the epoch, for tests. */
  now?: () => number;
  /**
   * How many verified tokens `createTokenVerifier` remembers (default 1000 with local `keys`,
   * 0 with a remote JWKS, which remembers only when asked; 0 turns it off), so a
   * token presented again skips its signature verification. A hit answers exactly as a full
   * verification would: it is bound to the key set that verified the token (JWK Set keys; with a
   * key function nothing is remembered), expiry is checked on every hit, and `checkRevocation`
   * runs again once `revocationCheckIntervalSeconds` have passed (by default on every request).
   * Tokens longer than 8 KiB are never remembered.
   */
  verifiedTokenCacheSize?: number;
  /**
   * Receives every line the verifier writes (a JWKS or revocation check that could not be
   * reached); default one JSON line on the console, `false` writes nothing.
   */
  logger?: Logger | false;
}

export type TokenVerifier = (token: string) => Promise<McpGrant>;

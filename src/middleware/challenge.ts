/**
 * Framework-neutral core of the resource-server middleware: reads the credentials of a request
 * (method, URL and headers) in its authentication scheme, verifies them, then (and only then)
 * works out and checks the scopes, and describes each failure as an `OAuthError` carrying the
 * right `WWW-Authenticate` challenge. The Hono and Express adapters only translate the result.
 */
import { OAuthError } from '../errors.js';
import { protectedResourceMetadataDocument, protectedResourceMetadataUrl } from '../protocol/resource-metadata.js';
import { canonicalResource } from '../protocol/resource.js';
import {
  createScopeMatcher,
  createTokenVerifier,
  TokenVerificationError,
  type McpGrant,
  type ScopeHierarchy,
  type TokenVerifier,
  type VerifyOptions,
} from '../verify/index.js';
import { SCOPE_TOKEN } from '../protocol/scope-token.js';

export interface RequireMcpAuthOptions extends Omit<VerifyOptions, 'issuer'> {
  /** Required unless `verifier` is given. */
  issuer?: string;
  /**
   * Scopes every request of this route needs (a grant's broader scopes count via
   * `scopeHierarchy`); the challenge to a request without a valid token names them.
   */
  scopes?: string[];
  /** RFC 9728 metadata URL for the challenge. Default: derived from the first `audience` (§3.1). */
  resourceMetadataUrl?: string;
  /** Broad scope → narrower scopes it implies. */
  scopeHierarchy?: ScopeHierarchy;
  /** A prebuilt verifier (e.g. bound to the co-located signer's keys); the VerifyOptions are then unused. */
  verifier?: TokenVerifier;
}

/**
 * What the resource-server check reads of a request: its headers for Bearer, and the method and
 * URL a proof-of-possession scheme binds its proof to (RFC 9449 §4.3 `htm`, `htu`).
 */
export interface ResourceRequest {
  method: string;
  /** The absolute URL the client called. */
  url: string;
  /** Repeated fields joined with `, ` as `fetch` joins them. */
  headers: { get(name: string): string | null };
}

/** The credentials a request presents: a token, none (→ plain challenge) or malformed (→ 400). */
export type Credentials = { token: string } | { missing: true } | { invalid: string };

/** How requests present access tokens and how the challenge names the scheme (RFC 7235 §2.1). */
export interface AuthenticationScheme {
  /** The auth-scheme of the `Authorization` header and of the `WWW-Authenticate` challenge. */
  readonly name: string;
  /** The credentials of a request, before any syntax check of the token itself. */
  readCredentials(request: ResourceRequest): Credentials;
}

/** Instead of calling the protected handler: the error to answer (`OAuthError.toResponse()`). */
export type AuthResult = { ok: true; grant: McpGrant } | { ok: false; error: OAuthError };

/** Seconds a client should wait when the issuer's keys or introspection endpoint are unreachable. */
export const RETRY_AFTER_SECONDS = 5;

// RFC 6750 §2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;

export type BearerCredentials = Credentials;

/** RFC 6750: the Bearer scheme, read from the `Authorization` header only. */
export const bearerScheme: AuthenticationScheme = {
  name: 'Bearer',
  readCredentials: (request) => readBearerValue(request.headers.get('Authorization')),
};

/**
 * RFC 6750 §2.1 / RFC 7235 §2.1 (scheme case-insensitive). Another scheme means "no Bearer
 * credentials" (→ plain challenge); `Bearer` with an empty or non-token68 value is a malformed
 * request (→ 400). Only the header is read: `access_token` in the query or body is ignored (MCP).
 * Several header values (Node's `headersDistinct`) are joined the way `fetch` joins them.
 */
export function readBearerCredentials(header: string | readonly string[] | null | undefined): BearerCredentials {
  const credentials = readBearerValue(header);
  return 'token' in credentials && !B64TOKEN.test(credentials.token) ? NOT_ONE_TOKEN : credentials;
}

const NOT_ONE_TOKEN = { invalid: 'The Authorization header must carry exactly one Bearer token' };

/** `readBearerCredentials` without the b64token syntax check. */
function readBearerValue(header: string | readonly string[] | null | undefined): BearerCredentials {
  const value = (typeof header === 'string' ? header : header?.join(', '))?.trim();
  if (!value) return { missing: true };
  const space = value.indexOf(' ');
  const scheme = space === -1 ? value : value.slice(0, space);
  if (scheme.toLowerCase() !== 'bearer') return { missing: true };
  const token = space === -1 ? '' : value.slice(space + 1).trimStart();
  if (token === '') return { invalid: 'The Bearer credentials are empty' };
  return { token };
}

type ChallengeParams = ReadonlyArray<readonly [string, string | undefined]>;

/** RFC 7235 §2.1 challenge of a scheme; auth-param values as RFC 7230 §3.2.6 quoted-strings, undefined/empty params omitted. */
export function challenge(scheme: Pick<AuthenticationScheme, 'name'>, params: ChallengeParams): string {
  const parts = params
    .filter((entry): entry is readonly [string, string] => entry[1] !== undefined && entry[1] !== '')
    .map(([name, value]) => `${name}="${value.replace(/[\x00-\x1F\x7F]/g, ' ').replace(/[\\"]/g, '\\$&')}"`);
  return parts.length > 0 ? `${scheme.name} ${parts.join(', ')}` : scheme.name;
}

/** The RFC 6750 §3 Bearer challenge. */
export function bearerChallenge(params: ChallengeParams): string {
  return challenge(bearerScheme, params);
}

/**
 * Checks one request. `scopesFor` names the scopes this request needs besides the configured
 * ones; it is called only once the token has verified.
 */
export type RequestAuthenticator = (request: ResourceRequest, scopesFor?: () => readonly string[] | Promise<readonly string[]>) => Promise<AuthResult>;

/** A failure's parts, built once; each failing request gets its own `OAuthError` of them. */
type FailureOf = () => OAuthError;

interface ScopeChallenges {
  required: string[];
  challengeScope: string;
  missing: FailureOf;
  insufficient: FailureOf;
}

/** Validates the options once and returns the per-request check used by both adapters. */
export function createRequestAuthenticator(options: RequireMcpAuthOptions): RequestAuthenticator {
  if (options.scopes !== undefined && !Array.isArray(options.scopes))
    throw new TypeError('requireMcpAuth: scopes must be an array of scope tokens; scopes that depend on the request go in scopesFor');
  const verify = options.verifier ?? createTokenVerifier(requireIssuer(options));
  const scheme = bearerScheme;
  const resourceMetadata = resolveResourceMetadataUrl(options);
  const hasScopes = createScopeMatcher(options.scopeHierarchy);

  // The challenges for one set of required scopes, built once per distinct set.
  const challenges = new Map<string, ScopeChallenges>();
  const challengesFor = (scopes: readonly string[]): ScopeChallenges => {
    const required = [...new Set(scopes)];
    const key = required.join(' ');
    const known = challenges.get(key);
    if (known) return known;
    for (const scope of required) if (!SCOPE_TOKEN.test(scope)) throw new TypeError(`requireMcpAuth: invalid scope ${JSON.stringify(scope)}`);
    // MCP 2026-07: never ask for offline_access in a challenge.
    const challengeScope = required.filter((scope) => scope !== 'offline_access').join(' ');
    const built: ScopeChallenges = {
      required,
      challengeScope,
      // RFC 6750 §3.1 + MCP: no credentials → no error code, just where to get a token.
      missing: failureOf(
        scheme,
        401,
        'invalid_token',
        'The request presents no access token',
        [
          ['resource_metadata', resourceMetadata],
          ['scope', challengeScope],
        ],
        {
          withoutErrorCode: true,
        },
      ),
      // RFC 6750 §3.1 insufficient_scope → 403, listing every scope the operation needs (MCP 2026-07).
      insufficient: failureOf(scheme, 403, 'insufficient_scope', 'The access token lacks a scope this operation requires', [
        ['resource_metadata', resourceMetadata],
        ['scope', challengeScope],
      ]),
    };
    if (challenges.size < 256) challenges.set(key, built);
    return built;
  };
  const configured = challengesFor(options.scopes ?? []);
  const malformed = (description: string) => failureOf(scheme, 400, 'invalid_request', description, [['resource_metadata', resourceMetadata]])();

  return async function authenticate(request, scopesFor) {
    const { challengeScope, missing } = configured;
    const credentials = scheme.readCredentials(request);
    if ('missing' in credentials) return { ok: false, error: missing() };
    if ('invalid' in credentials) return { ok: false, error: malformed(credentials.invalid) };
    let grant: McpGrant;
    try {
      grant = await verify(credentials.token);
    } catch (err) {
      // RFC 6750 §2.1 syntax, checked only once verification failed: a token that verifies is a
      // JWS compact serialisation, always within b64token. The answer is the same either way.
      if (!B64TOKEN.test(credentials.token)) return { ok: false, error: malformed(NOT_ONE_TOKEN.invalid) };
      if (!(err instanceof TokenVerificationError)) throw err;
      return { ok: false, error: verificationFailure(err, resourceMetadata, challengeScope) };
    }
    // Only a caller with a valid token gets per-request work (e.g. reading the body to find the tool).
    const { required, insufficient } = scopesFor ? challengesFor([...configured.required, ...(await scopesFor())]) : configured;
    if (required.length > 0 && !hasScopes(grant.scopes, required)) return { ok: false, error: insufficient() };
    return { ok: true, grant };
  };
}

/** 401 `invalid_token` for a bad token; 503 + `Retry-After` when the verifier could not decide (RFC 6750 §3.1). */
export function verificationFailure(err: TokenVerificationError, resourceMetadata: string, scope = ''): OAuthError {
  if (err.unavailable) return new OAuthError(err.error, err.message, { status: 503, headers: { 'Retry-After': String(RETRY_AFTER_SECONDS) }, cause: err });
  return failureOf(bearerScheme, 401, 'invalid_token', err.message, [
    ['resource_metadata', resourceMetadata],
    ['scope', scope],
  ])(err);
}

/**
 * An RFC 6750 §3 failure: its challenge (the error code and description first, unless the
 * request presented no credentials, §3.1) is built once; each call makes the error to throw.
 */
function failureOf(
  scheme: AuthenticationScheme,
  status: 400 | 401 | 403,
  code: 'invalid_request' | 'invalid_token' | 'insufficient_scope',
  description: string,
  params: ChallengeParams,
  { withoutErrorCode = false } = {},
): (cause?: unknown) => OAuthError {
  const safe = new OAuthError(code, description).description!;
  const header = challenge(scheme, withoutErrorCode ? params : [['error', code], ['error_description', safe], ...params]);
  return (cause) =>
    new OAuthError(code, safe, { status, headers: { 'WWW-Authenticate': header }, cause, ...(withoutErrorCode ? { body: false as const } : {}) });
}

function requireIssuer(options: RequireMcpAuthOptions): VerifyOptions {
  if (!options.issuer) throw new TypeError('requireMcpAuth: issuer is required unless a verifier is given');
  return options as VerifyOptions;
}

function resolveResourceMetadataUrl(options: RequireMcpAuthOptions): string {
  if (options.resourceMetadataUrl) return new URL(options.resourceMetadataUrl).href;
  const first = options.audience === undefined ? undefined : [options.audience].flat()[0];
  if (!first) throw new TypeError('requireMcpAuth: audience (the resource URI) or resourceMetadataUrl is required');
  return protectedResourceMetadataUrl(first);
}

export interface ProtectedResourceMetadataOptions {
  /** The resource identifier, e.g. `https://mcp.example.com/mcp`. */
  resource: string;
  /** Issuer identifiers, byte-identical to their metadata `issuer`. */
  authorizationServers: string[];
  scopesSupported?: string[];
  resourceName?: string;
}

/**
 * RFC 9728 §3.2 response parts, built once. CORS `*` so browser-based MCP clients can discover
 * the authorization server; `offline_access` is dropped by the document builder (MCP 2026-07).
 */
export function protectedResourceMetadataParts(options: ProtectedResourceMetadataOptions): {
  headers: Record<string, string>;
  body: string;
  preflightHeaders: Record<string, string>;
} {
  if (canonicalResource(options.resource) === undefined) throw new TypeError('protectedResourceMetadata: resource must be an absolute URI without fragment');
  if (options.authorizationServers.length === 0) throw new TypeError('protectedResourceMetadata: authorizationServers must not be empty');
  const cors = { 'Access-Control-Allow-Origin': '*' };
  return {
    headers: { ...cors, 'Content-Type': 'application/json' },
    body: JSON.stringify(protectedResourceMetadataDocument(options)),
    preflightHeaders: { ...cors, 'Access-Control-Allow-Methods': 'GET, OPTIONS', 'Access-Control-Allow-Headers': '*', 'Access-Control-Max-Age': '86400' },
  };
}

import { errorFields, type Logger } from '../../log.js';
import { decodeJwt } from 'jose';
import { OAuthError } from '../../errors.js';
import { createGrantexClient, GrantexError, type GrantexApi, type GrantexTokenResponse } from './client.js';
import { TokenVerificationError, type McpGrant, type TokenVerifier, type VerifyOptions } from '../../verify/index.js';
import { isLoopbackHost } from '../../protocol/redirect-uri.js';

export interface GrantexAuthorityOptions {
  /** A client with the `@grantex/sdk` method shapes; or give `baseUrl` + `apiKey`. */
  client?: GrantexApi;
  /** e.g. `https://api.grantex.dev`. */
  baseUrl?: string;
  /** A secret (16–512 characters). */
  apiKey?: string;
  /** The Grantex agent that MCP clients act as. */
  agentId: string;
  /** Default `did:grantex:<agentId>`. */
  agentDid?: string;
  /**
   * The Grantex developer id (`dev_…`) that owns `apiKey` and the agent. Grant tokens must carry
   * it (`dev`): one Grantex service signs every developer's tokens with one key and one `iss`.
   */
  developerId: string;
  /** `iss` of Grantex grant tokens. Default `https://grantex.dev`. */
  tokenIssuer?: string;
  /** Default `<baseUrl>/.well-known/jwks.json`. */
  jwksUri?: string;
  /**
   * Origins where Grantex serves its consent pages (https, or http on a loopback host). A consent
   * URL Grantex returns on any other origin is never followed; the consent form's CSP
   * (`form-action`) allows the redirect to each. Default: the origin of `baseUrl` and, when its
   * host is `api.<domain>`, `https://<domain>` (the reference service: API on
   * `https://api.grantex.dev`, consent pages on `https://grantex.dev`).
   */
  consentOrigins?: readonly string[];
  /** Grant lifetime asked of Grantex (`expiresIn`), e.g. `"8h"`. Default `"24h"`. */
  grantLifetime?: string;
  /**
   * How introspection checks a grant token: `jwks` (default) verifies locally against Grantex's
   * keys and this server's grant records; `online` also asks `POST /v1/grants/verify`.
   */
  introspection?: 'jwks' | 'online';
  /** Also send issuance and revocation events to `POST /v1/audit/log`. */
  forwardAuditEvents?: boolean;
  /** For Grantex calls and its JWKS (e.g. a service binding's fetch). */
  fetch?: typeof fetch;
}

/** The resolved Grantex grant authority (built by `grantex(...)`, used by createMcpAuth). */
export interface GrantexAuthority {
  readonly kind: 'grantex';
  readonly api: GrantexApi;
  readonly agentId: string;
  readonly agentDid: string;
  readonly developerId: string;
  readonly tokenIssuer: string;
  readonly grantLifetime: string;
  /** Where a consent URL from Grantex may lead (origins, normalised). */
  readonly consentOrigins: readonly string[];
  readonly introspection: 'jwks' | 'online';
  readonly forwardAuditEvents: boolean;
  /** How grant tokens for these resources are verified (profile `grantex`, RS256 only, our agent and developer). */
  verifierOptions(resources: readonly string[]): VerifyOptions;
}

/**
 * Grantex as the grant authority: consent, grants, token signing and revocation happen at a
 * Grantex service reached with `fetch` (docs/architecture.md#grantex). Checked here: a missing
 * or malformed option is a `TypeError` at start-up.
 *
 * @example
 * ```ts
 * import { env } from 'cloudflare:workers';
 * import { createMcpAuth, cloudflareAccess, grantex } from 'mcp-auth-edge';
 *
 * const auth = createMcpAuth({
 *   issuer: 'https://mcp.example.com',
 *   resources: ['https://mcp.example.com/mcp'],
 *   scopes: ['mcp:tools:read', 'offline_access'],
 *   principal: cloudflareAccess({ teamDomain: 'https://acme.cloudflareaccess.com', audience: '<AUD tag>' }),
 *   authority: grantex({
 *     baseUrl: 'https://api.grantex.dev',
 *     apiKey: env.GRANTEX_API_KEY, // a secret
 *     agentId: 'ag_…',
 *     developerId: 'dev_…',
 *   }),
 * });
 * ```
 */
export function grantex(options: GrantexAuthorityOptions): GrantexAuthority {
  if (!options.agentId) throw new TypeError('mcp-auth-edge: grantex({ agentId }) is required');
  if (!options.developerId) throw new TypeError('mcp-auth-edge: grantex({ developerId }) is required (the Grantex developer id, dev_...)');
  let api = options.client;
  if (!api) {
    if (!options.baseUrl || !options.apiKey) throw new TypeError('mcp-auth-edge: grantex() needs `client`, or `baseUrl` and `apiKey`');
    api = createGrantexClient({ baseUrl: options.baseUrl, apiKey: options.apiKey, fetch: options.fetch });
  }
  const jwksUri = options.jwksUri ?? (options.baseUrl ? `${options.baseUrl.replace(/\/+$/, '')}/.well-known/jwks.json` : undefined);
  if (!jwksUri) throw new TypeError('mcp-auth-edge: grantex() needs `jwksUri` when only `client` is given');
  const tokenIssuer = options.tokenIssuer ?? 'https://grantex.dev';
  const agentDid = options.agentDid ?? `did:grantex:${options.agentId}`;
  const consentOrigins = checkConsentOrigins(options);
  return {
    kind: 'grantex',
    api,
    agentId: options.agentId,
    agentDid,
    developerId: options.developerId,
    tokenIssuer,
    grantLifetime: checkGrantLifetime(options.grantLifetime ?? '24h'),
    consentOrigins,
    introspection: options.introspection ?? 'jwks',
    forwardAuditEvents: options.forwardAuditEvents ?? false,
    verifierOptions: (resources) => ({
      issuer: tokenIssuer,
      audience: [...resources],
      profile: 'grantex',
      algorithms: ['RS256'],
      agent: agentDid,
      developer: options.developerId,
      jwksUri,
      fetch: options.fetch,
    }),
  };
}

/** RFC 6749 §5.2 `temporarily_unavailable` (503): Grantex could not be reached or asked to retry. */
const UNAVAILABLE = 'The grant authority is unavailable; retry later.';

/**
 * Maps a failed Grantex call to what the OAuth client sees: never the upstream message (that
 * goes to the instance's `logger`). Retryable failures are `temporarily_unavailable` (503), the
 * rest `fallback`.
 */
export function upstreamError(err: unknown, fallback: OAuthError, logger: Logger): OAuthError {
  if (err instanceof GrantexError) {
    logger.error('grant authority call failed', {
      status: err.status,
      retryable: err.retryable,
      requestId: err.requestId,
      upstreamMessage: err.upstreamMessage,
      ...errorFields(err),
    });
    if (err.retryable)
      return new OAuthError('temporarily_unavailable', UNAVAILABLE, {
        status: 503,
        headers: { 'Retry-After': String(Math.ceil((err.retryAfterMs ?? 5000) / 1000)) },
      });
    return fallback;
  }
  throw err;
}

/** A web origin a browser may be sent to: https, or http on a loopback host. */
function isWebOrigin(url: URL): boolean {
  return url.protocol === 'https:' || (url.protocol === 'http:' && isLoopbackHost(url.hostname));
}

/**
 * The consent origins of `grantex(...)`: as given, or the default of `baseUrl` (its origin, and
 * `https://<domain>` for an `api.<domain>` host: the reference service builds consent URLs as
 * `${PUBLIC_BASE_URL}/consent?req=…` on the public site, not on the API host). Each must be an
 * origin (no path, query, fragment or credentials) a browser may be sent to.
 */
function checkConsentOrigins(options: GrantexAuthorityOptions): readonly string[] {
  if ('consentOrigin' in options) throw new TypeError('mcp-auth-edge: grantex({ consentOrigin }) is now grantex({ consentOrigins: [...] }), a list of origins');
  let given = options.consentOrigins;
  if (given === undefined) {
    if (!options.baseUrl) throw new TypeError('mcp-auth-edge: grantex() needs `consentOrigins` when only `client` is given');
    const api = new URL(options.baseUrl);
    const site = /^api\.([^.]+\..+)$/i.exec(api.hostname)?.[1];
    given = [api.origin, ...(site ? [`https://${site}`] : [])];
  }
  if (!Array.isArray(given) || given.length === 0)
    throw new TypeError('mcp-auth-edge: grantex({ consentOrigins }) must be a non-empty list of origins, e.g. ["https://grantex.dev"]');
  const origins = given.map((value: unknown) => {
    const url = typeof value === 'string' && URL.canParse(value) ? new URL(value) : undefined;
    if (!url || !isWebOrigin(url) || url.pathname !== '/' || url.search || url.hash || url.username || url.password || /[?#]/.test(value as string))
      throw new TypeError(
        `mcp-auth-edge: grantex({ consentOrigins }) needs origins with https (http only on localhost, 127.0.0.1, [::1]) and no path, e.g. https://grantex.dev; got ${JSON.stringify(value)}`,
      );
    return url.origin;
  });
  return [...new Set(origins)];
}

/**
 * The consent URL Grantex returned is followed only when it is a web page on one of the consent
 * origins: never a script or data URL, never a site an altered or compromised answer names.
 */
export function checkConsentUrl(authority: Pick<GrantexAuthority, 'consentOrigins'>, value: string, logger: Logger): string {
  const url = URL.canParse(value) ? new URL(value) : undefined;
  if (url && isWebOrigin(url) && authority.consentOrigins.includes(url.origin)) return url.href;
  logger.warn('consent URL outside the consent origins', { consentOrigin: url?.origin ?? null, consentOrigins: authority.consentOrigins });
  throw new GrantexError({ status: 0, code: 'BAD_RESPONSE', operation: 'authorize', retryable: false });
}

/**
 * Grantex's `expiresIn` format (contract "start authorization"): a positive whole number and one
 * unit, `s`, `m`, `h` or `d` (e.g. `"30m"`, `"8h"`, `"24h"`). Checked at start-up, as Grantex would
 * otherwise refuse every sign-in with 400.
 */
function checkGrantLifetime(value: string): string {
  if (typeof value !== 'string' || !/^[1-9]\d{0,5}[smhd]$/.test(value))
    throw new TypeError('mcp-auth-edge: grantex({ grantLifetime }) must be a positive number and a unit s, m, h or d, e.g. 8h or 24h');
  return value;
}

/** Seconds until an ISO date (Grantex `expiresAt`), at least 1. */
export function secondsUntil(iso: string, now: number): number {
  return Math.max(1, Math.floor(Date.parse(iso) / 1000) - now);
}

/** The `jti` and `exp` of a grant token, for hooks and links (it was just issued by Grantex). */
export function grantTokenFacts(response: GrantexTokenResponse): { jti: string; exp: number } {
  const claims = decodeJwt(response.grantToken);
  return { jti: String(claims.jti ?? ''), exp: Number(claims.exp ?? 0) };
}

/** Verifies a Grantex grant token for introspection; undefined when it is not a valid one. */
export async function readGrantToken(authority: GrantexAuthority, verify: TokenVerifier, token: string, logger: Logger): Promise<McpGrant | undefined> {
  let grant: McpGrant;
  try {
    grant = await verify(token);
  } catch (err) {
    if (err instanceof TokenVerificationError) {
      if (err.unavailable) throw new OAuthError('temporarily_unavailable', UNAVAILABLE, { status: 503 });
      return undefined;
    }
    throw err;
  }
  if (authority.introspection === 'online') {
    const online = await authority.api.grants.verify(token).catch((err) => {
      throw upstreamError(err, new OAuthError('temporarily_unavailable', UNAVAILABLE, { status: 503 }), logger);
    });
    if (!online.active) return undefined;
  }
  return grant;
}

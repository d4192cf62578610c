import type { ClientStore, ClientRecord } from './storage/client-store.js';
import type { PrincipalResolver } from './principal/types.js';
import { CLIENT_KEYED_ENDPOINTS, CONFIGURED_ENDPOINTS, type RateLimitOptions } from './rate-limit/limits.js';
import { clientAddressReader, isClientAddressSource, type ClientAddressReader, type ClientAddressSource } from './rate-limit/client-address.js';
import type { AuditEvent, RevocationEvent, TokenIssuedEvent } from './events.js';
import { SIGNING_ALGORITHMS, type SigningAlgorithm } from './tokens/signing-keys.js';
import type { GrantexAuthority } from './authority/grantex/config.js';
import type { RefreshTokenPolicy } from './grants/authorization-code.js';
import type { ClientMetadataDocumentOptions } from './clients/metadata-document-fetcher.js';
import { checkRedirectUriSyntax, isLoopbackHost } from './protocol/redirect-uri.js';
import { currentNumericDate } from './protocol/numeric-date.js';
import { SCOPE_TOKEN } from './protocol/scope.js';
import { OAuthError } from './errors.js';
import { resolveLogger, silentLogger, type Logger } from './log.js';
import { isStorableClientId } from './storage/keys.js';
import { developmentSignIn } from './principal/development.js';

export interface ConsentUiOptions {
  appName?: string;
  logoUrl?: string;
  privacyPolicyUrl?: string;
  termsOfServiceUrl?: string;
}

export interface McpAuthOptions {
  /** Exact issuer identifier: https (or http on loopback), no trailing slash, no query or fragment. */
  issuer: string;
  /** The protected MCP resource URI(s) (RFC 8707/9728). The first is used when a request names none. */
  resources: string | string[];
  /** `scopes_supported`. `offline_access` may be listed; it is never put in challenges. */
  scopes: string[];
  /** Scopes granted when an authorization request has no `scope`; defaults to every scope but `offline_access`. */
  defaultScopes?: string[];
  /** Human descriptions shown on the consent page, by scope. */
  scopeDescriptions?: Record<string, string>;
  accessTokenTtlSeconds?: number;
  refreshTokenTtlSeconds?: number;
  /**
   * Which grants get a refresh token (clients registered for the refresh_token grant only).
   * `always` (default): every one, since MCP SDK clients do not ask for `offline_access`.
   * `offline_access`: only grants that include `offline_access` (MCP 2026-07-28); it must be in `scopes`.
   */
  refreshTokens?: RefreshTokenPolicy;
  /** Lifetime of authorization codes; at most 600 (OAuth 2.1 §4.1.2). */
  codeExpirationSeconds?: number;
  signing?: {
    algorithm?: SigningAlgorithm;
    /** A private JWK (object or JSON string) from a secret; otherwise a key is generated and kept in the Durable Object. */
    privateJwk?: JsonWebKey | string;
  };
  registration?: {
    /** Serve `POST /register` (RFC 7591). Default true. */
    enabled?: boolean;
  };
  /**
   * Redirect URIs that may be registered or used: exact strings, or patterns, matched against
   * the normalised URL the browser is sent to (`new URL(uri).href`). Unset = any https/loopback URI.
   */
  allowedRedirectUris?: (string | RegExp)[];
  /** Clients known from configuration, in addition to the client store. */
  clients?: ClientRecord[];
  /** Where registered clients live. Default: Workers KV (binding `bindings.clients`). */
  clientStore?: ClientStore;
  /** Client ID Metadata Documents: https URL client_ids fetched from the client (default on). */
  clientMetadataDocuments?: ClientMetadataDocumentOptions;
  /** Who is the user. Default: development sign-in on loopback issuers; required otherwise. */
  principal?: PrincipalResolver;
  consentUi?: ConsentUiOptions;
  /** Clients (e.g. resource servers) allowed to introspect tokens issued to other clients. */
  introspectionClients?: string[];
  rateLimits?: RateLimitOptions;
  /**
   * Where a request's client address (for rate limits) comes from. Default `auto`:
   * `CF-Connecting-IP` on requests that came through Cloudflare (`request.cf` is set), else none
   * (not rate limited). `cloudflare`, `{ header }` of your own proxy, or a function otherwise.
   */
  clientAddress?: ClientAddressSource;
  /** Where grants and tokens come from: the embedded signer (default) or `grantex({...})`. */
  authority?: GrantexAuthority;
  bindings?: { clients?: string; state?: string };
  /**
   * The operator API (README "Operate"): list and delete clients, revoke a user's grants, rotate
   * the signing key. Served only when `secret` is set (otherwise its routes do not exist); callers
   * send `Authorization: Bearer <secret>`. At least 32 characters (`openssl rand -base64 32`).
   */
  operator?: { secret: string };
  onTokenIssued?: (event: TokenIssuedEvent) => void | Promise<void>;
  onRevocation?: (event: RevocationEvent) => void | Promise<void>;
  /** Every audit event (issuance, refresh, revocation, replay, rate limiting). */
  onEvent?: (event: AuditEvent) => void | Promise<void>;
  /**
   * Receives every line the library writes (level, constant message, fields): audit events,
   * unexpected errors, operator warnings. Default: one JSON line per call on the console;
   * `false` writes nothing.
   */
  logger?: Logger | false;
  /**
   * @deprecated Use `logger` (and `onEvent` for audit events). `false` is `logger: false`; a
   * function receives the audit events instead of the logger.
   */
  log?: ((event: AuditEvent) => void) | false;
  /** Seconds since the epoch; replace it only in tests. */
  clock?: () => number;
}

export interface ResolvedOptions {
  issuer: string;
  issuerUrl: URL;
  /** Path prefix of every endpoint ('' when the issuer has no path). */
  basePath: string;
  resources: string[];
  scopes: string[];
  defaultScopes: string[];
  scopeDescriptions: Record<string, string>;
  accessTokenTtlSeconds: number;
  refreshTokenTtlSeconds: number;
  refreshTokens: RefreshTokenPolicy;
  codeExpirationSeconds: number;
  signingAlgorithm: SigningAlgorithm;
  privateJwk?: JsonWebKey;
  registrationEnabled: boolean;
  allowedRedirectUris?: (string | RegExp)[];
  clients: ClientRecord[];
  clientStore?: ClientStore;
  /** Undefined when Client ID Metadata Documents are turned off. */
  clientMetadataDocuments?: ClientMetadataDocumentOptions;
  principal: PrincipalResolver;
  introspectionClients: string[];
  consentUi: Required<Pick<ConsentUiOptions, 'appName'>> & ConsentUiOptions;
  rateLimits: RateLimitOptions;
  clientAddress: ClientAddressReader;
  authority?: GrantexAuthority;
  bindings: { clients: string; state: string };
  /** The operator API's secret; undefined: the operator API is not served. */
  operatorSecret?: string;
  /** Where every line of this instance goes (`logger`, or `log: false`). */
  logger: Logger;
  /** `log` is always set: the audit sink, or `false` when nothing is logged. */
  hooks: Pick<McpAuthOptions, 'onTokenIssued' | 'onRevocation' | 'onEvent' | 'log'> & { logger: Logger };
  /** True on http loopback issuers: cookies cannot be `Secure` there. */
  insecureLoopback: boolean;
  clock: () => number;
}

function fail(message: string): never {
  throw new TypeError(`mcp-auth-edge: ${message}`);
}

function positiveInt(name: string, value: number | undefined, fallback: number, max = Infinity): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value <= 0 || value > max) fail(`${name} must be a whole number of seconds between 1 and ${max}`);
  return value;
}

/** Validates options once, at construction, with messages that say what to fix. */
export function resolveOptions(options: McpAuthOptions): ResolvedOptions {
  if (!options || typeof options.issuer !== 'string') fail('`issuer` is required');
  let issuerUrl: URL;
  try {
    issuerUrl = new URL(options.issuer);
  } catch {
    fail(`issuer "${options.issuer}" is not an absolute URL`);
  }
  // RFC 8414 §2: https, no query or fragment; MCP 2026-07: byte-identical issuer, so no trailing slash.
  if (options.issuer.endsWith('/')) fail(`issuer "${options.issuer}" must not end with a slash`);
  if (issuerUrl.search || issuerUrl.hash || options.issuer.includes('#') || options.issuer.includes('?')) fail('issuer must not have a query or fragment');
  if (issuerUrl.username || issuerUrl.password) fail('issuer must not contain credentials');
  const loopback = isLoopbackHost(issuerUrl.hostname);
  if (issuerUrl.protocol !== 'https:' && !(issuerUrl.protocol === 'http:' && loopback))
    fail(`issuer "${options.issuer}" must use https (http is allowed only on localhost/127.0.0.1/[::1])`);
  if (issuerUrl.href.replace(/\/$/, '') !== options.issuer)
    fail(`issuer "${options.issuer}" is not in canonical form; use "${issuerUrl.href.replace(/\/$/, '')}"`);

  const resources = [options.resources ?? []].flat();
  if (resources.length === 0) fail('`resources` must name at least one protected resource URI');
  for (const resource of resources) {
    let url: URL;
    try {
      url = new URL(resource);
    } catch {
      fail(`resource "${resource}" is not an absolute URI`);
    }
    if (url.hash || resource.includes('#')) fail(`resource "${resource}" must not have a fragment (RFC 8707 §2)`);
  }

  if (!Array.isArray(options.scopes) || options.scopes.length === 0) fail('`scopes` must list at least one scope');
  for (const scope of options.scopes) if (!SCOPE_TOKEN.test(scope)) fail(`scope "${scope}" is not a valid scope token`);
  const defaultScopes = options.defaultScopes ?? options.scopes.filter((s) => s !== 'offline_access');
  for (const scope of defaultScopes) if (!options.scopes.includes(scope)) fail(`default scope "${scope}" is not in \`scopes\``);

  const codeExpirationSeconds = positiveInt('codeExpirationSeconds', options.codeExpirationSeconds, 600, 600);
  const accessTokenTtlSeconds = positiveInt('accessTokenTtlSeconds', options.accessTokenTtlSeconds, 900, 86_400);
  const refreshTokenTtlSeconds = positiveInt('refreshTokenTtlSeconds', options.refreshTokenTtlSeconds, 30 * 86_400);
  const refreshTokens = options.refreshTokens ?? 'always';
  if (refreshTokens !== 'always' && refreshTokens !== 'offline_access') fail(`refreshTokens must be "always" or "offline_access"`);
  if (refreshTokens === 'offline_access' && !options.scopes.includes('offline_access'))
    fail('refreshTokens: "offline_access" needs offline_access in `scopes`, or no client could ever get a refresh token');

  let privateJwk: JsonWebKey | undefined;
  if (typeof options.signing?.privateJwk === 'string') {
    try {
      privateJwk = JSON.parse(options.signing.privateJwk) as JsonWebKey;
    } catch {
      fail('signing.privateJwk is not valid JSON');
    }
  } else privateJwk = options.signing?.privateJwk;
  if (privateJwk && !('d' in privateJwk)) fail('signing.privateJwk must be a private key (it has no "d")');
  const configuredAlgorithm = options.signing?.algorithm;
  if (configuredAlgorithm !== undefined && !isSigningAlgorithm(configuredAlgorithm))
    fail(`signing.algorithm "${String(configuredAlgorithm)}" is not one of ${SIGNING_ALGORITHMS.join(', ')}`);
  // A key's type names its algorithm (RFC 7518 §3.1, RFC 8037 §3.1): an EdDSA key signs EdDSA
  // without being told, and a contradiction is refused here rather than by every signature.
  const keyAlgorithm = privateJwk ? signingAlgorithmOfKey(privateJwk) : undefined;
  if (privateJwk && !keyAlgorithm)
    fail(`signing.privateJwk is not a key for ${SIGNING_ALGORITHMS.join(', ')} (EC P-256, OKP Ed25519 or RSA, with a matching "alg" if any)`);
  if (configuredAlgorithm && keyAlgorithm && configuredAlgorithm !== keyAlgorithm)
    fail(
      `signing.algorithm is ${configuredAlgorithm} but signing.privateJwk is an ${keyAlgorithm} key; leave the algorithm unset or set it to ${keyAlgorithm}`,
    );
  const signingAlgorithm = configuredAlgorithm ?? keyAlgorithm ?? 'ES256';

  const operatorSecret = options.operator === undefined ? undefined : options.operator?.secret;
  if (options.operator !== undefined) {
    const problem = operatorSecretProblem(operatorSecret);
    if (problem) fail(`operator.secret ${problem}`);
  }

  const principal = options.principal ?? developmentSignIn();
  if (!principal.allowedOnPublicIssuer && !loopback)
    fail('the development sign-in only runs on a localhost issuer; set `principal` (cloudflareAccess, customPrincipal) or developmentSignIn({ force: true })');

  for (const [endpoint, limit] of Object.entries(options.rateLimits ?? {})) {
    if (endpoint === 'enabled' || limit === false) continue;
    if (!(CONFIGURED_ENDPOINTS as readonly string[]).includes(endpoint)) fail(`rateLimits.${endpoint} is not an endpoint (${CONFIGURED_ENDPOINTS.join(', ')})`);
    const { limit: count, windowSeconds } = (limit ?? {}) as { limit?: unknown; windowSeconds?: unknown };
    if (!Number.isInteger(count) || (count as number) < 1 || !Number.isInteger(windowSeconds) || (windowSeconds as number) < 1)
      fail(`rateLimits.${endpoint} must be false or { limit, windowSeconds } with whole numbers ≥ 1`);
    const { addressLimit } = (limit ?? {}) as { addressLimit?: unknown };
    if (addressLimit !== undefined && !(CLIENT_KEYED_ENDPOINTS as readonly string[]).includes(endpoint))
      fail(`rateLimits.${endpoint}.addressLimit applies only to ${CLIENT_KEYED_ENDPOINTS.join(' and ')} (counted per client and address)`);
    if (addressLimit !== undefined && (!Number.isInteger(addressLimit) || (addressLimit as number) < 1))
      fail(`rateLimits.${endpoint}.addressLimit must be a whole number ≥ 1`);
  }

  for (const client of options.clients ?? []) {
    if (!client.client_id) fail('each configured client needs a client_id');
    if (!isStorableClientId(client.client_id)) fail('a configured client_id must be 1 to 255 visible ASCII characters or spaces (RFC 6749 Appendix A.1)');
    try {
      if (!client.redirect_uris?.length) fail(`client ${client.client_id} has no redirect_uris`);
      client.redirect_uris.forEach(checkRedirectUriSyntax);
    } catch (err) {
      if (err instanceof OAuthError) fail(`client ${client.client_id}: ${err.description}`);
      throw err;
    }
    if (client.token_endpoint_auth_method !== 'none' && !client.client_secret_hash)
      fail(
        `client ${client.client_id} authenticates with ${client.token_endpoint_auth_method} but has no client_secret_hash (scripts/register-client.mjs makes one)`,
      );
  }

  const clientAddress = options.clientAddress ?? 'auto';
  if (!isClientAddressSource(clientAddress)) fail('clientAddress must be "auto", "cloudflare", { header: "<header name>" } or a function of the request');

  const basePath = issuerUrl.pathname === '/' ? '' : issuerUrl.pathname;
  const logger = resolveLogger(options.log === false ? false : options.logger);
  return {
    issuer: options.issuer,
    issuerUrl,
    basePath,
    resources,
    scopes: [...options.scopes],
    defaultScopes,
    scopeDescriptions: options.scopeDescriptions ?? {},
    accessTokenTtlSeconds,
    refreshTokenTtlSeconds,
    refreshTokens,
    codeExpirationSeconds,
    signingAlgorithm,
    privateJwk,
    registrationEnabled: options.registration?.enabled ?? true,
    allowedRedirectUris: options.allowedRedirectUris,
    clients: options.clients ?? [],
    clientStore: options.clientStore,
    clientMetadataDocuments: options.clientMetadataDocuments?.enabled === false ? undefined : (options.clientMetadataDocuments ?? {}),
    principal,
    introspectionClients: options.introspectionClients ?? [],
    // An `appName: undefined` (e.g. an unset APP_NAME var) must not erase the default.
    consentUi: { ...options.consentUi, appName: options.consentUi?.appName || 'MCP Authorization' },
    rateLimits: options.rateLimits ?? {},
    clientAddress: clientAddressReader(clientAddress),
    authority: options.authority,
    bindings: { clients: options.bindings?.clients ?? 'MCP_AUTH_CLIENTS', state: options.bindings?.state ?? 'MCP_AUTH_STATE' },
    operatorSecret,
    logger,
    hooks: { onTokenIssued: options.onTokenIssued, onRevocation: options.onRevocation, onEvent: options.onEvent, log: auditLog(options.log, logger), logger },
    insecureLoopback: issuerUrl.protocol === 'http:',
    clock: options.clock ?? currentNumericDate,
  };
}

/** The audit-event sink: a `log` function, else one logger line per event; `false` when silenced. */
function auditLog(option: McpAuthOptions['log'], logger: Logger): ((event: AuditEvent) => void) | false {
  if (typeof option === 'function') return option;
  if (option === false || logger === silentLogger) return false;
  return (event) => logger.info('audit event', { ...event });
}

export function isSigningAlgorithm(value: unknown): value is SigningAlgorithm {
  return (SIGNING_ALGORITHMS as readonly unknown[]).includes(value);
}

/**
 * The algorithm a private JWK signs with, from its type: EC P-256 → ES256 (RFC 7518 §3.4), OKP
 * Ed25519 → EdDSA (RFC 8037 §3.1), RSA → RS256 (RFC 7518 §3.3). Undefined for any other key, or
 * when the key's own `alg` says something else.
 */
export function signingAlgorithmOfKey(jwk: JsonWebKey): SigningAlgorithm | undefined {
  const byType =
    jwk.kty === 'EC' && jwk.crv === 'P-256'
      ? 'ES256'
      : jwk.kty === 'OKP' && (jwk as { crv?: string }).crv === 'Ed25519'
        ? 'EdDSA'
        : jwk.kty === 'RSA'
          ? 'RS256'
          : undefined;
  if (jwk.alg !== undefined && jwk.alg !== byType) return undefined;
  return byType;
}

/** Why an operator secret is unusable (a sentence's end), or undefined when it is fine. */
export function operatorSecretProblem(secret: unknown): string | undefined {
  if (typeof secret !== 'string') return 'must be a string';
  if (secret.length < 32 || secret.length > 512) return `must be 32 to 512 characters (it has ${secret.length}); make one with \`openssl rand -base64 32\``;
  if (!/^[\x21-\x7E]+$/.test(secret)) return 'must be visible ASCII characters only (no spaces)';
  return undefined;
}

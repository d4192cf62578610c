// The stand-alone worker's configuration: wrangler `[vars]` and secrets → options.
import { isSigningAlgorithm, operatorSecretProblem, signingAlgorithmOfKey, type McpAuthOptions } from './options.js';
import type { RateLimitOptions } from './rate-limit/limits.js';
import type { ClientRecord } from './storage/client-store.js';
import { isJsonObject } from './protocol/json-object.js';
import { cloudflareAccess } from './principal/cloudflare-access.js';
import { developmentSignIn } from './principal/development.js';
import { grantex, type GrantexAuthority } from './authority/grantex/config.js';

/** wrangler `[vars]` and secrets read by the stand-alone worker (README "Configuration"). */
export interface WorkerEnv {
  ISSUER: string;
  RESOURCE?: string;
  SCOPES?: string;
  DEFAULT_SCOPES?: string;
  ACCESS_TOKEN_TTL_SECONDS?: string;
  REFRESH_TOKEN_TTL_SECONDS?: string;
  /** "always" (default) or "offline_access": refresh tokens only for grants with offline_access. */
  REFRESH_TOKENS?: string;
  CODE_TTL_SECONDS?: string;
  /** ES256, EdDSA or RS256; with SIGNING_PRIVATE_JWK, inferred from the key when unset. */
  SIGNING_ALGORITHM?: string;
  /** Secret: a private JWK (scripts/generate-signing-key.mjs). */
  SIGNING_PRIVATE_JWK?: string;
  /** Secret: turns the operator API on (README "Operate"); at least 32 characters. */
  OPERATOR_SECRET?: string;
  REGISTRATION?: string;
  /** "off" turns Client ID Metadata Documents (https URL client_ids) off. */
  CLIENT_METADATA_DOCUMENTS?: string;
  ALLOWED_REDIRECT_URIS?: string;
  INTROSPECTION_CLIENTS?: string;
  /** Pre-registered clients: a JSON array of records from scripts/register-client.mjs. */
  CLIENTS?: string;
  /** "off", or JSON like {"token":{"limit":20,"windowSeconds":60}}. */
  RATE_LIMITS?: string;
  /** Client address for rate limits: "auto" (default), "cloudflare" or "header:<name>" of your proxy. */
  CLIENT_ADDRESS?: string;
  APP_NAME?: string;
  LOGO_URL?: string;
  PRIVACY_POLICY_URL?: string;
  TERMS_OF_SERVICE_URL?: string;
  /** Cloudflare Access: team domain and application AUD tag. */
  CF_ACCESS_TEAM_DOMAIN?: string;
  CF_ACCESS_AUD?: string;
  /** "force" allows the development sign-in on a public issuer (never in production); it is still offered only at the issuer's origin. */
  DEVELOPMENT_SIGN_IN?: string;
  /** Grantex as the grant authority (README "Use Grantex"); the API key is a secret. */
  GRANTEX_BASE_URL?: string;
  GRANTEX_AGENT_ID?: string;
  /** The Grantex developer id (dev_...) that owns the API key: grant tokens of other developers are refused. */
  GRANTEX_DEVELOPER_ID?: string;
  GRANTEX_API_KEY?: string;
  GRANTEX_TOKEN_ISSUER?: string;
  GRANTEX_GRANT_LIFETIME?: string;
  /** Origins of Grantex's consent pages, comma separated (default: see README "Use Grantex"). */
  GRANTEX_CONSENT_ORIGINS?: string;
  /** Renamed to GRANTEX_CONSENT_ORIGINS; refused with a clear error when still set. */
  GRANTEX_CONSENT_ORIGIN?: string;
  /** "jwks" (default) or "online". */
  GRANTEX_INTROSPECTION?: string;
  /** "on" forwards issuance and revocation events to Grantex's audit log. */
  GRANTEX_AUDIT?: string;
}

/**
 * The Grantex authority from GRANTEX_* variables, or undefined for the local signer.
 *
 * @example
 * ```ts
 * import { env } from 'cloudflare:workers';
 * import { createMcpAuth, grantexFromEnv, type WorkerEnv } from 'mcp-auth-edge';
 *
 * // Options in code; Grantex from GRANTEX_BASE_URL, GRANTEX_AGENT_ID, GRANTEX_DEVELOPER_ID and the GRANTEX_API_KEY secret.
 * const auth = createMcpAuth({
 *   issuer: 'https://mcp.example.com',
 *   resources: ['https://mcp.example.com/mcp'],
 *   scopes: ['mcp:tools:read'],
 *   authority: grantexFromEnv(env as unknown as WorkerEnv),
 * });
 * ```
 */
export function grantexFromEnv(env: WorkerEnv): GrantexAuthority | undefined {
  if (!env.GRANTEX_BASE_URL) return undefined;
  if (!env.GRANTEX_AGENT_ID || !env.GRANTEX_DEVELOPER_ID || !env.GRANTEX_API_KEY)
    throw new TypeError('mcp-auth-edge: GRANTEX_BASE_URL needs GRANTEX_AGENT_ID, GRANTEX_DEVELOPER_ID and the GRANTEX_API_KEY secret');
  if (env.GRANTEX_INTROSPECTION && env.GRANTEX_INTROSPECTION !== 'jwks' && env.GRANTEX_INTROSPECTION !== 'online')
    throw new TypeError('mcp-auth-edge: GRANTEX_INTROSPECTION must be "jwks" or "online"');
  if (env.GRANTEX_CONSENT_ORIGIN !== undefined) throw new TypeError('mcp-auth-edge: GRANTEX_CONSENT_ORIGIN is now GRANTEX_CONSENT_ORIGINS (comma separated)');
  return grantex({
    baseUrl: env.GRANTEX_BASE_URL,
    apiKey: env.GRANTEX_API_KEY,
    agentId: env.GRANTEX_AGENT_ID,
    developerId: env.GRANTEX_DEVELOPER_ID,
    tokenIssuer: env.GRANTEX_TOKEN_ISSUER,
    grantLifetime: env.GRANTEX_GRANT_LIFETIME,
    consentOrigins: list(env.GRANTEX_CONSENT_ORIGINS),
    introspection: env.GRANTEX_INTROSPECTION as 'jwks' | 'online' | undefined,
    forwardAuditEvents: env.GRANTEX_AUDIT === 'on',
  });
}

/** `header:X-Real-IP` → `{ header: 'X-Real-IP' }`; other values as given (validated with the options). */
function clientAddressFromEnv(value: string | undefined): McpAuthOptions['clientAddress'] {
  if (value === undefined || value === '') return undefined;
  return value.startsWith('header:') ? { header: value.slice('header:'.length) } : (value as 'auto');
}

const list = (value: string | undefined) => value?.split(/[\s,]+/).filter(Boolean);
const seconds = (value: string | undefined) => (value ? Number(value) : undefined);

/**
 * Builds the options from the worker's environment (the `WorkerEnv` variables, README
 * "Stand-alone worker configuration"), with the same validation as the library: what the
 * stand-alone worker serves. Build once per isolate, not per request.
 *
 * @example
 * ```ts
 * import { Hono } from 'hono';
 * import { createMcpAuth, optionsFromEnv, type WorkerEnv } from 'mcp-auth-edge';
 * export { McpAuthState } from 'mcp-auth-edge';
 *
 * let app: Hono | undefined;
 * export default {
 *   fetch(request: Request, env: WorkerEnv, ctx: ExecutionContext) {
 *     app ??= new Hono().route('/', createMcpAuth({ ...optionsFromEnv(env), onEvent: (event) => console.log(event.type) }).app);
 *     return app.fetch(request, env, ctx);
 *   },
 * };
 * ```
 */
export function optionsFromEnv(env: WorkerEnv): McpAuthOptions {
  if (!env.ISSUER) throw new TypeError('mcp-auth-edge: set the ISSUER variable (e.g. https://auth.example.com)');
  const json = <T>(name: keyof WorkerEnv, value: string): T => {
    try {
      return JSON.parse(value) as T;
    } catch {
      throw new TypeError(`mcp-auth-edge: ${name} is not valid JSON`);
    }
  };
  let rateLimits: RateLimitOptions | undefined;
  if (env.RATE_LIMITS === 'off') rateLimits = { enabled: false };
  else if (env.RATE_LIMITS) rateLimits = json<RateLimitOptions>('RATE_LIMITS', env.RATE_LIMITS);
  const principal = env.CF_ACCESS_TEAM_DOMAIN
    ? cloudflareAccess({ teamDomain: env.CF_ACCESS_TEAM_DOMAIN, audience: env.CF_ACCESS_AUD ?? '' })
    : env.DEVELOPMENT_SIGN_IN === 'force'
      ? developmentSignIn({ force: true })
      : undefined;
  return {
    issuer: env.ISSUER,
    resources: list(env.RESOURCE) ?? [`${env.ISSUER}/mcp`],
    scopes: list(env.SCOPES) ?? ['mcp'],
    defaultScopes: list(env.DEFAULT_SCOPES),
    accessTokenTtlSeconds: seconds(env.ACCESS_TOKEN_TTL_SECONDS),
    refreshTokenTtlSeconds: seconds(env.REFRESH_TOKEN_TTL_SECONDS),
    refreshTokens: env.REFRESH_TOKENS as McpAuthOptions['refreshTokens'],
    codeExpirationSeconds: seconds(env.CODE_TTL_SECONDS),
    signing: signingFromEnv(env),
    registration: { enabled: env.REGISTRATION !== 'off' },
    clientMetadataDocuments: { enabled: env.CLIENT_METADATA_DOCUMENTS !== 'off' },
    allowedRedirectUris: list(env.ALLOWED_REDIRECT_URIS),
    introspectionClients: list(env.INTROSPECTION_CLIENTS),
    clients: env.CLIENTS ? clientsFromEnv(json<unknown>('CLIENTS', env.CLIENTS)) : undefined,
    rateLimits,
    clientAddress: clientAddressFromEnv(env.CLIENT_ADDRESS),
    principal,
    authority: grantexFromEnv(env),
    operator: operatorFromEnv(env),
    consentUi: {
      appName: env.APP_NAME,
      logoUrl: env.LOGO_URL,
      privacyPolicyUrl: env.PRIVACY_POLICY_URL,
      termsOfServiceUrl: env.TERMS_OF_SERVICE_URL,
    },
  };
}

/**
 * SIGNING_PRIVATE_JWK and SIGNING_ALGORITHM: the algorithm is the key's (an EdDSA key signs
 * EdDSA without SIGNING_ALGORITHM); a contradiction stops the worker at start-up, never a 500
 * per signature or JWKS request.
 */
function signingFromEnv(env: WorkerEnv): McpAuthOptions['signing'] {
  const algorithm = env.SIGNING_ALGORITHM || undefined;
  if (algorithm !== undefined && !isSigningAlgorithm(algorithm))
    throw new TypeError(`mcp-auth-edge: SIGNING_ALGORITHM (signing.algorithm) "${algorithm}" is not one of ES256, EdDSA, RS256`);
  if (!env.SIGNING_PRIVATE_JWK) return { algorithm };
  let jwk: unknown;
  try {
    jwk = JSON.parse(env.SIGNING_PRIVATE_JWK);
  } catch {
    throw new TypeError('mcp-auth-edge: SIGNING_PRIVATE_JWK is not valid JSON (make one with scripts/generate-signing-key.mjs)');
  }
  if (!isJsonObject(jwk)) throw new TypeError('mcp-auth-edge: SIGNING_PRIVATE_JWK must be one JWK object (scripts/generate-signing-key.mjs)');
  if (!('d' in jwk))
    throw new TypeError('mcp-auth-edge: SIGNING_PRIVATE_JWK must be a private key (it has no "d"; scripts/generate-signing-key.mjs makes one)');
  const keyAlgorithm = signingAlgorithmOfKey(jwk as JsonWebKey);
  if (!keyAlgorithm)
    throw new TypeError(
      'mcp-auth-edge: SIGNING_PRIVATE_JWK is not an ES256 (EC P-256), EdDSA (OKP Ed25519) or RS256 (RSA) key, or its "alg" contradicts its type',
    );
  if (algorithm && algorithm !== keyAlgorithm)
    throw new TypeError(
      `mcp-auth-edge: SIGNING_ALGORITHM is ${algorithm} but SIGNING_PRIVATE_JWK is an ${keyAlgorithm} key; remove SIGNING_ALGORITHM or set it to ${keyAlgorithm}`,
    );
  return { algorithm: keyAlgorithm, privateJwk: jwk as JsonWebKey };
}

/** CLIENTS is a JSON array of client records; anything else stops the worker at start-up. */
function clientsFromEnv(value: unknown): ClientRecord[] {
  if (!Array.isArray(value))
    throw new TypeError(
      'mcp-auth-edge: CLIENTS must be a JSON array of client records, e.g. [{"client_id":...}]; scripts/register-client.mjs prints one (--append adds to an existing CLIENTS value)',
    );
  value.forEach((client, index) => {
    if (!isJsonObject(client)) throw new TypeError(`mcp-auth-edge: CLIENTS[${index}] must be a client record (a JSON object)`);
  });
  return value as ClientRecord[];
}

/** OPERATOR_SECRET turns the operator API on; unset, its routes do not exist. */
function operatorFromEnv(env: WorkerEnv): McpAuthOptions['operator'] {
  if (env.OPERATOR_SECRET === undefined || env.OPERATOR_SECRET === '') return undefined;
  const problem = operatorSecretProblem(env.OPERATOR_SECRET);
  if (problem) throw new TypeError(`mcp-auth-edge: OPERATOR_SECRET ${problem}`);
  return { secret: env.OPERATOR_SECRET };
}

// The package entry (`mcp-auth-edge`): the authorization server and what configures it.
export { createMcpAuth, type McpAuth } from './create-mcp-auth.js';
export { McpAuthState } from './storage/state-object.js';
export type { McpAuthOptions, ConsentUiOptions } from './options.js';
export { OAuthError, type OAuthErrorCode } from './errors.js';
export { developmentSignIn } from './principal/development.js';
export { cloudflareAccess } from './principal/cloudflare-access.js';
export { customPrincipal } from './principal/custom.js';
export { grantex, type GrantexAuthority, type GrantexAuthorityOptions } from './authority/grantex/config.js';
export { createGrantexClient, GrantexError, type GrantexApi } from './authority/grantex/client.js';
export { optionsFromEnv, grantexFromEnv, type WorkerEnv } from './env.js';
export type { Principal, PrincipalResolver } from './principal/types.js';
export { KvClientStore, type ClientStore, type ClientRecord } from './storage/client-store.js';
export type { RateLimitOptions, RateLimit } from './rate-limit/limits.js';
export type { AuditEvent, TokenIssuedEvent, RevocationEvent } from './events.js';

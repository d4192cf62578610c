// The package entry (`mcp-auth-edge`): the authorization server and every type that configures it.

// The server, its options and its middleware for the co-located MCP resource.
export { createMcpAuth, type McpAuth, type ProtectOptions } from './create-mcp-auth.js';
export type { McpAuthOptions, ConsentUiOptions } from './options.js';
export type { McpAuthEnv, McpAuthVariables } from './middleware/hono.js';
export type { McpGrant, ScopeHierarchy } from './verify/index.js';
export type { SigningAlgorithm } from './tokens/signing-keys.js';
export type { RefreshTokenPolicy } from './grants/authorization-code.js';
export type { ClientMetadataDocumentOptions } from './clients/metadata-document-fetcher.js';
export { McpAuthState } from './storage/state-object.js';
export { OAuthError, type OAuthErrorCode } from './errors.js';

// The stand-alone worker's configuration from wrangler vars and secrets.
export { optionsFromEnv, grantexFromEnv, type WorkerEnv } from './env.js';

// Who the user is (the `principal` option).
export { developmentSignIn, type DevelopmentSignInOptions } from './principal/development.js';
export { cloudflareAccess, type CloudflareAccessOptions } from './principal/cloudflare-access.js';
export { customPrincipal, type ResolvePrincipal } from './principal/custom.js';
export type { Principal, PrincipalAnswer, PrincipalRequest, PrincipalResolver, SignInRedirect } from './principal/types.js';

// Grantex as the grant authority (the `authority` option).
export { grantex, type GrantexAuthority, type GrantexAuthorityOptions } from './authority/grantex/config.js';
export { createGrantexClient, GrantexError, type GrantexApi, type GrantexClientOptions, type GrantexOperation } from './authority/grantex/client.js';

// Clients, rate limits, logging and audit events (the hooks `onTokenIssued`, `onRevocation`, `onEvent`).
export { KvClientStore, type ClientStore, type ClientRecord, type TokenEndpointAuthMethod } from './storage/client-store.js';
export type { RateLimitOptions, RateLimit, ConfiguredEndpoint } from './rate-limit/limits.js';
export type { ClientAddressSource } from './rate-limit/client-address.js';
export type { Logger, LogFields, LogLevel } from './log.js';
export type { AuditEvent, TokenIssuedEvent, RevocationEvent, ReplayEvent, RateLimitedEvent, ClientRegisteredEvent } from './events.js';

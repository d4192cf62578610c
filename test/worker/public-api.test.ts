import { describe, expect, it } from 'vitest';
import type { MiddlewareHandler } from 'hono';
import * as serverEntry from '../../src/lib';
import * as honoEntry from '../../src/middleware/hono';
import * as expressEntry from '../../src/middleware/express';
// Every type a user writes, imported from the entry that uses it. `npm run typecheck` compiles this
// file (tsconfig.json includes test/): a type missing from an entry fails it.
import {
  cloudflareAccess,
  createGrantexClient,
  createMcpAuth,
  customPrincipal,
  developmentSignIn,
  grantex,
  type AuditEvent,
  type ClientAddressSource,
  type ClientMetadataDocumentOptions,
  type ClientRecord,
  type ClientRegisteredEvent,
  type ClientStore,
  type CloudflareAccessOptions,
  type ConfiguredEndpoint,
  type ConsentUiOptions,
  type DevelopmentSignInOptions,
  type GrantexApi,
  type GrantexAuthority,
  type GrantexAuthorityOptions,
  type GrantexClientOptions,
  type Logger,
  type LogFields,
  type LogLevel,
  type McpAuth,
  type McpAuthEnv,
  type McpAuthOptions,
  type McpAuthVariables,
  type McpGrant,
  type Principal,
  type PrincipalAnswer,
  type PrincipalRequest,
  type PrincipalResolver,
  type ProtectOptions,
  type RateLimit,
  type RateLimitedEvent,
  type RateLimitOptions,
  type RefreshTokenPolicy,
  type ReplayEvent,
  type ResolvePrincipal,
  type RevocationEvent,
  type ScopeHierarchy,
  type SignInRedirect,
  type SigningAlgorithm,
  type TokenEndpointAuthMethod,
  type TokenIssuedEvent,
  type WorkerEnv,
} from '../../src/lib';
import type {
  HonoMcpAuthOptions,
  Logger as HonoLogger,
  McpAuthEnv as HonoMcpAuthEnv,
  McpCorsOptions,
  ProtectedResourceMetadataOptions,
  RequireMcpAuthOptions,
  ScopeHierarchy as HonoScopeHierarchy,
  TokenVerifier,
  VerifyAlgorithm,
} from '../../src/middleware/hono';
import type {
  McpCorsOptions as ExpressCorsOptions,
  McpGrant as ExpressMcpGrant,
  ProtectedResourceMetadataOptions as ExpressMetadataOptions,
  RequireMcpAuthOptions as ExpressRequireMcpAuthOptions,
  ScopeHierarchy as ExpressScopeHierarchy,
} from '../../src/middleware/express';

const ISSUER = 'http://localhost:8960';
const RESOURCE = `${ISSUER}/mcp`;

/** A logger as a user writes it, with the entry's types only. */
function userLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const write = (level: LogLevel) => (message: string, fields?: LogFields) => void lines.push(`${level} ${message} ${JSON.stringify(fields ?? {})}`);
  return { lines, info: write('info'), warn: write('warn'), error: write('error') };
}

/** Every hook with its event type named. */
function userHooks(seen: string[]): Pick<McpAuthOptions, 'onTokenIssued' | 'onRevocation' | 'onEvent'> {
  const describeEvent = (event: AuditEvent): string => {
    switch (event.type) {
      case 'token.issued':
        return `issued ${(event satisfies TokenIssuedEvent).clientId}`;
      case 'token.revoked':
        return `revoked ${(event satisfies RevocationEvent).clientId}`;
      case 'client.registered':
        return `registered ${(event satisfies ClientRegisteredEvent).clientId}`;
      case 'security.rate_limited':
        return `limited ${(event satisfies RateLimitedEvent).endpoint}`;
      case 'security.replay_detected':
        return `replay ${(event satisfies ReplayEvent).what}`;
    }
  };
  return {
    onTokenIssued: (event: TokenIssuedEvent) => void seen.push(`hook ${event.type}`),
    onRevocation: (event: RevocationEvent) => void seen.push(`hook ${event.type}`),
    onEvent: (event: AuditEvent) => void seen.push(describeEvent(event)),
  };
}

/** A resolver that sends the browser to a login page and resumes on the way back. */
const redirectingResolver: PrincipalResolver = {
  kind: 'login-page',
  allowedOnPublicIssuer: true,
  async resolve(input: PrincipalRequest): Promise<PrincipalAnswer> {
    const redirect: SignInRedirect = { signInAt: `https://login.example.com/?return=${encodeURIComponent(input.resumeUrl)}`, state: 'nonce' };
    return redirect;
  },
  async resume({ state }): Promise<Principal | undefined> {
    return state === 'nonce' ? { id: 'alice', displayName: 'Alice' } : undefined;
  },
};

describe('the public API: every option type from the entry that uses it', () => {
  it('mcp-auth-edge: the server is built from options written with the entry types only; McpAuth has no options property', () => {
    const seen: string[] = [];
    const client: ClientRecord = {
      client_id: 'static-client',
      redirect_uris: ['http://127.0.0.1:9999/callback'],
      token_endpoint_auth_method: 'none' satisfies TokenEndpointAuthMethod,
      grant_types: ['authorization_code'],
      response_types: ['code'],
      application_type: 'native',
      client_id_issued_at: 0,
    };
    const store: ClientStore = { get: async () => undefined, put: async () => {} };
    const limit: RateLimit = { limit: 20, windowSeconds: 60 };
    const endpoint: ConfiguredEndpoint = 'token';
    const options: McpAuthOptions = {
      issuer: ISSUER,
      resources: [RESOURCE],
      scopes: ['mcp:tools:read', 'mcp:tools:write', 'offline_access'],
      signing: { algorithm: 'ES256' satisfies SigningAlgorithm },
      refreshTokens: 'always' satisfies RefreshTokenPolicy,
      clientMetadataDocuments: { enabled: false } satisfies ClientMetadataDocumentOptions,
      clients: [client],
      clientStore: store,
      consentUi: { appName: 'Example' } satisfies ConsentUiOptions,
      rateLimits: { [endpoint]: limit } satisfies RateLimitOptions,
      clientAddress: 'auto' satisfies ClientAddressSource,
      principal: redirectingResolver,
      logger: userLogger(),
      ...userHooks(seen),
    };
    const auth: McpAuth = createMcpAuth(options);
    const hierarchy: ScopeHierarchy = { 'mcp:tools:write': ['mcp:tools:read'] };
    const protectOptions: ProtectOptions = { scopes: ['mcp:tools:read'], scopeHierarchy: hierarchy, revocationCheckSeconds: 5 };
    const middleware: MiddlewareHandler<McpAuthEnv> = auth.protect(protectOptions);
    expect(typeof middleware).toBe('function');
    // @ts-expect-error the resolved options are internal, not part of McpAuth
    expect(auth.options).toBeUndefined();
    expect(Object.keys(auth).sort()).toEqual(['app', 'protect']);
    const variables: McpAuthVariables['mcpGrant'] | undefined = undefined satisfies McpGrant | undefined;
    expect(variables).toBeUndefined();
  });

  it('mcp-auth-edge: each principal resolver and the Grantex authority from their own option types', () => {
    const custom: ResolvePrincipal = (request) => (request.headers.get('X-User') ? { id: request.headers.get('X-User')! } : undefined);
    const development: DevelopmentSignInOptions = { force: false };
    const access: CloudflareAccessOptions = { teamDomain: 'https://acme.cloudflareaccess.com', audience: 'aud-tag' };
    const resolvers: PrincipalResolver[] = [customPrincipal(custom), developmentSignIn(development), cloudflareAccess(access), redirectingResolver];
    expect(resolvers.map((resolver) => resolver.kind)).toEqual(['custom', 'development', 'cloudflare-access', 'login-page']);

    const clientOptions: GrantexClientOptions = { baseUrl: 'https://api.grantex.test', apiKey: 'gx_test_key_0123456789', maxRetries: 0 };
    const api: GrantexApi = createGrantexClient(clientOptions);
    const authorityOptions: GrantexAuthorityOptions = {
      client: api,
      jwksUri: 'https://api.grantex.test/.well-known/jwks.json',
      consentOrigins: ['https://grantex.test'],
      agentId: 'ag_1',
      developerId: 'dev_1',
    };
    const authority: GrantexAuthority = grantex(authorityOptions);
    expect(authority.kind).toBe('grantex');
    const env: Pick<WorkerEnv, 'ISSUER'> = { ISSUER };
    expect(env.ISSUER).toBe(ISSUER);
  });

  it('mcp-auth-edge/hono and /express: their middleware from their own option types', () => {
    const logger: HonoLogger = userLogger();
    const algorithms: VerifyAlgorithm[] = ['ES256'];
    const hierarchy: HonoScopeHierarchy = { 'mcp:tools:write': ['mcp:tools:read'] };
    const verifier: TokenVerifier = async () => {
      throw new Error('not called');
    };
    const rs: RequireMcpAuthOptions = { issuer: ISSUER, audience: RESOURCE, algorithms, scopeHierarchy: hierarchy, logger };
    const honoOptions: HonoMcpAuthOptions = { ...rs, verifier, scopesFor: () => ['mcp:tools:read'] };
    const cors: McpCorsOptions = { origins: ['https://app.example.com'] };
    const metadata: ProtectedResourceMetadataOptions = { resource: RESOURCE, authorizationServers: [ISSUER] };
    const honoMiddleware: MiddlewareHandler<HonoMcpAuthEnv> = honoEntry.requireMcpAuth(honoOptions);
    expect([honoMiddleware, honoEntry.mcpCors(cors), honoEntry.protectedResourceMetadata(metadata)].every((f) => typeof f === 'function')).toBe(true);

    const expressHierarchy: ExpressScopeHierarchy = hierarchy;
    const expressOptions: ExpressRequireMcpAuthOptions = { issuer: ISSUER, audience: RESOURCE, scopeHierarchy: expressHierarchy };
    const expressCors: ExpressCorsOptions = { origins: '*' };
    const expressMetadata: ExpressMetadataOptions = metadata;
    const handlers = [expressEntry.requireMcpAuth(expressOptions), expressEntry.mcpCors(expressCors), expressEntry.protectedResourceMetadata(expressMetadata)];
    expect(handlers.every((f) => typeof f === 'function')).toBe(true);
    const grant: ExpressMcpGrant | undefined = undefined;
    expect(grant).toBeUndefined();
  });

  it('each entry exports exactly these values', () => {
    expect(Object.keys(serverEntry).sort()).toEqual(
      [
        'KvClientStore',
        'GrantexError',
        'McpAuthState',
        'OAuthError',
        'cloudflareAccess',
        'createGrantexClient',
        'createMcpAuth',
        'customPrincipal',
        'developmentSignIn',
        'grantex',
        'grantexFromEnv',
        'optionsFromEnv',
      ].sort(),
    );
    const resourceServer = [
      'MCP_CORS_ALLOW_HEADERS',
      'MCP_CORS_EXPOSE_HEADERS',
      'MCP_CORS_METHODS',
      'isCorsPreflight',
      'mcpCors',
      'protectedResourceMetadata',
      'requireMcpAuth',
    ];
    expect(Object.keys(honoEntry).sort()).toEqual([...resourceServer, 'readRequestBody'].sort());
    expect(Object.keys(expressEntry).sort()).toEqual([...resourceServer, 'getMcpGrant'].sort());
  });
});

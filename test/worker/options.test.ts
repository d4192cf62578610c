import { describe, expect, it } from 'vitest';
import { createMcpAuth } from '../../src/create-mcp-auth';
import { grantexFromEnv, optionsFromEnv, type WorkerEnv } from '../../src/env';
import { resolveOptions, type McpAuthOptions } from '../../src/options';
import { developmentSignIn } from '../../src/principal/development';
import { customPrincipal } from '../../src/principal/custom';
import { call } from './helpers';

const PUBLIC_ISSUER = 'https://auth.example.com';
/** A principal fit for a public issuer, so other checks are what the test exercises. */
const production = developmentSignIn({ force: true });

function valid(overrides: Partial<McpAuthOptions> = {}): McpAuthOptions {
  return { issuer: PUBLIC_ISSUER, resources: ['https://mcp.example.com/mcp'], scopes: ['read', 'write'], principal: production, ...overrides };
}

describe('resolveOptions: construction errors say what to fix', () => {
  const cases: [string, Partial<McpAuthOptions>, RegExp][] = [
    ['AS-3: an issuer with a trailing slash', { issuer: 'https://auth.example.com/' }, /must not end with a slash/],
    ['AS-3: a path issuer with a trailing slash', { issuer: 'https://auth.example.com/tenant/' }, /must not end with a slash/],
    ['RFC 8414 §2: an http issuer on a public host', { issuer: 'http://auth.example.com' }, /must use https/],
    ['RFC 8414 §2: an issuer with a query', { issuer: 'https://auth.example.com?tenant=a' }, /query or fragment/],
    ['RFC 8414 §2: an issuer with a fragment', { issuer: 'https://auth.example.com#a' }, /query or fragment/],
    ['RFC 8414 §2: an issuer with an empty query', { issuer: 'https://auth.example.com/x?' }, /query or fragment/],
    ['RFC 8414 §2: a relative issuer', { issuer: '/auth' }, /not an absolute URL/],
    ['RFC 8414 §2: an issuer with credentials', { issuer: 'https://user:pw@auth.example.com' }, /credentials/],
    ['AS-3: an issuer not in canonical form (upper-case host)', { issuer: 'https://Auth.Example.com' }, /canonical form; use "https:\/\/auth\.example\.com"/],
    ['AS-3: an issuer not in canonical form (default port)', { issuer: 'https://auth.example.com:443' }, /canonical form/],
    ['RFC 6749 §3.3: empty scopes', { scopes: [] }, /`scopes` must list at least one scope/],
    ['RFC 6749 §3.3: a scope token with a space', { scopes: ['read write'] }, /scope "read write" is not a valid scope token/],
    ['RFC 6749 §3.3: a scope token with a double quote', { scopes: ['re"ad'] }, /not a valid scope token/],
    ['RFC 6749 §3.3: a default scope that is not in scopes', { defaultScopes: ['admin'] }, /default scope "admin" is not in `scopes`/],
    [
      'OAuth 2.1 §4.1.2 / AS-13: codeExpirationSeconds 601',
      { codeExpirationSeconds: 601 },
      /codeExpirationSeconds must be a whole number of seconds between 1 and 600/,
    ],
    ['codeExpirationSeconds 0', { codeExpirationSeconds: 0 }, /codeExpirationSeconds/],
    ['a fractional accessTokenTtlSeconds', { accessTokenTtlSeconds: 1.5 }, /accessTokenTtlSeconds/],
    ['RFC 8707 §2: a resource with a fragment', { resources: ['https://mcp.example.com/mcp#x'] }, /must not have a fragment \(RFC 8707 §2\)/],
    ['RFC 8707 §2: a relative resource', { resources: ['/mcp'] }, /not an absolute URI/],
    ['RFC 8707: no resources', { resources: [] }, /`resources` must name at least one protected resource URI/],
    ['an unsupported signing algorithm', { signing: { algorithm: 'HS256' as 'ES256' } }, /signing\.algorithm "HS256" is not one of ES256, EdDSA, RS256/],
    [
      'a signing.privateJwk without d (a public key)',
      { signing: { privateJwk: { kty: 'EC', crv: 'P-256', x: 'x', y: 'y' } } },
      /must be a private key \(it has no "d"\)/,
    ],
    ['a signing.privateJwk string that is not JSON', { signing: { privateJwk: '{not json' } }, /signing\.privateJwk is not valid JSON/],
    [
      'a rate limit that is not a number',
      { rateLimits: { token: { limit: 'x' as unknown as number, windowSeconds: 60 } } },
      /rateLimits\.token must be false or \{ limit, windowSeconds \}/,
    ],
    ['a rate limit of 0', { rateLimits: { token: { limit: 0, windowSeconds: 60 } } }, /rateLimits\.token must be false/],
    ['a rate limit for an unknown endpoint', { rateLimits: { tokens: { limit: 1, windowSeconds: 60 } } as never }, /rateLimits\.tokens is not an endpoint/],
    [
      'a configured client without redirect URIs',
      {
        clients: [
          {
            client_id: 'c',
            redirect_uris: [],
            token_endpoint_auth_method: 'none',
            grant_types: ['authorization_code'],
            response_types: ['code'],
            application_type: 'web',
            client_id_issued_at: 0,
          },
        ],
      },
      /client c has no redirect_uris/,
    ],
    [
      'a configured confidential client without a secret hash',
      {
        clients: [
          {
            client_id: 'c',
            redirect_uris: ['https://a.example/cb'],
            token_endpoint_auth_method: 'client_secret_basic',
            grant_types: ['authorization_code'],
            response_types: ['code'],
            application_type: 'web',
            client_id_issued_at: 0,
          },
        ],
      },
      /has no client_secret_hash/,
    ],
  ];
  for (const [what, overrides, message] of cases) {
    it(`rejects ${what}`, () => {
      expect(() => resolveOptions(valid(overrides))).toThrow(message);
      expect(() => createMcpAuth(valid(overrides))).toThrow(TypeError);
    });
  }

  it('every construction error names the library', () => {
    expect(() => resolveOptions(valid({ scopes: [] }))).toThrow(/^mcp-auth-edge: /);
  });

  it('AS-9 / design: a public https issuer without a principal is refused (the development sign-in is localhost-only)', () => {
    const { principal: _none, ...options } = valid();
    expect(() => resolveOptions(options)).toThrow(/development sign-in only runs on a localhost issuer.*developmentSignIn\(\{ force: true \}\)/);
  });

  it('design: developmentSignIn({ force: true }) is accepted on an https issuer', () => {
    const resolved = resolveOptions(valid({ principal: developmentSignIn({ force: true }) }));
    expect(resolved.principal.kind).toBe('development');
  });

  it('design: a custom principal resolver is accepted on an https issuer', () => {
    expect(() => resolveOptions(valid({ principal: customPrincipal(async () => ({ id: 'alice' })) }))).not.toThrow();
  });

  it('design: the development sign-in is the default on loopback issuers (localhost, 127.0.0.1, [::1])', () => {
    for (const issuer of ['http://localhost:8787', 'http://127.0.0.1:8787', 'http://[::1]:8787']) {
      const resolved = resolveOptions({ issuer, resources: [`${issuer}/mcp`], scopes: ['read'] });
      expect(resolved.principal.kind, issuer).toBe('development');
      expect(resolved.insecureLoopback).toBe(true);
    }
  });

  it('RFC 8414 §3.1: a path issuer keeps its path as the base path of every endpoint; a bare origin has none', () => {
    expect(resolveOptions(valid({ issuer: 'https://auth.example.com/tenant-a' })).basePath).toBe('/tenant-a');
    expect(resolveOptions(valid()).basePath).toBe('');
  });

  it('defaults: codes 600 s, every scope but offline_access by default, registration on, ES256, KV/DO binding names', () => {
    const resolved = resolveOptions(valid({ scopes: ['read', 'offline_access'], resources: 'https://mcp.example.com/mcp' }));
    expect(resolved.codeExpirationSeconds).toBe(600);
    expect(resolved.defaultScopes).toEqual(['read']);
    expect(resolved.resources).toEqual(['https://mcp.example.com/mcp']);
    expect(resolved.registrationEnabled).toBe(true);
    expect(resolved.signingAlgorithm).toBe('ES256');
    expect(resolved.bindings).toEqual({ clients: 'MCP_AUTH_CLIENTS', state: 'MCP_AUTH_STATE' });
    expect(resolved.consentUi.appName).toBe('MCP Authorization');
  });

  it('a private JWK may be given as a JSON string (from a secret)', () => {
    const jwk = { kty: 'EC', crv: 'P-256', x: 'x', y: 'y', d: 'd' };
    expect(resolveOptions(valid({ signing: { privateJwk: JSON.stringify(jwk) } })).privateJwk).toEqual(jwk);
  });
});

describe('optionsFromEnv (the stand-alone worker, wrangler vars)', () => {
  const base: WorkerEnv = { ISSUER: 'http://localhost:8787' };

  it('requires ISSUER', () => {
    expect(() => optionsFromEnv({ ISSUER: '' })).toThrow(/set the ISSUER variable/);
  });

  it('parses the wrangler.toml vars used in tests: RESOURCE and space-separated SCOPES', () => {
    const options = optionsFromEnv({ ...base, RESOURCE: 'http://localhost:8787/mcp', SCOPES: 'mcp:tools:read mcp:tools:write offline_access' });
    expect(options.resources).toEqual(['http://localhost:8787/mcp']);
    expect(options.scopes).toEqual(['mcp:tools:read', 'mcp:tools:write', 'offline_access']);
    const resolved = resolveOptions(options);
    expect(resolved.defaultScopes).toEqual(['mcp:tools:read', 'mcp:tools:write']);
  });

  it('lists may be separated by spaces, commas or newlines', () => {
    const options = optionsFromEnv({
      ...base,
      RESOURCE: 'http://localhost:8787/a, http://localhost:8787/b',
      SCOPES: 'a,b\nc',
      DEFAULT_SCOPES: 'a  b',
      ALLOWED_REDIRECT_URIS: 'https://x.example/cb,https://y.example/cb',
      INTROSPECTION_CLIENTS: 'rs1 rs2',
    });
    expect(options.resources).toEqual(['http://localhost:8787/a', 'http://localhost:8787/b']);
    expect(options.scopes).toEqual(['a', 'b', 'c']);
    expect(options.defaultScopes).toEqual(['a', 'b']);
    expect(options.allowedRedirectUris).toEqual(['https://x.example/cb', 'https://y.example/cb']);
    expect(options.introspectionClients).toEqual(['rs1', 'rs2']);
  });

  it('defaults without vars: resource <ISSUER>/mcp, scope "mcp", registration on, no rate-limit override, the consent page keeps its default name', () => {
    const options = optionsFromEnv(base);
    expect(options.resources).toEqual(['http://localhost:8787/mcp']);
    expect(options.scopes).toEqual(['mcp']);
    expect(options.registration).toEqual({ enabled: true });
    expect(options.rateLimits).toBeUndefined();
    const resolved = resolveOptions(options);
    expect(resolved.consentUi.appName).toBe('MCP Authorization');
  });

  it('RATE_LIMITS "off" disables every limit; JSON sets per-endpoint limits; anything else is refused', () => {
    expect(optionsFromEnv({ ...base, RATE_LIMITS: 'off' }).rateLimits).toEqual({ enabled: false });
    expect(optionsFromEnv({ ...base, RATE_LIMITS: '{"token":{"limit":5,"windowSeconds":10},"register":false}' }).rateLimits).toEqual({
      token: { limit: 5, windowSeconds: 10 },
      register: false,
    });
    expect(() => optionsFromEnv({ ...base, RATE_LIMITS: 'of' })).toThrow(/mcp-auth-edge: RATE_LIMITS/);
  });

  it('numbers: TTL vars are parsed, and a non-number fails construction with the option name', () => {
    const options = optionsFromEnv({ ...base, ACCESS_TOKEN_TTL_SECONDS: '300', REFRESH_TOKEN_TTL_SECONDS: '3600', CODE_TTL_SECONDS: '120' });
    expect([options.accessTokenTtlSeconds, options.refreshTokenTtlSeconds, options.codeExpirationSeconds]).toEqual([300, 3600, 120]);
    expect(() => resolveOptions(optionsFromEnv({ ...base, CODE_TTL_SECONDS: 'ten' }))).toThrow(/codeExpirationSeconds/);
  });

  it('REGISTRATION "off" disables dynamic client registration', () => {
    expect(resolveOptions(optionsFromEnv({ ...base, REGISTRATION: 'off' })).registrationEnabled).toBe(false);
  });

  it('SIGNING_ALGORITHM and SIGNING_PRIVATE_JWK reach the signing options and are validated', () => {
    expect(resolveOptions(optionsFromEnv({ ...base, SIGNING_ALGORITHM: 'EdDSA' })).signingAlgorithm).toBe('EdDSA');
    expect(() => resolveOptions(optionsFromEnv({ ...base, SIGNING_ALGORITHM: 'none' }))).toThrow(/signing\.algorithm/);
    expect(() => resolveOptions(optionsFromEnv({ ...base, SIGNING_PRIVATE_JWK: '{"kty":"EC"}' }))).toThrow(/has no "d"/);
  });

  it('design: a public ISSUER needs a principal; DEVELOPMENT_SIGN_IN=force or Cloudflare Access vars provide one', () => {
    const publicEnv: WorkerEnv = { ISSUER: PUBLIC_ISSUER };
    expect(() => resolveOptions(optionsFromEnv(publicEnv))).toThrow(/development sign-in only runs on a localhost issuer/);
    expect(resolveOptions(optionsFromEnv({ ...publicEnv, DEVELOPMENT_SIGN_IN: 'force' })).principal.kind).toBe('development');
    const access = resolveOptions(optionsFromEnv({ ...publicEnv, CF_ACCESS_TEAM_DOMAIN: 'https://team.cloudflareaccess.com', CF_ACCESS_AUD: 'aud-tag' }));
    expect(access.principal.kind).toBe('cloudflare-access');
  });

  it('the stand-alone worker (no APP_NAME var) names itself "MCP Authorization" on its pages, not "undefined"', async () => {
    const res = await call('/authorize?client_id=unknown-client');
    expect(res.status).toBe(400);
    const html = await res.text();
    expect(html).toContain('MCP Authorization');
    expect(html).not.toContain('undefined');
  });

  it('consent UI vars are passed through', () => {
    const resolved = resolveOptions(optionsFromEnv({ ...base, APP_NAME: 'Acme MCP', LOGO_URL: 'https://acme.example/logo.png' }));
    expect(resolved.consentUi.appName).toBe('Acme MCP');
    expect(resolved.consentUi.logoUrl).toBe('https://acme.example/logo.png');
  });
});

describe('grantexFromEnv (README "Use Grantex")', () => {
  const base = { ISSUER: 'http://localhost:8787' };
  it('is undefined without GRANTEX_BASE_URL: the local signer is the default', () => {
    expect(grantexFromEnv(base)).toBeUndefined();
  });
  it('needs GRANTEX_AGENT_ID, GRANTEX_DEVELOPER_ID and the GRANTEX_API_KEY secret', () => {
    expect(() => grantexFromEnv({ ...base, GRANTEX_BASE_URL: 'https://api.grantex.dev' })).toThrow(
      /GRANTEX_AGENT_ID, GRANTEX_DEVELOPER_ID and the GRANTEX_API_KEY/,
    );
    expect(() => grantexFromEnv({ ...base, GRANTEX_BASE_URL: 'https://api.grantex.dev', GRANTEX_AGENT_ID: 'ag_1', GRANTEX_API_KEY: 'k'.repeat(32) })).toThrow(
      /GRANTEX_DEVELOPER_ID/,
    );
  });
  it('rejects an unknown GRANTEX_INTROSPECTION', () => {
    expect(() =>
      grantexFromEnv({
        ...base,
        GRANTEX_BASE_URL: 'https://api.grantex.dev',
        GRANTEX_AGENT_ID: 'ag_1',
        GRANTEX_DEVELOPER_ID: 'dev_1',
        GRANTEX_API_KEY: 'k'.repeat(32),
        GRANTEX_INTROSPECTION: 'maybe',
      }),
    ).toThrow(/jwks" or "online/);
  });
  it('builds the Grantex authority with its defaults', () => {
    const authority = grantexFromEnv({
      ...base,
      GRANTEX_BASE_URL: 'https://api.grantex.dev',
      GRANTEX_AGENT_ID: 'ag_1',
      GRANTEX_DEVELOPER_ID: 'dev_1',
      GRANTEX_API_KEY: 'k'.repeat(32),
      GRANTEX_AUDIT: 'on',
    })!;
    expect(authority).toMatchObject({
      kind: 'grantex',
      agentId: 'ag_1',
      agentDid: 'did:grantex:ag_1',
      developerId: 'dev_1',
      tokenIssuer: 'https://grantex.dev',
      grantLifetime: '24h',
      introspection: 'jwks',
      forwardAuditEvents: true,
    });
    expect(authority.verifierOptions(['https://mcp.example.com/mcp'])).toMatchObject({
      profile: 'grantex',
      algorithms: ['RS256'],
      agent: 'did:grantex:ag_1',
      developer: 'dev_1',
      jwksUri: 'https://api.grantex.dev/.well-known/jwks.json',
    });
  });
});

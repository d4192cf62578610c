import { describe, expect, it } from 'vitest';
import { Hono } from 'hono';
import { createMcpAuth } from '../../src/create-mcp-auth';
import { decideCodeRedemption, type CodeRedemptionInput } from '../../src/grants/authorization-code';
import { decideRefresh, type RefreshInput } from '../../src/grants/refresh-token';
import type { RefreshTokenRow } from '../../src/grants/grant-record';
import { OAuthError } from '../../src/errors';
import { resolveRequestedScopes, scopeCeiling } from '../../src/protocol/scope';
import type { ClientRecord } from '../../src/storage/client-store';
import { resolveOptions } from '../../src/options';
import { optionsFromEnv } from '../../src/env';
import {
  REDIRECT,
  authorizeUrl,
  codeFor,
  consentForm,
  exchangeCode,
  pkce,
  registerClient,
  tokensFor,
  type RegisteredClient,
  type TokenResponse,
} from './helpers';
import { fetchApp, postFormTo } from './foundation-helpers';
import { NOW, grantRecord, redemptionInput } from './grant-fixture';

const SUPPORTED = ['read', 'write', 'offline_access'];
const DEFAULTS = ['read', 'write'];

function scopeOutcome(requested: string[], client: { registered?: string; ceiling?: string[] }): string[] | string {
  try {
    return resolveRequestedScopes(requested, SUPPORTED, DEFAULTS, client);
  } catch (err) {
    if (err instanceof OAuthError) return err.code;
    throw err;
  }
}

describe('resolveRequestedScopes: the registration narrows the defaults and bounds configured clients (RFC 7591 §2, RFC 6749 §3.3)', () => {
  const cases: [string, string[], { registered?: string; ceiling?: string[] }, string[] | string][] = [
    ['RFC 7591 §2: a scope within the ceiling is granted', ['read'], { registered: 'read offline_access', ceiling: ['read', 'offline_access'] }, ['read']],
    ['RFC 7591 §2: a scope beyond the ceiling is invalid_scope', ['write'], { registered: 'read', ceiling: ['read'] }, 'invalid_scope'],
    ['RFC 7591 §2: offline_access beyond the ceiling is invalid_scope', ['read', 'offline_access'], { registered: 'read', ceiling: ['read'] }, 'invalid_scope'],
    ['RFC 6749 §3.3: no scope gives the defaults within the registered scope', [], { registered: 'read offline_access' }, ['read']],
    [
      'RFC 6749 §3.3: no scope and no default within the registered scope gives nothing (then invalid_scope)',
      [],
      { registered: 'offline_access', ceiling: ['offline_access'] },
      [],
    ],
    ['MCP step-up: a self-registered scope is no ceiling', ['read', 'write'], { registered: 'read' }, ['read', 'write']],
    ['RFC 7591 §2: an empty registered scope leaves the defaults whole', [], { registered: '' }, ['read', 'write']],
    ['RFC 6749 §3.3: no scope and no registration gives the defaults', [], {}, ['read', 'write']],
    ['RFC 6749 §3.3: an unsupported scope is invalid_scope without a ceiling', ['admin'], { registered: 'admin' }, 'invalid_scope'],
  ];
  for (const [what, requested, client, expected] of cases) {
    it(what, () => {
      expect(scopeOutcome(requested, client)).toEqual(expected);
    });
  }

  it('RFC 7591 §2: the ceiling is the registered scope of configured clients only', () => {
    const configured = { client_id: 'configured', scope: 'read' } as ClientRecord;
    expect(scopeCeiling(configured, [configured])).toEqual(['read']);
    expect(scopeCeiling({ ...configured, client_id: 'self-registered' }, [configured])).toBeUndefined();
    expect(scopeCeiling({ ...configured, scope: undefined }, [{ ...configured, scope: undefined }])).toBeUndefined();
  });
});

describe('decideRefresh: the current ceiling bounds a refresh (RFC 7591 §2, OAuth 2.1 §4.3.1)', () => {
  const redeemed = grantRecord({ code_redeemed_at: NOW, refresh_expires_at: NOW + 3600 });
  const row: RefreshTokenRow = { token_hash: 'h1', status: 'active', created_at: NOW, upstream_sealed: null };
  const input = (overrides: Partial<RefreshInput> = {}): RefreshInput => ({ clientId: 'client-1', requestedScopes: [], now: NOW + 60, ...overrides });

  it('RFC 7591 §2: without scope the refresh keeps the granted scope within the ceiling', () => {
    expect(decideRefresh(redeemed, row, input({ scopeCeiling: ['read'] }))).toEqual({ outcome: 'issue', scopes: ['read'] });
  });
  it('RFC 7591 §2: a refresh may not ask for a granted scope beyond the current ceiling', () => {
    expect(decideRefresh(redeemed, row, input({ scopeCeiling: ['read'], requestedScopes: ['write'] }))).toMatchObject({
      outcome: 'reject',
      error: 'invalid_scope',
    });
  });
  it('RFC 7591 §2: nothing of the grant within the ceiling is invalid_scope', () => {
    expect(decideRefresh(redeemed, row, input({ scopeCeiling: ['offline_access'] }))).toMatchObject({ outcome: 'reject', error: 'invalid_scope' });
  });
  it('RFC 7591 §2: without a ceiling the grant is kept whole', () => {
    expect(decideRefresh(redeemed, row, input())).toEqual({ outcome: 'issue', scopes: ['read', 'write'] });
  });
});

describe('decideCodeRedemption: refresh tokens by policy (MCP 2026-07-28, OpenID Connect Core §11)', () => {
  /** The owner's redemption without the optional redirect_uri and resource. */
  const input = (overrides: Partial<CodeRedemptionInput> = {}) => redemptionInput({ redirectUri: undefined, resource: undefined, ...overrides });
  const cases: [string, string, CodeRedemptionInput['refreshTokens'], boolean][] = [
    ['refreshTokens always: a grant without offline_access starts a refresh family', 'read', 'always', true],
    ['refreshTokens unset means always', 'read', undefined, true],
    ['refreshTokens offline_access: a grant without offline_access gets no refresh family', 'read write', 'offline_access', false],
    ['refreshTokens offline_access: a grant with offline_access starts a refresh family', 'read offline_access', 'offline_access', true],
  ];
  for (const [what, scope, policy, expected] of cases) {
    it(what, () => {
      expect(decideCodeRedemption(grantRecord({ scope }), input({ refreshTokens: policy }))).toEqual({ outcome: 'issue', refreshToken: expected });
    });
  }
});

describe('/authorize and /token: the registered scope (RFC 7591 §2)', () => {
  const configured: ClientRecord = {
    client_id: 'configured-read-only-client',
    client_id_issued_at: 1_700_000_000,
    redirect_uris: [REDIRECT],
    token_endpoint_auth_method: 'none',
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    application_type: 'native',
    scope: 'mcp:tools:read',
  };
  const app = (scope: string) =>
    new Hono().route(
      '/',
      createMcpAuth({
        issuer: 'http://localhost:8787',
        resources: ['http://localhost:8787/mcp'],
        scopes: ['mcp:tools:read', 'mcp:tools:write', 'offline_access'],
        clients: [{ ...configured, scope }],
        log: false,
      }).app,
    );
  const asClient = { ...configured, client_secret: undefined } as unknown as RegisteredClient;

  it('RFC 7591 §2: a configured client asking beyond its registered scope gets invalid_scope at its redirect URI', async () => {
    const { challenge } = await pkce();
    const res = await fetchApp(app('mcp:tools:read'), authorizeUrl(asClient, challenge, { scope: 'mcp:tools:read mcp:tools:write' }));
    expect(res.status).toBe(302);
    const location = new URL(res.headers.get('Location')!);
    expect(`${location.origin}${location.pathname}`).toBe(REDIRECT);
    expect(location.searchParams.get('error')).toBe('invalid_scope');
    expect(location.searchParams.get('state')).toBe('state-123');
  });

  it('RFC 7591 §2: a refresh grants only what the configured client is still registered for', async () => {
    const wide = app('mcp:tools:read mcp:tools:write');
    const { verifier, challenge } = await pkce();
    const { request, cookie } = await consentForm(await fetchApp(wide, authorizeUrl(asClient, challenge, { scope: 'mcp:tools:read mcp:tools:write' })));
    const approved = await postFormTo(
      wide,
      '/authorize',
      { request, action: 'approve', username: 'alice' },
      { Cookie: cookie, Origin: 'http://localhost:8787' },
    );
    const code = new URL(approved.headers.get('Location')!).searchParams.get('code')!;
    const tokens = (await (
      await postFormTo(wide, '/token', { grant_type: 'authorization_code', code, code_verifier: verifier, client_id: configured.client_id })
    ).json()) as TokenResponse;
    expect(tokens.scope).toBe('mcp:tools:read mcp:tools:write');
    // The operator narrows the client's registration; its next refresh is narrowed with it.
    const res = await postFormTo(app('mcp:tools:read'), '/token', {
      grant_type: 'refresh_token',
      refresh_token: tokens.refresh_token!,
      client_id: configured.client_id,
    });
    expect(res.status).toBe(200);
    expect(((await res.json()) as TokenResponse).scope).toBe('mcp:tools:read');
  });

  it('RFC 6749 §3.3, RFC 7591 §2: without scope a client gets the defaults within its registered scope', async () => {
    const client = await registerClient({ scope: 'mcp:tools:read offline_access' });
    const { tokens } = await tokensFor({ client });
    expect(tokens.scope).toBe('mcp:tools:read');
  });

  it('MCP step-up: a self-registered client may ask for more than it registered (its registration is no ceiling)', async () => {
    const client = await registerClient({ scope: 'mcp:tools:read' });
    const { tokens } = await tokensFor({ client, scope: 'mcp:tools:read mcp:tools:write' });
    expect(tokens.scope).toBe('mcp:tools:read mcp:tools:write');
  });
});

describe('refreshTokens option: refresh tokens only for offline_access (MCP 2026-07-28)', () => {
  // The default worker and this app share KV and Durable Objects: a code from one is redeemed at the other.
  const auth = createMcpAuth({
    issuer: 'http://localhost:8787',
    resources: ['http://localhost:8787/mcp'],
    scopes: ['mcp:tools:read', 'mcp:tools:write', 'offline_access'],
    refreshTokens: 'offline_access',
    log: false,
  });
  const host = new Hono().route('/', auth.app);
  const exchange = (flow: Awaited<ReturnType<typeof codeFor>>) =>
    fetchApp(host, '/token', {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'authorization_code', code: flow.code, code_verifier: flow.verifier, client_id: flow.client.client_id }),
    });

  it('MCP 2026-07-28: with refreshTokens offline_access a grant without offline_access gets no refresh token', async () => {
    const flow = await codeFor({ scope: 'mcp:tools:read' });
    const res = await exchange(flow);
    expect(res.status).toBe(200);
    const tokens = (await res.json()) as TokenResponse;
    expect(tokens.refresh_token).toBeUndefined();
    expect(tokens.access_token).toBeTruthy();
  });

  it('MCP 2026-07-28: with refreshTokens offline_access a grant with offline_access gets a refresh token', async () => {
    const flow = await codeFor({ scope: 'mcp:tools:read offline_access' });
    const res = await exchange(flow);
    expect(res.status).toBe(200);
    expect(((await res.json()) as TokenResponse).refresh_token).toBeTruthy();
  });

  it('the default (always) keeps issuing refresh tokens to clients registered for the refresh grant', async () => {
    const flow = await codeFor({ scope: 'mcp:tools:read' });
    expect(((await (await exchangeCode(flow)).json()) as TokenResponse).refresh_token).toBeTruthy();
  });

  it('refreshTokens is validated: offline_access needs offline_access in scopes; REFRESH_TOKENS is parsed', () => {
    expect(() =>
      resolveOptions({ issuer: 'http://localhost:8787', resources: ['http://localhost:8787/mcp'], scopes: ['mcp'], refreshTokens: 'offline_access' }),
    ).toThrow(/offline_access/);
    expect(() =>
      resolveOptions({ issuer: 'http://localhost:8787', resources: ['http://localhost:8787/mcp'], scopes: ['mcp'], refreshTokens: 'sometimes' as 'always' }),
    ).toThrow(/refreshTokens/);
    expect(resolveOptions({ issuer: 'http://localhost:8787', resources: ['http://localhost:8787/mcp'], scopes: ['mcp'] }).refreshTokens).toBe('always');
    expect(optionsFromEnv({ ISSUER: 'http://localhost:8787', REFRESH_TOKENS: 'offline_access' }).refreshTokens).toBe('offline_access');
    expect(optionsFromEnv({ ISSUER: 'http://localhost:8787' }).refreshTokens).toBeUndefined();
  });
});

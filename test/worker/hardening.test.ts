import { describe, expect, it } from 'vitest';
import { Hono } from 'hono';
import { env } from 'cloudflare:workers';
import { runInDurableObject } from 'cloudflare:test';
import { createMcpAuth } from '../../src/create-mcp-auth';
import { resolveOptions } from '../../src/options';
import { customPrincipal } from '../../src/principal/custom';
import { withClientMetadataDocuments } from '../../src/clients/metadata-document-fetcher';
import { stateObjectName, stateObjectNames } from '../../src/storage/keys';
import { ISSUER, authorizeUrl, clientAuth, pkce, postForm, tokensFor, type RegisteredClient } from './helpers';

describe('AS-9: cookies on an https issuer', () => {
  it('AS-9 (RFC 6265bis §4.1.3.2): the consent cookie is __Host-, Secure, HttpOnly, SameSite=Lax, Path=/', async () => {
    const auth = createMcpAuth({
      issuer: 'https://auth.example.com',
      resources: ['https://auth.example.com/mcp'],
      scopes: ['mcp:tools:read'],
      principal: customPrincipal(() => ({ id: 'erin' })),
      rateLimits: { enabled: false },
      log: false,
    });
    const host = new Hono().route('/', auth.app);
    // Clients belong to their issuer: register at this one.
    const registered = await host.fetch(
      new Request('https://auth.example.com/register', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ redirect_uris: ['https://app.example.com/cb'], token_endpoint_auth_method: 'none' }),
      }),
      env,
    );
    expect(registered.status).toBe(201);
    const client = (await registered.json()) as RegisteredClient;
    const url = authorizeUrl(client, (await pkce()).challenge, { resource: 'https://auth.example.com/mcp' });
    const res = await host.fetch(new Request(`https://auth.example.com${url}`), env);
    expect(res.status).toBe(200);
    const cookie = res.headers.get('Set-Cookie')!;
    expect(cookie).toMatch(/^__Host-mcp-auth-consent=[A-Za-z0-9_-]{43};/);
    for (const attribute of ['Secure', 'HttpOnly', 'SameSite=Lax', 'Path=/']) expect(cookie).toContain(attribute);
    expect(cookie).not.toContain('Domain=');
  });
});

describe('AS-10: the metadata document fetch has a timeout', () => {
  it('AS-10: a document server that never answers makes the client unknown after timeoutMs', async () => {
    const policy = resolveOptions({ issuer: 'http://localhost:8787', resources: ['http://localhost:8787/mcp'], scopes: ['mcp:tools:read'] });
    const hanging = ((_input: RequestInfo | URL, init?: RequestInit) =>
      new Promise<Response>((_resolve, reject) =>
        init?.signal?.addEventListener('abort', () => reject(init.signal?.reason instanceof Error ? init.signal.reason : new Error('aborted'))),
      )) as typeof fetch;
    const store = withClientMetadataDocuments({ get: async () => undefined, put: async () => {} }, policy, { fetch: hanging, timeoutMs: 20 });
    await expect(store.get('https://slow.example.com/client.json')).resolves.toBeUndefined();
  });
});

describe('AS-15: short-lived tokens, secrets stored hashed', () => {
  it('AS-15: accessTokenTtlSeconds above 86400 is refused', () => {
    expect(() =>
      resolveOptions({ issuer: 'http://localhost:8787', resources: ['http://localhost:8787/mcp'], scopes: ['a'], accessTokenTtlSeconds: 86_401 }),
    ).toThrow(/accessTokenTtlSeconds must be a whole number of seconds between 1 and 86400/);
  });

  it('AS-15 (OAuth 2.1 §7): the grant keeps only hashes — neither the code nor a refresh token appears in its storage', async () => {
    const { flow, tokens } = await tokensFor();
    const grantId = flow.code.split('.')[0]!;
    const stored = await runInDurableObject(
      env.MCP_AUTH_STATE.get(env.MCP_AUTH_STATE.idFromName(stateObjectName(ISSUER, stateObjectNames.grant(grantId)))),
      (_instance, state) => ({
        grant: state.storage.sql.exec('SELECT * FROM grant_record').toArray(),
        refresh: state.storage.sql.exec('SELECT * FROM refresh_token').toArray(),
      }),
    );
    const dump = JSON.stringify(stored);
    expect(stored.grant).toHaveLength(1);
    expect(stored.refresh).toHaveLength(1);
    expect(dump).not.toContain(flow.code.split('.')[1]);
    expect(dump).not.toContain(tokens.refresh_token!.split('.')[1]);
    expect(dump).not.toContain(tokens.access_token);
    expect(dump).not.toContain(flow.verifier);
  });
});

describe('AS-17: revocation and token_type_hint', () => {
  it('AS-17 (RFC 7009 §2.1): an unknown token_type_hint is ignored, never unsupported_token_type; the token is revoked', async () => {
    const { flow, tokens } = await tokensFor();
    const auth = clientAuth(flow.client);
    const res = await postForm('/revoke', { token: tokens.refresh_token!, token_type_hint: 'device_code', ...auth.body }, auth.headers);
    expect(res.status).toBe(200);
    const introspection = await postForm('/introspect', { token: tokens.access_token, ...auth.body }, auth.headers);
    expect(await introspection.json()).toEqual({ active: false });
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { UnauthorizedError, auth } from '@modelcontextprotocol/sdk/client/auth.js';
import { decodeJwt } from 'jose';
import { HeadlessOAuthProvider, recordingTokenGrants, toolText as text } from './mcp-client-provider';
import { EXAMPLE_MODES, exampleServer, startWorker, type RunningWorker } from './worker-server';

const EXAMPLE = '.test-dist/example/index.js';

/** Connects the official MCP client; a 401 sends it through discovery, DCR and the consent page. */
async function connect(mcpUrl: URL, provider: HeadlessOAuthProvider, fetch?: typeof globalThis.fetch): Promise<Client> {
  const client = new Client({ name: 'e2e', version: '1.0.0' });
  try {
    await client.connect(new StreamableHTTPClientTransport(mcpUrl, { authProvider: provider, fetch }));
    return client;
  } catch (err) {
    if (!(err instanceof UnauthorizedError)) throw err;
  }
  // The headless "browser" brought back a code: finish like an app's callback would.
  const transport = new StreamableHTTPClientTransport(mcpUrl, { authProvider: provider, fetch });
  await transport.finishAuth(provider.lastCode!);
  const authorized = new Client({ name: 'e2e', version: '1.0.0' });
  await authorized.connect(transport);
  return authorized;
}

describe.each(EXAMPLE_MODES)('end to end ($mode): the official MCP SDK client against a real MCP server protected by the co-located issuer', ({ grantex }) => {
  const example = exampleServer(grantex);
  const { upstreamConsent } = example;

  it('PR-2: an unauthenticated MCP request gets 401 with resource_metadata and scope, and no error code', async () => {
    const res = await fetch(example.mcpUrl, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream' },
      body: '{"jsonrpc":"2.0","id":1,"method":"tools/list"}',
    });
    expect(res.status).toBe(401);
    expect(res.headers.get('WWW-Authenticate')).toBe(
      `Bearer resource_metadata="${example.url}/.well-known/oauth-protected-resource/mcp", scope="mcp:tools:read"`,
    );
  });

  it('connect → 401 → PRM + AS discovery → DCR → consent → token → tools/list → tools/call; then 403 step-up: v1 refreshes (cannot widen scope) and gives up → the application re-authorizes with the wider scope → success', async () => {
    const provider = new HeadlessOAuthProvider('http://127.0.0.1:53690/callback', {
      username: 'e2e-user',
      upstreamConsent: grantex ? upstreamConsent : undefined,
    });
    const tokenRequests = recordingTokenGrants();
    const client = await connect(example.mcpUrl, provider, tokenRequests.fetch);
    expect(provider.authorizations).toBe(1);
    // The MCP SDK v1 speaks 2025-11-25: the example answers it through the v2 SDK's stateless fallback.
    expect((client.transport as StreamableHTTPClientTransport).protocolVersion).toBe('2025-11-25');
    expect(provider.lastAuthorizationUrl!.searchParams.get('scope')).toBe('mcp:tools:read');
    expect(provider.lastAuthorizationUrl!.searchParams.get('resource')).toBe(example.mcpUrl.href);
    expect(decodeJwt(provider.saved!.access_token)).toMatchObject({ aud: example.mcpUrl.href, sub: 'e2e-user', scp: ['mcp:tools:read'] });

    const tools = await client.listTools();
    expect(tools.tools.map((t) => t.name).sort()).toEqual(['create_ticket', 'whoami']);
    const me = JSON.parse(text(await client.callTool({ name: 'whoami', arguments: {} })));
    // clientId is the OAuth client in both modes (Grantex grants carry it through their link to this server).
    expect(me).toMatchObject({ sub: 'e2e-user', scopes: ['mcp:tools:read'], clientId: provider.client!.client_id });

    // PR-3: the write tool answers 403 insufficient_scope listing every scope it needs. The SDK
    // first tries a refresh (which cannot widen the scope), then the user must consent again.
    const stepUp = await fetch(example.mcpUrl, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream', Authorization: `Bearer ${provider.saved!.access_token}` },
      body: JSON.stringify({ jsonrpc: '2.0', id: 9, method: 'tools/call', params: { name: 'create_ticket', arguments: { title: 'x' } } }),
    });
    expect(stepUp.status).toBe(403);
    expect(stepUp.headers.get('WWW-Authenticate')).toContain('error="insufficient_scope"');
    expect(stepUp.headers.get('WWW-Authenticate')).toContain('scope="mcp:tools:read mcp:tools:write"');

    // The SDK retries the call after a refresh, which keeps the granted scope (AS-14: refresh
    // never widens), sees the same 403 and gives up.
    await expect(client.callTool({ name: 'create_ticket', arguments: { title: 'Printer on fire' } })).rejects.toThrow('403 after trying upscoping');
    expect(provider.authorizations).toBe(1);
    expect(tokenRequests.grantTypes).toEqual(['authorization_code', 'refresh_token']);
    expect(decodeJwt(provider.saved!.access_token).scp).toEqual(['mcp:tools:read']);

    // The application drops the narrow tokens and asks the user again, for the wider scope.
    provider.saved = undefined;
    expect(await auth(provider, { serverUrl: example.mcpUrl, scope: 'mcp:tools:read mcp:tools:write' })).toBe('REDIRECT');
    expect(provider.authorizations).toBe(2);
    expect(provider.lastAuthorizationUrl!.searchParams.get('scope')).toBe('mcp:tools:read mcp:tools:write');
    expect(await auth(provider, { serverUrl: example.mcpUrl, authorizationCode: provider.lastCode })).toBe('AUTHORIZED');
    const wider = await connect(example.mcpUrl, provider);
    const ticket = text(await wider.callTool({ name: 'create_ticket', arguments: { title: 'Printer on fire' } }));
    expect(ticket).toBe('Ticket "Printer on fire" opened for e2e-user.');
    expect(decodeJwt(provider.saved!.access_token).scp).toEqual(['mcp:tools:read', 'mcp:tools:write']);
  });
});

describe('end to end: an expired access token is refreshed by the MCP SDK client', () => {
  let worker: RunningWorker;
  beforeAll(async () => {
    worker = await startWorker({ ACCESS_TOKEN_TTL_SECONDS: '2' }, EXAMPLE);
  });
  afterAll(() => worker?.dispose());

  it('AS-14 / PR-2: after exp the server answers 401 invalid_token, the client refreshes (rotation) and the call succeeds', async () => {
    const mcpUrl = new URL(`${worker.url}/mcp`);
    const provider = new HeadlessOAuthProvider('http://127.0.0.1:53691/callback');
    const client = await connect(mcpUrl, provider);
    const first = provider.saved!;
    const exp = decodeJwt(first.access_token).exp!;
    // Wait (on a condition, not a fixed sleep) until the token has expired.
    while (Date.now() / 1000 <= exp) await new Promise((r) => setTimeout(r, 100));

    const expired = await fetch(mcpUrl, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream', Authorization: `Bearer ${first.access_token}` },
      body: '{"jsonrpc":"2.0","id":1,"method":"tools/list"}',
    });
    expect(expired.status).toBe(401);
    expect(expired.headers.get('WWW-Authenticate')).toContain('error="invalid_token"');

    const result = await client.callTool({ name: 'whoami', arguments: {} });
    expect(JSON.parse(text(result)).sub).toBe('sdk-user');
    expect(provider.saved!.access_token).not.toBe(first.access_token);
    expect(provider.saved!.refresh_token).not.toBe(first.refresh_token);
    expect(provider.authorizations).toBe(1); // refreshed, not re-authorized
  });
});

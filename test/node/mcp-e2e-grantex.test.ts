import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';
import { decodeJwt } from 'jose';
import { HeadlessOAuthProvider } from './mcp-client-provider';
import { FAKE_GRANTEX_API_KEY, startFakeGrantex, startWorker, type RunningGrantex, type RunningWorker } from './worker-server';

/**
 * The official MCP SDK client against the example MCP server in Grantex mode; Grantex is the fake
 * service (test/fixtures/fake-grantex) on its own loopback port, reached over real HTTP.
 */
describe('end to end in Grantex mode: the official MCP SDK client, the example server and a fake Grantex', () => {
  let grantexService: RunningGrantex;
  let worker: RunningWorker;

  beforeAll(async () => {
    grantexService = await startFakeGrantex();
    worker = await startWorker(grantexService.vars, '.test-dist/example/index.js');
  });
  afterAll(async () => {
    await worker?.dispose();
    await grantexService?.dispose();
  });

  it('connect → 401 → discovery → DCR → our sign-in → Grantex consent → callback → token → tools; refresh; revoke → introspection inactive', async () => {
    const mcpUrl = new URL(`${worker.url}/mcp`);
    const provider = new HeadlessOAuthProvider('http://127.0.0.1:53695/callback', { username: 'grace', upstreamConsent: (url) => grantexService.approve(url) });

    const client = new Client({ name: 'e2e-grantex', version: '1.0.0' });
    await expect(client.connect(new StreamableHTTPClientTransport(mcpUrl, { authProvider: provider }))).rejects.toBeInstanceOf(UnauthorizedError);
    const transport = new StreamableHTTPClientTransport(mcpUrl, { authProvider: provider });
    await transport.finishAuth(provider.lastCode!);
    const connected = new Client({ name: 'e2e-grantex', version: '1.0.0' });
    await connected.connect(transport);

    const first = provider.saved!;
    const claims = decodeJwt(first.access_token);
    expect(claims).toMatchObject({ iss: 'https://grantex.dev', sub: 'grace', aud: mcpUrl.href, scp: ['mcp:tools:read'] });
    expect(String(claims.grnt)).toMatch(/^grnt_/);

    const result = (await connected.callTool({ name: 'whoami', arguments: {} })) as { content: { text: string }[] };
    const me = JSON.parse(result.content[0]!.text);
    expect(me).toMatchObject({ sub: 'grace', scopes: ['mcp:tools:read'] });

    // Refresh through Grantex: a new grant token, a rotated refresh token of ours.
    const refreshed = await fetch(`${worker.url}/token`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: first.refresh_token!, client_id: provider.client!.client_id }),
    });
    expect(refreshed.status).toBe(200);
    const second = (await refreshed.json()) as { access_token: string; refresh_token: string };
    expect(decodeJwt(second.access_token).grnt).toBe(claims.grnt);
    expect(decodeJwt(second.access_token).jti).not.toBe(claims.jti);

    const form = (values: Record<string, string>) => ({
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(values),
    });
    const clientId = provider.client!.client_id;
    expect((await fetch(`${worker.url}/revoke`, form({ token: second.refresh_token, client_id: clientId }))).status).toBe(200);
    expect(await (await fetch(`${worker.url}/introspect`, form({ token: second.access_token, client_id: clientId }))).json()).toEqual({ active: false });
    // Grantex itself no longer knows the grant as active.
    const verified = await fetch(`${grantexService.url}/v1/grants/verify`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${FAKE_GRANTEX_API_KEY}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ token: second.access_token }),
    });
    expect(await verified.json()).toMatchObject({ active: false, reason: 'revoked' });
  });
});

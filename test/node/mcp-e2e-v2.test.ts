import { describe, expect, it } from 'vitest';
import { Client, StreamableHTTPClientTransport, UnauthorizedError } from '@modelcontextprotocol/client';
import { decodeJwt } from 'jose';
import { HeadlessOAuthProviderV2, recordingTokenGrants, toolText as text } from './mcp-client-provider';
import { EXAMPLE_MODES, exampleServer } from './worker-server';

/** v2 speaks 2025-11-25 unless told to negotiate: `auto` probes with `server/discover` first. */
const CLIENT_OPTIONS = { versionNegotiation: { mode: 'auto' as const } };

/** The MCP SDK v2 client, connected; a 401 sends it through discovery, DCR and the consent page first. */
async function connect(
  mcpUrl: URL,
  provider: HeadlessOAuthProviderV2,
  fetch: typeof globalThis.fetch,
): Promise<{ client: Client; transport: StreamableHTTPClientTransport }> {
  const first = new Client({ name: 'e2e-v2', version: '1.0.0' }, CLIENT_OPTIONS);
  const transport = new StreamableHTTPClientTransport(mcpUrl, { authProvider: provider, fetch });
  try {
    await first.connect(transport);
    return { client: first, transport };
  } catch (err) {
    if (!(err instanceof UnauthorizedError)) throw err;
  }
  // The headless "browser" came back to the callback: finish like an app's callback would (code and iss).
  const authorized = new StreamableHTTPClientTransport(mcpUrl, { authProvider: provider, fetch });
  await authorized.finishAuth(provider.lastCallback!.searchParams);
  const client = new Client({ name: 'e2e-v2', version: '1.0.0' }, CLIENT_OPTIONS);
  await client.connect(authorized);
  return { client, transport: authorized };
}

describe.each(EXAMPLE_MODES)('end to end ($mode): the MCP SDK v2 client (spec 2026-07-28) against the example MCP server', ({ grantex }) => {
  const example = exampleServer(grantex);

  it('connect → 401 → discovery → DCR → consent → tools on 2026-07-28; create_ticket with a read-only token → 403 → the client itself re-authorizes for the union of scopes, no refresh → the app finishes the redirect → the retried call succeeds', async () => {
    const provider = new HeadlessOAuthProviderV2('http://127.0.0.1:53710/callback', {
      username: 'v2-user',
      upstreamConsent: grantex ? example.upstreamConsent : undefined,
    });
    const tokenRequests = recordingTokenGrants();
    const { client, transport } = await connect(example.mcpUrl, provider, tokenRequests.fetch);
    expect(tokenRequests.grantTypes).toEqual(['authorization_code']);
    expect(provider.authorizations).toBe(1);
    // v2 adds offline_access to the challenged scope: the AS offers it and the client registered for refresh_token.
    expect(provider.lastAuthorizationUrl!.searchParams.get('scope')).toBe('mcp:tools:read offline_access');
    expect(provider.lastAuthorizationUrl!.searchParams.get('resource')).toBe(example.mcpUrl.href);
    expect(client.getNegotiatedProtocolVersion()).toBe('2026-07-28');
    expect(decodeJwt(provider.saved!.access_token)).toMatchObject({ aud: example.mcpUrl.href, sub: 'v2-user', scp: ['mcp:tools:read', 'offline_access'] });

    const tools = await client.listTools();
    expect(tools.tools.map((t) => t.name).sort()).toEqual(['create_ticket', 'whoami']);
    const me = JSON.parse(text(await client.callTool({ name: 'whoami', arguments: {} })));
    expect(me).toMatchObject({ sub: 'v2-user', scopes: ['mcp:tools:read', 'offline_access'], clientId: provider.client!.client_id });

    // Step-up (SEP-2350): the write tool answers 403 insufficient_scope naming every scope it needs.
    // v2 asks for the union of what it has and what is challenged in a fresh authorization, without
    // trying a refresh (RFC 6749 §6: a refresh cannot widen scope); the redirect leaves the call
    // with UnauthorizedError, as any redirect does.
    const readOnly = provider.saved!;
    await expect(client.callTool({ name: 'create_ticket', arguments: { title: 'Printer on fire' } })).rejects.toBeInstanceOf(UnauthorizedError);
    expect(provider.authorizations).toBe(2);
    expect(provider.lastAuthorizationUrl!.searchParams.get('scope')).toBe('mcp:tools:read offline_access mcp:tools:write');
    expect(tokenRequests.grantTypes).toEqual(['authorization_code']); // no refresh_token
    expect(provider.saved).toBe(readOnly);

    // The app's callback finishes the authorization; the same client retries the call and it succeeds.
    await transport.finishAuth(provider.lastCallback!.searchParams);
    expect(tokenRequests.grantTypes).toEqual(['authorization_code', 'authorization_code']);
    expect(decodeJwt(provider.saved!.access_token).scp).toEqual(['mcp:tools:read', 'offline_access', 'mcp:tools:write']);
    const ticket = text(await client.callTool({ name: 'create_ticket', arguments: { title: 'Printer on fire' } }));
    expect(ticket).toBe('Ticket "Printer on fire" opened for v2-user.');
    expect(client.getNegotiatedProtocolVersion()).toBe('2026-07-28');
  });

  it('browser clients of 2026-07-28: the /mcp preflight allows Mcp-Method and Mcp-Name (SEP-2243) besides the MCP headers, and the 401 exposes WWW-Authenticate', async () => {
    const origin = 'https://app.example.com';
    const preflight = await fetch(example.mcpUrl, {
      method: 'OPTIONS',
      headers: {
        Origin: origin,
        'Access-Control-Request-Method': 'POST',
        'Access-Control-Request-Headers': 'authorization, content-type, mcp-method, mcp-name, mcp-protocol-version',
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('Access-Control-Allow-Origin')).toBe('*');
    const allowed = preflight.headers.get('Access-Control-Allow-Headers')!.toLowerCase().split(/,\s*/);
    expect(allowed).toEqual(expect.arrayContaining(['authorization', 'content-type', 'mcp-method', 'mcp-name', 'mcp-protocol-version']));

    const anonymous = await fetch(example.mcpUrl, {
      method: 'POST',
      headers: { Origin: origin, 'Content-Type': 'application/json', 'Mcp-Method': 'tools/list' },
      body: '{"jsonrpc":"2.0","id":1,"method":"tools/list"}',
    });
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('Access-Control-Expose-Headers')).toContain('WWW-Authenticate');
  });
});

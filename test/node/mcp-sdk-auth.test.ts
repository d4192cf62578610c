import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auth } from '@modelcontextprotocol/sdk/client/auth.js';
import { decodeJwt } from 'jose';
import { HeadlessOAuthProvider } from './mcp-client-provider';
import { startWorker, type RunningWorker } from './worker-server';

let worker: RunningWorker;
beforeAll(async () => {
  worker = await startWorker();
});
afterAll(() => worker?.dispose());

describe("the official MCP TypeScript SDK client's auth() flow against the worker", () => {
  it('PR-1/AS-2/AS-11: discovers PRM and AS metadata, registers, authorizes with PKCE and resource, exchanges the code, then refreshes', async () => {
    const serverUrl = `${worker.url}/mcp`;
    const provider = new HeadlessOAuthProvider('http://127.0.0.1:53683/callback');
    expect(await auth(provider, { serverUrl })).toBe('REDIRECT');
    expect(provider.client?.client_id).toBeTruthy();
    const url = provider.lastAuthorizationUrl!;
    expect(url.searchParams.get('code_challenge_method')).toBe('S256');
    expect(url.searchParams.get('resource')).toBe(serverUrl);

    expect(await auth(provider, { serverUrl, authorizationCode: provider.lastCode })).toBe('AUTHORIZED');
    const first = provider.saved!;
    const claims = decodeJwt(first.access_token);
    expect(claims).toMatchObject({ iss: worker.url, aud: serverUrl, sub: 'sdk-user', client_id: provider.client!.client_id });
    expect(first.refresh_token).toBeTruthy();

    // With a refresh token stored, auth() refreshes instead of re-authorizing (AS-14, refresh without scope).
    expect(await auth(provider, { serverUrl })).toBe('AUTHORIZED');
    expect(provider.saved!.refresh_token).not.toBe(first.refresh_token);
    expect(provider.saved!.access_token).not.toBe(first.access_token);
    expect(provider.authorizations).toBe(1);
  });
});

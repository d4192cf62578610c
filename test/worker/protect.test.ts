import { describe, expect, it } from 'vitest';
import { Hono } from 'hono';
import { env } from 'cloudflare:workers';
import type { ProtectOptions } from '../../src/create-mcp-auth';
import type { McpGrant } from '../../src/verify/index.js';
import { ISSUER, workerAuth, clientAuth, postForm, tokensFor } from './helpers';

/**
 * auth.protect() on a host app next to the worker under test: the same issuer, bindings and
 * signing keys, so tokens issued by the worker are this app's own.
 */
function host(routes: Record<string, ProtectOptions>) {
  const auth = workerAuth();
  const grants: Record<string, McpGrant[]> = {};
  const app = new Hono();
  for (const [path, options] of Object.entries(routes)) {
    grants[path] = [];
    app.get(path, auth.protect({ scopes: ['mcp:tools:read'], ...options }), (c) => {
      grants[path]!.push(c.get('mcpGrant'));
      return c.text('pong');
    });
  }
  const get = (path: string, token: string) => app.fetch(new Request(new URL(path, ISSUER), { headers: { Authorization: `Bearer ${token}` } }), env);
  return { get, grants };
}

describe('auth.protect(): remembered verifications', () => {
  it('PR-4: a token presented again is verified once and shared as the same frozen grant', async () => {
    const { get, grants } = host({ '/mcp': {}, '/mcp-every-time': { verifiedTokenCacheSize: 0 } });
    const { tokens } = await tokensFor();
    for (let i = 0; i < 2; i++) {
      expect((await get('/mcp', tokens.access_token)).status).toBe(200);
      expect((await get('/mcp-every-time', tokens.access_token)).status).toBe(200);
    }
    expect(grants['/mcp']![1]).toBe(grants['/mcp']![0]);
    expect(Object.isFrozen(grants['/mcp']![0])).toBe(true);
    expect(grants['/mcp-every-time']![1]).not.toBe(grants['/mcp-every-time']![0]);
    expect(grants['/mcp-every-time']![1]).toEqual(grants['/mcp-every-time']![0]);
  });

  it('AS-17 RFC 7009: with checkRevocation a remembered token is refused as soon as it is revoked', async () => {
    // revocationCheckSeconds: 0 asks the grant on every request (the bound itself: revocation-bound.test.ts).
    const { get } = host({ '/mcp-checked': { revocationCheckSeconds: 0 } });
    const { flow, tokens } = await tokensFor();
    expect((await get('/mcp-checked', tokens.access_token)).status).toBe(200);
    expect((await get('/mcp-checked', tokens.access_token)).status).toBe(200);
    const auth = clientAuth(flow.client);
    expect((await postForm('/revoke', { token: tokens.access_token, ...auth.body }, auth.headers)).status).toBe(200);

    const refused = await get('/mcp-checked', tokens.access_token);
    expect(refused.status).toBe(401);
    expect(refused.headers.get('WWW-Authenticate')).toContain('error="invalid_token"');
  });
});

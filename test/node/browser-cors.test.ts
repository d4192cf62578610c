// A browser-based MCP client in a real Chromium (Debian's, driven by playwright-core): a page on one
// origin calls an MCP route on another, protected by requireMcpAuth behind mcpCors, in Hono and in
// Express. Chromium sends the CORS preflight itself and enforces what the answers allow.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import express from 'express';
import { Hono } from 'hono';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mcpCors as expressMcpCors, requireMcpAuth as expressRequireMcpAuth } from '../../src/middleware/express.js';
import { mcpCors as honoMcpCors, requireMcpAuth as honoRequireMcpAuth, type McpAuthEnv } from '../../src/middleware/hono.js';
import { createTokenMint, ISSUER, now, PRM, RESOURCE, type TokenMint } from '../shared/token-mint';
import { launchChromium } from './chromium';
import { freePort } from './worker-server';

let browser: Browser | undefined;
let pageServer: Server | undefined;
let expressServer: Server | undefined;
let honoServer: ServerType | undefined;
/** The page's origin on the list, and the same page on an origin that is not. */
let listedOrigin: string;
let unlistedOrigin: string;
const routes: Record<'Hono' | 'Express', string> = { Hono: '', Express: '' };
/** The same middleware without mcpCors in front: where a preflight goes on to the handler. */
const bareRoutes: Record<'Hono' | 'Express', string> = { Hono: '', Express: '' };
let mint: TokenMint;
/** What the handlers saw: a preflight must never reach them through mcpCors. */
const handled: string[] = [];

beforeAll(async () => {
  mint = await createTokenMint();
  const auth = { issuer: ISSUER, audience: RESOURCE, keys: mint.jwks, now, scopes: ['mcp:tools:read'] };

  const pagePort = await freePort();
  listedOrigin = `http://localhost:${pagePort}`;
  unlistedOrigin = `http://127.0.0.1:${pagePort}`;
  pageServer = createServer((_req, res) => res.writeHead(200, { 'Content-Type': 'text/html' }).end('<!doctype html><title>MCP client</title>'));
  await new Promise<void>((resolve) => pageServer!.listen(pagePort, '127.0.0.1', resolve));

  const honoApp = new Hono<McpAuthEnv>();
  honoApp.use('/mcp', honoMcpCors({ origins: [listedOrigin] }));
  honoApp.all('/mcp', honoRequireMcpAuth(auth), (c) => {
    handled.push(`Hono ${c.req.method}`);
    return c.json({ sub: c.get('mcpGrant').sub }, 200, { 'Mcp-Session-Id': 'hono-session' });
  });
  honoApp.all('/bare', honoRequireMcpAuth(auth), (c) => c.text(`handler ${c.req.method} ${c.get('mcpGrant') ? 'grant' : 'no grant'}`));
  const honoPort = await freePort();
  honoServer = serve({ fetch: honoApp.fetch, hostname: '127.0.0.1', port: honoPort });
  routes.Hono = `http://127.0.0.1:${honoPort}/mcp`;
  bareRoutes.Hono = `http://127.0.0.1:${honoPort}/bare`;

  const expressApp = express();
  expressApp.use('/mcp', expressMcpCors({ origins: [listedOrigin] }));
  expressApp.all('/mcp', expressRequireMcpAuth(auth), (req, res) => {
    handled.push(`Express ${req.method}`);
    res.set('Mcp-Session-Id', 'express-session').json({ sub: req.mcpGrant!.sub });
  });
  expressApp.all('/bare', expressRequireMcpAuth(auth), (req, res) => {
    res.send(`handler ${req.method} ${req.mcpGrant ? 'grant' : 'no grant'}`);
  });
  expressServer = await new Promise<Server>((resolve) => {
    const server = expressApp.listen(0, '127.0.0.1', () => resolve(server));
  });
  routes.Express = `http://127.0.0.1:${(expressServer.address() as AddressInfo).port}/mcp`;
  bareRoutes.Express = `http://127.0.0.1:${(expressServer.address() as AddressInfo).port}/bare`;

  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await new Promise((resolve) => pageServer?.close(resolve));
  await new Promise((resolve) => expressServer?.close(resolve));
  await new Promise((resolve) => honoServer?.close(resolve));
});

type Outcome = { status: number; wwwAuthenticate: string | null; sessionId: string | null; body: string } | { failed: string };

/** What a browser MCP client's `fetch` sees: a JSON-RPC POST with the MCP headers (so a preflight first). */
async function callFrom(pageOrigin: string, url: string, authorization: string): Promise<Outcome> {
  const context = await browser!.newContext();
  try {
    const page: Page = await context.newPage();
    await page.goto(`${pageOrigin}/`);
    return await page.evaluate(
      async ({ url, authorization }) => {
        try {
          const res = await fetch(url, {
            method: 'POST',
            headers: { Authorization: authorization, 'Content-Type': 'application/json', 'MCP-Protocol-Version': '2025-11-25' },
            body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
          });
          return {
            status: res.status,
            wwwAuthenticate: res.headers.get('WWW-Authenticate'),
            sessionId: res.headers.get('Mcp-Session-Id'),
            body: await res.text(),
          };
        } catch (err) {
          return { failed: String(err) };
        }
      },
      { url, authorization },
    );
  } finally {
    await context.close();
  }
}

describe.each(['Hono', 'Express'] as const)('a browser MCP client across origins (%s, mcpCors before requireMcpAuth)', (framework) => {
  it('reads WWW-Authenticate on the 401 (to discover the authorization server), after a preflight that needed no token', async () => {
    handled.length = 0;
    const outcome = await callFrom(listedOrigin, routes[framework], 'Bearer not-a-valid-token');
    expect(outcome).toMatchObject({ status: 401 });
    if ('failed' in outcome) throw new Error(outcome.failed);
    expect(outcome.wwwAuthenticate).toContain('error="invalid_token"');
    expect(outcome.wwwAuthenticate).toContain(`resource_metadata="${PRM}"`);
    expect(handled).toEqual([]);
  });

  it('with a valid token reads the answer and Mcp-Session-Id', async () => {
    handled.length = 0;
    const outcome = await callFrom(listedOrigin, routes[framework], `Bearer ${await mint.withScopes('mcp:tools:read')}`);
    expect(outcome).toEqual({ status: 200, wwwAuthenticate: null, sessionId: `${framework.toLowerCase()}-session`, body: '{"sub":"user-1"}' });
    expect(handled).toEqual([`${framework} POST`]);
  });

  it('a page on an origin not on the list cannot read anything (the preflight fails)', async () => {
    handled.length = 0;
    const outcome = await callFrom(unlistedOrigin, routes[framework], `Bearer ${await mint.withScopes('mcp:tools:read')}`);
    expect(outcome).toEqual({ failed: 'TypeError: Failed to fetch' });
    expect(handled).toEqual([]);
  });
});

describe.each(['Hono', 'Express'] as const)('requireMcpAuth without CORS middleware (%s)', (framework) => {
  it('answers a preflight (Fetch §3.2.2) itself, unverified and without running the handler; a plain OPTIONS is challenged', async () => {
    const preflight = await fetch(bareRoutes[framework], {
      method: 'OPTIONS',
      headers: { Origin: listedOrigin, 'Access-Control-Request-Method': 'POST', Authorization: 'Bearer not-a-valid-token' },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('WWW-Authenticate')).toBeNull();
    expect(preflight.headers.get('Access-Control-Allow-Origin')).toBeNull();
    expect(await preflight.text()).toBe('');
    const plain = await fetch(bareRoutes[framework], { method: 'OPTIONS', headers: { Origin: listedOrigin } });
    expect(plain.status).toBe(401);
    expect(plain.headers.get('WWW-Authenticate')).toContain(`resource_metadata="${PRM}"`);
  });
});

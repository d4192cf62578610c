import { request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { claims, createTokenMint, ISSUER, NOW, now, PRM, RESOURCE, type TokenMint } from '../shared/token-mint';
import express from 'express';
import { UnsecuredJWT, type JWK } from 'jose';
import { getMcpGrant, protectedResourceMetadata, requireMcpAuth, type RequireMcpAuthOptions } from '../../src/middleware/express.js';

let jwks: { keys: JWK[] };
let server: Server;
let origin: string;

let token: TokenMint['token'];
let withScopes: TokenMint['withScopes'];

function call(path: string, authorization?: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (authorization !== undefined) headers.set('Authorization', authorization);
  return fetch(`${origin}${path}`, { method: 'POST', ...init, headers });
}

const MISSING = `Bearer resource_metadata="${PRM}", scope="mcp:tools:read"`;

beforeAll(async () => {
  const mint = await createTokenMint();
  ({ jwks, token, withScopes } = mint);
  const base: RequireMcpAuthOptions = { issuer: ISSUER, audience: RESOURCE, keys: jwks, now };

  const app = express();
  const metadata = protectedResourceMetadata({ resource: RESOURCE, authorizationServers: [ISSUER], scopesSupported: ['mcp:tools:read', 'offline_access'] });
  app.get('/.well-known/oauth-protected-resource/mcp', metadata);
  app.options('/.well-known/oauth-protected-resource/mcp', metadata);
  app.use(express.urlencoded({ extended: false }));
  app.post('/mcp', requireMcpAuth({ ...base, scopes: ['mcp:tools:read'] }), (req, res) => {
    const grant = getMcpGrant(req);
    res.json({ sub: grant.sub, clientId: grant.clientId, scopes: grant.scopes, same: grant === req.mcpGrant });
  });
  app.post('/admin', requireMcpAuth({ ...base, scopes: ['mcp:tools:read', 'mcp:admin', 'offline_access'] }), (_req, res) => {
    res.send('admin ok');
  });
  app.post(
    '/hier',
    requireMcpAuth({ ...base, scopes: ['mcp:tools:read'], scopeHierarchy: { 'mcp:admin': ['mcp:tools:write'], 'mcp:tools:write': ['mcp:tools:read'] } }),
    (_req, res) => {
      res.send('hier ok');
    },
  );
  app.post('/revoked', requireMcpAuth({ ...base, checkRevocation: async () => true }), (_req, res) => {
    res.send('unreachable');
  });
  app.post(
    '/keys-down',
    requireMcpAuth({ issuer: ISSUER, audience: RESOURCE, now, fetch: (async () => Promise.reject(new TypeError('fetch failed'))) as typeof fetch }),
    (_req, res) => {
      res.send('unreachable');
    },
  );
  app.get('/unprotected', (req, res) => {
    res.json({ hasGrant: req.mcpGrant !== undefined });
  });

  server = app.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe('requireMcpAuth (Express, real HTTP)', () => {
  it('PR-2 RFC 6750 §3.1 + RFC 9728 §5.1: no credentials → 401 challenge without error code, empty body', async () => {
    const res = await call('/mcp');
    expect(res.status).toBe(401);
    expect(res.headers.get('WWW-Authenticate')).toBe(MISSING);
    expect(res.headers.get('Cache-Control')).toBe('no-store');
    expect(await res.text()).toBe('');
  });

  it('PR-2 RFC 7235 §2.1: another scheme counts as no Bearer credentials', async () => {
    const res = await call('/mcp', 'Basic dXNlcjpwYXNz');
    expect(res.status).toBe(401);
    expect(res.headers.get('WWW-Authenticate')).toBe(MISSING);
  });

  it('PR-4 RFC 6750 §3.1: Bearer without a token → 400 invalid_request', async () => {
    const res = await call('/mcp', 'Bearer');
    expect(res.status).toBe(400);
    expect(res.headers.get('WWW-Authenticate')).toBe(
      `Bearer error="invalid_request", error_description="The Bearer credentials are empty", resource_metadata="${PRM}"`,
    );
    expect(await res.json()).toEqual({ error: 'invalid_request', error_description: 'The Bearer credentials are empty' });
  });

  it('PR-4 RFC 6750 §2.1: two Authorization header lines → 400 invalid_request (Node would keep only the first)', async () => {
    const valid = await token();
    const { status, challenge } = await new Promise<{ status: number; challenge: string | undefined }>((resolve, reject) => {
      const req = httpRequest(`${origin}/mcp`, {
        method: 'POST',
        // Raw header list (no automatic Host header with this form).
        headers: ['Host', new URL(origin).host, 'Content-Length', '0', 'Authorization', `Bearer ${valid}`, 'Authorization', `Bearer ${valid}`],
      });
      req.on('response', (res) => {
        res.resume();
        resolve({ status: res.statusCode!, challenge: res.headers['www-authenticate'] });
      });
      req.on('error', reject);
      req.end();
    });
    expect(status).toBe(400);
    expect(challenge).toContain('error="invalid_request"');
  });

  it('PR-4: a valid token reaches the handler with req.mcpGrant', async () => {
    const res = await call('/mcp', `bearer ${await token()}`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ sub: 'user-1', clientId: 'client-1', scopes: ['mcp:tools:read'], same: true });
  });

  it.each([
    ['expired', () => token({ exp: NOW - 60 }), 'The access token has expired'],
    ['wrong audience', () => token({ aud: 'https://other.example/mcp' }), 'The access token is not intended for this resource'],
    ['wrong issuer', () => token({ iss: 'https://evil.example' }), 'The access token was issued by another issuer'],
    ['alg none', async () => new UnsecuredJWT(claims()).encode(), 'The access token signing algorithm is not accepted'],
    ['wrong typ', () => token({}, { typ: 'JWT' }), 'The access token has the wrong JWT type (typ)'],
  ])('PR-2 RFC 6750 §3.1: %s → 401 invalid_token', async (_, make, description) => {
    const res = await call('/mcp', `Bearer ${await make()}`);
    expect(res.status).toBe(401);
    expect(res.headers.get('WWW-Authenticate')).toBe(
      `Bearer error="invalid_token", error_description="${description}", resource_metadata="${PRM}", scope="mcp:tools:read"`,
    );
    expect(res.headers.get('Cache-Control')).toBe('no-store');
    expect(res.headers.get('Content-Type')).toMatch(/^application\/json/);
    expect(await res.json()).toEqual({ error: 'invalid_token', error_description: description });
  });

  it('PR-2: a revoked token → 401 invalid_token', async () => {
    const res = await call('/revoked', `Bearer ${await token()}`);
    expect(res.status).toBe(401);
    expect(res.headers.get('WWW-Authenticate')).toContain('error_description="The access token has been revoked"');
  });

  it('PR-2: JWKS unreachable → 503 with Retry-After', async () => {
    const res = await call('/keys-down', `Bearer ${await token()}`);
    expect(res.status).toBe(503);
    expect(res.headers.get('Retry-After')).toBe('5');
    expect(res.headers.get('WWW-Authenticate')).toBeNull();
  });

  it('PR-3 [2025-11]/[2026-07]: insufficient scope → 403 listing every needed scope, never offline_access', async () => {
    const res = await call('/admin', `Bearer ${await withScopes('mcp:tools:read', 'offline_access')}`);
    expect(res.status).toBe(403);
    expect(res.headers.get('WWW-Authenticate')).toBe(
      `Bearer error="insufficient_scope", error_description="The access token lacks a scope this operation requires", resource_metadata="${PRM}", scope="mcp:tools:read mcp:admin"`,
    );
    const missing = await call('/admin');
    expect(missing.headers.get('WWW-Authenticate')).toBe(`Bearer resource_metadata="${PRM}", scope="mcp:tools:read mcp:admin"`);
  });

  it('PR-3 [2026-07]: scope hierarchy is honoured transitively', async () => {
    expect((await call('/hier', `Bearer ${await withScopes('mcp:admin')}`)).status).toBe(200);
    expect((await call('/hier', `Bearer ${await withScopes('mcp:other')}`)).status).toBe(403);
  });

  it('PR-5 MCP: tokens in the query string or a form body are ignored', async () => {
    const valid = await token();
    const query = await call(`/mcp?access_token=${valid}`);
    expect(query.status).toBe(401);
    expect(query.headers.get('WWW-Authenticate')).toBe(MISSING);
    const form = await call('/mcp', undefined, { body: new URLSearchParams({ access_token: valid }) });
    expect(form.status).toBe(401);
    expect(form.headers.get('WWW-Authenticate')).toBe(MISSING);
  });

  it('PR-4: unprotected routes have no grant', async () => {
    const res = await fetch(`${origin}/unprotected`, { headers: { Authorization: `Bearer ${await token()}` } });
    expect(await res.json()).toEqual({ hasGrant: false });
  });

  it('PR-1 RFC 9728 §3.2: serves protected resource metadata with CORS * and without offline_access', async () => {
    const res = await fetch(`${origin}/.well-known/oauth-protected-resource/mcp`);
    expect(res.status).toBe(200);
    expect(res.headers.get('Access-Control-Allow-Origin')).toBe('*');
    expect(await res.json()).toEqual({
      resource: RESOURCE,
      authorization_servers: [ISSUER],
      scopes_supported: ['mcp:tools:read'],
      bearer_methods_supported: ['header'],
    });
    const preflight = await fetch(`${origin}/.well-known/oauth-protected-resource/mcp`, { method: 'OPTIONS' });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('Access-Control-Allow-Origin')).toBe('*');
  });

  it('design: the Express adapter and its shared modules never import hono', () => {
    for (const file of ['middleware/express.ts', 'middleware/challenge.ts', 'verify/index.ts']) {
      const source = readFileSync(new URL(`../../src/${file}`, import.meta.url), 'utf8');
      expect(source).toMatch(/from '/);
      expect(source).not.toMatch(/from 'hono/);
    }
  });
});

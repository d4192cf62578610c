import { describe, expect, it } from 'vitest';
import { Hono } from 'hono';
import { env } from 'cloudflare:workers';
import { createMcpAuth } from '../../src/create-mcp-auth';
import type { AuditEvent } from '../../src/events';
import { basic, call, clientAuth, codeFor, postForm, refresh, registerClient, tokensFor, type RegisteredClient } from './helpers';

function introspect(client: RegisteredClient, token: string, extra: Record<string, string> = {}) {
  const auth = clientAuth(client);
  return postForm('/introspect', { token, ...auth.body, ...extra }, auth.headers);
}

function revoke(client: RegisteredClient, token: string, extra: Record<string, string> = {}) {
  const auth = clientAuth(client);
  return postForm('/revoke', { token, ...auth.body, ...extra }, auth.headers);
}

describe('POST /introspect (RFC 7662)', () => {
  it('AS-16: an active access token answers active with scope, client_id, sub, aud, iss, exp, iat, jti, token_type', async () => {
    const { flow, tokens } = await tokensFor();
    const res = await introspect(flow.client, tokens.access_token);
    expect(res.status).toBe(200);
    expect(res.headers.get('Cache-Control')).toBe('no-store');
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({
      active: true,
      scope: 'mcp:tools:read mcp:tools:write',
      client_id: flow.client.client_id,
      sub: 'alice',
      aud: 'http://localhost:8787/mcp',
      iss: 'http://localhost:8787',
      token_type: 'Bearer',
    });
    for (const claim of ['exp', 'iat', 'jti']) expect(body[claim], claim).toBeTruthy();
    expect(body).not.toHaveProperty('grantex_grant_id'); // local mode: no Grantex name for our grant id
  });

  it('AS-16: a refresh token answers active too, whatever the token_type_hint says', async () => {
    const { flow, tokens } = await tokensFor();
    for (const hint of ['refresh_token', 'access_token', 'bogus']) {
      const body = (await (await introspect(flow.client, tokens.refresh_token!, { token_type_hint: hint })).json()) as Record<string, unknown>;
      expect(body, hint).toMatchObject({ active: true, token_type: 'refresh_token', client_id: flow.client.client_id });
    }
  });

  it('AS-16: introspection by a different client answers exactly {"active": false}', async () => {
    const { tokens } = await tokensFor();
    const other = await registerClient();
    expect(await (await introspect(other, tokens.access_token)).json()).toEqual({ active: false });
    expect(await (await introspect(other, tokens.refresh_token!)).json()).toEqual({ active: false });
  });

  it('AS-16: malformed, unknown and foreign tokens answer exactly {"active": false}', async () => {
    const { flow, tokens } = await tokensFor();
    const [h, p] = tokens.access_token.split('.');
    const tampered = `${h}.${p}x.${tokens.access_token.split('.')[2]}`;
    for (const token of ['garbage', 'a.b.c', tampered, 'AAAAAAAAAAAAAAAAAAAAAA.BBBB', tokens.access_token.slice(0, -2)]) {
      expect(await (await introspect(flow.client, token)).json(), token).toEqual({ active: false });
    }
  });

  it('AS-16: introspection requires client authentication', async () => {
    const { tokens } = await tokensFor();
    const res = await postForm('/introspect', { token: tokens.access_token });
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: string }).error).toBe('invalid_client');
    const confidential = await registerClient({ token_endpoint_auth_method: 'client_secret_basic' });
    const wrong = await postForm('/introspect', { token: tokens.access_token }, { Authorization: basic(confidential.client_id, 'wrong') });
    expect(wrong.status).toBe(401);
  });

  it('AS-16: a JSON body is accepted as well as a form', async () => {
    const { flow, tokens } = await tokensFor();
    const res = await call('/introspect', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ token: tokens.access_token, client_id: flow.client.client_id }),
    });
    expect(((await res.json()) as { active: boolean }).active).toBe(true);
  });

  it('AS-16: a configured resource server may introspect tokens of other clients', async () => {
    const events: AuditEvent[] = [];
    const resourceServer = await registerClient({ token_endpoint_auth_method: 'client_secret_basic' });
    const { tokens } = await tokensFor();
    const auth = createMcpAuth({
      issuer: 'http://localhost:8787',
      resources: ['http://localhost:8787/mcp'],
      scopes: ['mcp:tools:read', 'mcp:tools:write', 'offline_access'],
      introspectionClients: [resourceServer.client_id],
      rateLimits: { enabled: false },
      onEvent: (e) => void events.push(e),
      log: false,
    });
    const host = new Hono().route('/', auth.app);
    const res = await host.fetch(
      new Request('http://localhost:8787/introspect', {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded', Authorization: basic(resourceServer.client_id, resourceServer.client_secret!) },
        body: new URLSearchParams({ token: tokens.access_token }),
      }),
      env,
    );
    expect(((await res.json()) as { active: boolean }).active).toBe(true);
  });
});

describe('POST /revoke (RFC 7009)', () => {
  it('AS-17: revoking an access token makes it inactive at introspection at once; the grant lives on', async () => {
    const { flow, tokens } = await tokensFor();
    const res = await revoke(flow.client, tokens.access_token);
    expect(res.status).toBe(200);
    expect(await (await introspect(flow.client, tokens.access_token)).json()).toEqual({ active: false });
    expect((await refresh(flow.client, tokens.refresh_token!)).status).toBe(200);
  });

  it('AS-17: revoking a refresh token revokes the grant and its access tokens', async () => {
    const { flow, tokens } = await tokensFor();
    const second = (await (await refresh(flow.client, tokens.refresh_token!)).json()) as { access_token: string; refresh_token: string };
    expect((await revoke(flow.client, second.refresh_token, { token_type_hint: 'refresh_token' })).status).toBe(200);
    expect(await (await introspect(flow.client, second.access_token)).json()).toEqual({ active: false });
    expect(await (await introspect(flow.client, tokens.access_token)).json()).toEqual({ active: false });
    expect((await refresh(flow.client, second.refresh_token)).status).toBe(400);
  });

  it('AS-17: only the owning client can revoke; another client gets 200 and the token stays active', async () => {
    const { flow, tokens } = await tokensFor();
    const other = await registerClient();
    expect((await revoke(other, tokens.access_token)).status).toBe(200);
    expect((await revoke(other, tokens.refresh_token!)).status).toBe(200);
    expect(((await (await introspect(flow.client, tokens.access_token)).json()) as { active: boolean }).active).toBe(true);
    expect((await refresh(flow.client, tokens.refresh_token!)).status).toBe(200);
  });

  it('AS-17: unknown and malformed tokens answer 200', async () => {
    const client = await registerClient();
    for (const token of ['garbage', 'a.b.c', 'AAAAAAAAAAAAAAAAAAAAAA.BBBB']) expect((await revoke(client, token)).status, token).toBe(200);
  });

  it('AS-17: revocation requires client authentication and a token', async () => {
    const { tokens } = await tokensFor();
    expect((await postForm('/revoke', { token: tokens.access_token })).status).toBe(401);
    const client = await registerClient();
    expect((await postForm('/revoke', { client_id: client.client_id })).status).toBe(400);
  });
});

describe('hooks and audit events', () => {
  async function hookedAuth(overrides: Record<string, unknown> = {}) {
    const events: AuditEvent[] = [];
    const auth = createMcpAuth({
      issuer: 'http://localhost:8787',
      resources: ['http://localhost:8787/mcp'],
      scopes: ['mcp:tools:read'],
      log: false,
      onEvent: (e) => void events.push(e),
      ...overrides,
    });
    const host = new Hono().route('/', auth.app);
    const fetchHost = (path: string, init: RequestInit = {}) =>
      host.fetch(
        new Request(`http://localhost:8787${path}`, {
          redirect: 'manual',
          ...init,
          headers: { 'CF-Connecting-IP': `203.0.113.${events.length}`, ...(init.headers as Record<string, string>) },
        }),
        env,
      );
    return { events, fetchHost };
  }

  it('onTokenIssued fires on every issuance with client, principal, scopes, grant id and jti; a failing hook never breaks the response', async () => {
    const issued: unknown[] = [];
    const { fetchHost } = await hookedAuth({
      onTokenIssued: (e: unknown) => {
        issued.push(e);
        throw new Error('hook exploded');
      },
    });
    // The default worker and this instance share KV and Durable Objects: a code from one works at the other.
    const flow = await codeFor({ scope: 'mcp:tools:read' });
    const res = await fetchHost('/token', {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'authorization_code', code: flow.code, code_verifier: flow.verifier, client_id: flow.client.client_id }),
    });
    expect(res.status).toBe(200);
    await new Promise((r) => setTimeout(r, 0));
    expect(issued).toHaveLength(1);
    expect(issued[0]).toMatchObject({
      type: 'token.issued',
      grantType: 'authorization_code',
      clientId: flow.client.client_id,
      sub: 'alice',
      scopes: ['mcp:tools:read'],
    });
    expect((issued[0] as { grantId: string }).grantId).toBeTruthy();
    expect((issued[0] as { jti: string }).jti).toBeTruthy();
  });

  it('replay detection and revocation are audit events; onRevocation fires', async () => {
    const revocations: unknown[] = [];
    const { events, fetchHost } = await hookedAuth({ onRevocation: (e: unknown) => void revocations.push(e) });
    const flow = await codeFor({ scope: 'mcp:tools:read' });
    const exchange = () =>
      fetchHost('/token', {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'authorization_code', code: flow.code, code_verifier: flow.verifier, client_id: flow.client.client_id }),
      });
    expect((await exchange()).status).toBe(200);
    expect((await exchange()).status).toBe(400);
    await new Promise((r) => setTimeout(r, 0));
    expect(events.map((e) => e.type)).toEqual(['token.issued', 'security.replay_detected', 'token.revoked']);
    expect(revocations).toEqual([expect.objectContaining({ type: 'token.revoked', reason: 'code_replay', clientId: flow.client.client_id })]);
  });
});

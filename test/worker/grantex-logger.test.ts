import { afterEach, describe, expect, it, vi } from 'vitest';
import { env } from 'cloudflare:workers';
import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { createMcpAuth } from '../../src/create-mcp-auth';
import { customPrincipal } from '../../src/principal/custom';
import type { Logger, LogFields } from '../../src/log';
import type { McpAuthOptions } from '../../src/options';
import { createFakeGrantex, FAKE_GRANTEX_API_KEY, type FakeGrantex } from '../fixtures/fake-grantex/app';
import { ISSUER, REDIRECT, RESOURCE, authorizeUrl, form, pkce, type RegisteredClient } from './helpers';
import { GRANTEX, GRANTEX_SCOPES, fakeGrantexAuthority } from './grantex-setup';

/**
 * Every line the Grantex authority writes (failed calls, an unknown outcome asked again, consent
 * URLs refused, upstream grants revoked or not) goes to the instance's `logger`: `log: false` and
 * `logger: false` silence Grantex mode too.
 */

afterEach(() => vi.restoreAllMocks());

function spyOnConsole() {
  return (['log', 'info', 'warn', 'error', 'debug'] as const).map((method) => vi.spyOn(console, method).mockImplementation(() => {}));
}

function recordingLogger(): Logger & { lines: { level: string; message: string; fields?: LogFields }[] } {
  const lines: { level: string; message: string; fields?: LogFields }[] = [];
  const at = (level: string) => (message: string, fields?: LogFields) => void lines.push({ level, message, fields });
  return { lines, info: at('info'), warn: at('warn'), error: at('error') };
}

type Logging = Pick<McpAuthOptions, 'log' | 'logger'>;

/** A Grantex-mode server (carol always signed in) on a fake Grantex of its own, logging as told. */
function grantexServer(logging: Logging, fakeOptions: { sandbox: boolean; consentBaseUrl?: string }) {
  const fake: FakeGrantex = createFakeGrantex({
    sandbox: fakeOptions.sandbox,
    consentBaseUrl: fakeOptions.consentBaseUrl ?? GRANTEX,
    apiKeys: [FAKE_GRANTEX_API_KEY],
  });
  const agent = fake.control.registerAgent({ name: 'MCP gateway' });
  const auth = createMcpAuth({
    issuer: ISSUER,
    resources: [RESOURCE],
    scopes: GRANTEX_SCOPES,
    rateLimits: { enabled: false },
    principal: customPrincipal(() => ({ id: 'carol' })),
    authority: fakeGrantexAuthority(fake, agent.agentId, { maxRetries: 0 }),
    ...logging,
  });
  /** One request, and everything it deferred, finished. */
  const request = async (path: string, init: RequestInit = {}) => {
    const ctx = createExecutionContext();
    const res = await auth.app.fetch(new Request(new URL(path, ISSUER), { redirect: 'manual', ...init }), env, ctx);
    await res.clone().arrayBuffer();
    await waitOnExecutionContext(ctx);
    return res;
  };
  /** A public client, registered at this server (its audit event goes to the same logger). */
  const registerClient = async (): Promise<RegisteredClient> => {
    const res = await request('/register', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ redirect_uris: [REDIRECT], token_endpoint_auth_method: 'none', grant_types: ['authorization_code', 'refresh_token'] }),
    });
    expect(res.status).toBe(201);
    return res.json();
  };
  return { fake, request, registerClient };
}

/** An authorization whose consent URL Grantex names on an origin not configured: refused. */
async function consentUrlElsewhere(logging: Logging): Promise<void> {
  const s = grantexServer(logging, { sandbox: false, consentBaseUrl: 'https://attacker.example' });
  const res = await s.request(authorizeUrl(await s.registerClient(), (await pkce()).challenge));
  expect(res.status).toBe(303);
  expect(new URL(res.headers.get('Location')!).searchParams.get('error')).toBe('server_error');
}

/**
 * A code exchange whose answer is lost (Grantex did it): asked again, refused, then the Grantex
 * grant it produced is looked for and revoked; `fault` makes that listing or revocation fail.
 */
async function lostExchange(logging: Logging, fault: 'none' | 'list fails' | 'revocation fails'): Promise<void> {
  const s = grantexServer(logging, { sandbox: true });
  const client = await s.registerClient();
  const { verifier, challenge } = await pkce();
  const code = new URL((await s.request(authorizeUrl(client, challenge))).headers.get('Location')!).searchParams.get('code');
  expect(code).toBeTruthy();
  s.fake.control.loseNextResponse({ path: '/v1/token', as: 502 });
  if (fault === 'list fails') s.fake.control.failNext({ status: 400, path: '/v1/grants', method: 'GET' });
  if (fault === 'revocation fails') s.fake.control.failNext({ status: 400, path: /^\/v1\/grants\/[^/]+$/, method: 'DELETE' });
  const res = await s.request('/token', {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: form({
      grant_type: 'authorization_code',
      code: code!,
      code_verifier: verifier,
      client_id: client.client_id,
      redirect_uri: client.redirect_uris[0],
      resource: RESOURCE,
    }),
  });
  expect(res.status).toBe(400);
  expect(await res.json()).toMatchObject({ error: 'invalid_grant' });
}

async function failingGrantexFlows(logging: Logging): Promise<void> {
  await consentUrlElsewhere(logging);
  for (const fault of ['none', 'list fails', 'revocation fails'] as const) await lostExchange(logging, fault);
}

describe('Grantex mode writes only to the instance logger', () => {
  it('a logger of its own receives every line of failing Grantex flows; nothing reaches the console', async () => {
    const consoleSpies = spyOnConsole();
    const logger = recordingLogger();
    await failingGrantexFlows({ logger });
    expect(new Set(logger.lines.map((line) => `${line.level} ${line.message}`))).toEqual(
      new Set([
        'info audit event',
        'warn consent URL outside the consent origins',
        'error grant authority call failed',
        'warn grant authority outcome unknown; asking again',
        'warn revoked an upstream grant no grant of ours holds',
        'error unlinked upstream grants could not be listed',
        'error upstream grant could not be revoked',
      ]),
    );
    for (const spy of consoleSpies) expect(spy).not.toHaveBeenCalled();
  });

  for (const logging of [{ log: false }, { logger: false }] as const)
    it(`${JSON.stringify(logging)}: the same failing Grantex flows print nothing`, async () => {
      const consoleSpies = spyOnConsole();
      await failingGrantexFlows(logging);
      for (const spy of consoleSpies) expect(spy).not.toHaveBeenCalled();
    });
});

import { describe, expect, it } from 'vitest';
import { Hono } from 'hono';
import { env } from 'cloudflare:workers';
import { createMcpAuth } from '../../src/create-mcp-auth';
import { customPrincipal } from '../../src/principal/custom';
import type { ClientRecord } from '../../src/storage/client-store';
import { consentForm, form, pkce, registerClient } from './helpers';
import { expectOAuthError } from './foundation-helpers';

const REDIRECT = 'https://app.example.com/cb';
/** A client configured identically at both issuers: only the issuer's own state can tell them apart. */
const SHARED: ClientRecord = {
  client_id: 'shared-client',
  client_id_issued_at: 0,
  redirect_uris: [REDIRECT],
  token_endpoint_auth_method: 'none',
  grant_types: ['authorization_code', 'refresh_token'],
  response_types: ['code'],
  application_type: 'web',
};

interface IssuerApp {
  issuer: string;
  resource: string;
  /** One request on the issuer's own origin, with the test worker's real KV and Durable Object bindings. */
  fetch(path: string, init?: RequestInit): Promise<Response>;
}

/** An app with the default bindings, mounted as a host would mount it. */
function issuerApp(issuer: string): IssuerApp {
  const resource = `${issuer}/mcp`;
  const auth = createMcpAuth({
    issuer,
    resources: [resource],
    scopes: ['mcp:tools:read'],
    principal: customPrincipal(() => ({ id: 'erin' })),
    clients: [SHARED],
    rateLimits: { enabled: false },
    log: false,
  });
  const host = new Hono().route('/', auth.app);
  return {
    issuer,
    resource,
    fetch: async (path, init = {}) => host.fetch(new Request(new URL(path, issuer), { ...init, redirect: 'manual' }), env),
  };
}

const A = issuerApp('https://tenant-a.example.com');
const B = issuerApp('https://tenant-b.example.com');

function post(app: IssuerApp, path: string, values: Record<string, string>): Promise<Response> {
  return app.fetch(path, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: form(values) });
}

/** Authorization request, consent and approval at `app`; returns the code and its verifier. */
async function codeAt(app: IssuerApp, clientId = SHARED.client_id): Promise<{ code: string; verifier: string }> {
  const { verifier, challenge } = await pkce();
  const query = form({
    response_type: 'code',
    client_id: clientId,
    redirect_uri: REDIRECT,
    code_challenge: challenge,
    code_challenge_method: 'S256',
    state: 's',
    resource: app.resource,
  });
  const { request, cookie } = await consentForm(await app.fetch(`/authorize?${query}`));
  const res = await app.fetch('/authorize', {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', Cookie: cookie, Origin: app.issuer },
    body: form({ request, action: 'approve' }),
  });
  expect(res.status, await res.clone().text()).toBe(303);
  const code = new URL(res.headers.get('Location')!).searchParams.get('code');
  if (!code) throw new Error(`no code: ${res.headers.get('Location')}`);
  return { code, verifier };
}

function redeem(app: IssuerApp, flow: { code: string; verifier: string }): Promise<Response> {
  return post(app, '/token', {
    grant_type: 'authorization_code',
    code: flow.code,
    code_verifier: flow.verifier,
    redirect_uri: REDIRECT,
    client_id: SHARED.client_id,
  });
}

async function tokensAt(app: IssuerApp): Promise<{ access_token: string; refresh_token: string }> {
  const res = await redeem(app, await codeAt(app));
  expect(res.status, await res.clone().text()).toBe(200);
  return res.json();
}

describe('Two issuers in one worker share no state (namespaced storage)', () => {
  it('RFC 8414 §2: two issuers with the default bindings publish disjoint signing keys (JWKS)', async () => {
    const kids = async (app: IssuerApp) => ((await (await app.fetch('/.well-known/jwks.json')).json()) as { keys: { kid: string }[] }).keys.map((k) => k.kid);
    const [a, b] = [await kids(A), await kids(B)];
    expect(a.length).toBeGreaterThan(0);
    expect(b.length).toBeGreaterThan(0);
    expect(a.filter((kid) => b.includes(kid))).toEqual([]);
  });

  it('RFC 7591 §3.2.1: a client registered at one issuer is unknown at another (error page at /authorize, invalid_client at /token)', async () => {
    const registered = await A.fetch('/register', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ redirect_uris: [REDIRECT], token_endpoint_auth_method: 'none', grant_types: ['authorization_code'] }),
    });
    expect(registered.status).toBe(201);
    const { client_id } = (await registered.json()) as { client_id: string };

    // Known where it was registered: the consent page.
    await codeAt(A, client_id);
    // Unknown at the other issuer: never a consent form, never a redirect.
    const query = form({
      response_type: 'code',
      client_id,
      redirect_uri: REDIRECT,
      code_challenge: (await pkce()).challenge,
      code_challenge_method: 'S256',
      resource: B.resource,
    });
    const page = await B.fetch(`/authorize?${query}`);
    expect(page.status).toBe(400);
    expect(page.headers.get('Location')).toBeNull();
    expect(await page.text()).not.toContain('name="request"');
    await expectOAuthError(await post(B, '/token', { grant_type: 'authorization_code', code: 'x', client_id }), 401, 'invalid_client');
  });

  it('OAuth 2.1 §4.1.3: a code issued by one issuer cannot be redeemed at another, and the attempt leaves it intact', async () => {
    const flow = await codeAt(A);
    await expectOAuthError(await redeem(B, flow), 400, 'invalid_grant');
    const res = await redeem(A, flow);
    expect(res.status, await res.clone().text()).toBe(200);
  });

  it('RFC 6749 §6, RFC 7009 §2.1: a refresh token of one issuer is invalid at another, which can neither refresh nor revoke it', async () => {
    const tokens = await tokensAt(A);
    await expectOAuthError(
      await post(B, '/token', { grant_type: 'refresh_token', refresh_token: tokens.refresh_token, client_id: SHARED.client_id }),
      400,
      'invalid_grant',
    );
    expect(await (await post(B, '/introspect', { token: tokens.refresh_token, client_id: SHARED.client_id })).json()).toEqual({ active: false });
    expect((await post(B, '/revoke', { token: tokens.refresh_token, client_id: SHARED.client_id })).status).toBe(200);
    // Still alive at its own issuer.
    expect(await (await post(A, '/introspect', { token: tokens.refresh_token, client_id: SHARED.client_id })).json()).toMatchObject({ active: true });
    const refreshed = await post(A, '/token', { grant_type: 'refresh_token', refresh_token: tokens.refresh_token, client_id: SHARED.client_id });
    expect(refreshed.status, await refreshed.clone().text()).toBe(200);
  });

  it('RFC 7662 §2.2: an access token of one issuer is inactive at another', async () => {
    const tokens = await tokensAt(A);
    expect(await (await post(B, '/introspect', { token: tokens.access_token, client_id: SHARED.client_id })).json()).toEqual({ active: false });
    expect(await (await post(A, '/introspect', { token: tokens.access_token, client_id: SHARED.client_id })).json()).toMatchObject({ active: true });
  });

  it('RFC 8414 §2: the namespace is the issuer, not the app: an app with the default worker issuer sees its clients', async () => {
    const client = await registerClient();
    const same = issuerApp('http://localhost:8787');
    const res = await post(same, '/token', { grant_type: 'authorization_code', code: 'x', client_id: client.client_id });
    await expectOAuthError(res, 400, ['invalid_grant', 'unauthorized_client']);
  });
});

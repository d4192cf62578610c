import { describe, expect, it } from 'vitest';
import { Hono } from 'hono';
import { env } from 'cloudflare:workers';
import { runInDurableObject } from 'cloudflare:test';
import { createLocalJWKSet, decodeJwt, decodeProtectedHeader, exportJWK, generateKeyPair, importJWK, jwtVerify, SignJWT, type JWK } from 'jose';
import type { McpAuthState } from '../../src/storage/state-object';
import { createMcpAuth } from '../../src/create-mcp-auth';
import { customPrincipal } from '../../src/principal/custom';
import { stateObjectName, stateObjectNames } from '../../src/storage/keys';
import { verifyAccessToken } from '../../src/verify/index';
import { ISSUER, REDIRECT, RESOURCE, authorizeUrl, call, consentForm, form, pkce, postForm, registerClient, type RegisteredClient } from './helpers';
import { grantexSetup } from './grantex-setup';
import { consentRedirect } from '../fixtures/fake-grantex/consent';

async function consentFor(client?: RegisteredClient, extra: Record<string, string | undefined> = {}) {
  const c = client ?? (await registerClient());
  return consentForm(await call(authorizeUrl(c, (await pkce()).challenge, extra)));
}

function decide({ request, cookie }: { request: string; cookie: string }, action: 'approve' | 'deny', username = 'alice') {
  return postForm('/authorize', { request, action, username }, { Cookie: cookie, Origin: ISSUER });
}

describe('a consent is used once (RFC 9700 §4.12)', () => {
  it('RFC 9700 §4.12: a second approval of the same consent form gets an error page, never a code or a redirect', async () => {
    const consent = await consentFor();
    const first = await decide(consent, 'approve');
    expect(first.status).toBe(303);
    expect(new URL(first.headers.get('Location')!).searchParams.get('code')).toBeTruthy();
    const second = await decide(consent, 'approve', 'mallory');
    expect(second.status).toBe(400);
    expect(second.headers.get('Location')).toBeNull();
    expect(second.headers.get('Content-Type')).toMatch(/^text\/html/);
    expect(await second.text()).toContain('already used');
  });

  it('RFC 9700 §4.12: an approval after a deny of the same consent form is refused', async () => {
    const consent = await consentFor();
    const denied = await decide(consent, 'deny');
    expect(new URL(denied.headers.get('Location')!).searchParams.get('error')).toBe('access_denied');
    const approved = await decide(consent, 'approve', 'mallory');
    expect(approved.status).toBe(400);
    expect(approved.headers.get('Location')).toBeNull();
  });

  it('RFC 9700 §4.12: of concurrent posts of one consent form exactly one is decided', async () => {
    const consent = await consentFor();
    const results = await Promise.all(Array.from({ length: 6 }, (_, i) => decide(consent, 'approve', `user ${i}`)));
    expect(results.filter((r) => r.status === 303)).toHaveLength(1);
    expect(results.filter((r) => r.status === 400)).toHaveLength(5);
  });

  it('RFC 9700 §4.12: a sign-in that was not accepted does not use the consent up', async () => {
    const consent = await consentFor();
    expect((await decide(consent, 'approve', '')).status).toBe(400);
    expect((await decide(consent, 'approve', 'alice')).status).toBe(303);
  });

  it('RFC 9700 §4.12: the record of use expires with the consent form (alarm), so nothing is kept forever', async () => {
    const consent = await consentFor();
    await decide(consent, 'approve');
    const { cid, exp } = decodeJwt(consent.request) as { cid: string; exp: number };
    expect(cid).toMatch(/^[A-Za-z0-9_-]{22}$/);
    const stub = env.MCP_AUTH_STATE.get(env.MCP_AUTH_STATE.idFromName(stateObjectName(ISSUER, stateObjectNames.consent(cid))));
    const alarm = await runInDurableObject(stub, (_instance, state) => state.storage.getAlarm());
    expect(alarm).toBe(exp * 1000);
  });
});

describe('the consent page tells the truth (MCP 2026-07-28 security considerations)', () => {
  const page = async (client: RegisteredClient, extra: Record<string, string | undefined> = {}) =>
    (await call(authorizeUrl(client, (await pkce()).challenge, extra))).text();

  it('RFC 8707 §2: the page shows the resource being granted', async () => {
    const html = await page(await registerClient());
    expect(html).toMatch(new RegExp(`<span class="resource">${RESOURCE.replace(/[/.]/g, '\\$&')}</span>`));
  });

  const invisible: [string, string][] = [
    ['RIGHT-TO-LEFT OVERRIDE U+202E', '\u202E'],
    ['LEFT-TO-RIGHT EMBEDDING U+202A', '\u202A'],
    ['POP DIRECTIONAL FORMATTING U+202C', '\u202C'],
    ['RIGHT-TO-LEFT ISOLATE U+2067', '\u2067'],
    ['POP DIRECTIONAL ISOLATE U+2069', '\u2069'],
    ['LEFT-TO-RIGHT MARK U+200E', '\u200E'],
    ['RIGHT-TO-LEFT MARK U+200F', '\u200F'],
    ['ZERO WIDTH SPACE U+200B', '\u200B'],
    ['ZERO WIDTH JOINER U+200D', '\u200D'],
    ['BYTE ORDER MARK U+FEFF', '\uFEFF'],
    ['a C0 control (BEL)', '\u0007'],
    ['a C1 control (NEL)', '\u0085'],
    ['LINE SEPARATOR U+2028', '\u2028'],
  ];
  for (const [name, char] of invisible) {
    it(`Unicode TR 9 / UTS 39: ${name} in client_name is neutralised on the page`, async () => {
      const html = await page(await registerClient({ client_name: `Good${char}Client` }));
      expect(html).not.toContain(char);
      expect(html).toContain('Good\uFFFDClient');
    });
  }

  it('RFC 7591 §2: an unverified client_uri is not presented as information about the client', async () => {
    const html = await page(await registerClient({ client_name: 'Linky', client_uri: 'https://about.evil.example/' }));
    expect(html).not.toContain('about.evil.example');
    expect(html).not.toContain('About Linky');
  });

  it('MCP 2026-07-28 security considerations: a loopback redirect URI in use is warned about even when others are https', async () => {
    const client = await registerClient({ redirect_uris: ['https://app.example.com/cb', REDIRECT] });
    expect(await page(client, { redirect_uri: REDIRECT })).toContain('Local application');
    expect(await page(client, { redirect_uri: 'https://app.example.com/cb' })).not.toContain('Local application');
  });

  it('MCP 2025-11 client ID metadata documents: the page names the host the client document came from', async () => {
    const clientId = 'https://clients.example.org/oauth/client.json';
    const auth = createMcpAuth({
      issuer: ISSUER,
      resources: [RESOURCE],
      scopes: ['mcp:tools:read'],
      rateLimits: { enabled: false },
      log: false,
      clientMetadataDocuments: {
        fetch: (async () =>
          new Response(JSON.stringify({ client_id: clientId, client_name: 'Doc\u202EClient', redirect_uris: [REDIRECT] }), {
            headers: { 'Content-Type': 'application/json' },
          })) as unknown as typeof fetch,
      },
    });
    const url = `/authorize?${form({ response_type: 'code', client_id: clientId, redirect_uri: REDIRECT, code_challenge: (await pkce()).challenge, code_challenge_method: 'S256', resource: RESOURCE })}`;
    const html = await (await auth.app.fetch(new Request(new URL(url, ISSUER)), env)).text();
    expect(html).toMatch(/<span class="host">clients\.example\.org<\/span>/);
    expect(html).not.toContain('\u202E');
  });
});

describe('nothing we sign can pass for an access token (RFC 8725 §2.8, §3.11)', () => {
  it('RFC 8725 §3.11: the consent request is a MAC (HS256) that does not verify against the published JWKS', async () => {
    const { request } = await consentFor();
    expect(decodeProtectedHeader(request).alg).toBe('HS256');
    const jwks = (await (await call('/.well-known/jwks.json')).json()) as { keys: JWK[] };
    await expect(jwtVerify(request, createLocalJWKSet(jwks), { issuer: ISSUER })).rejects.toThrow();
  });

  it('RFC 8725 §2.8: the consent request is refused by verifyAccessToken and by protect(), even presented as at+jwt', async () => {
    const { request } = await consentFor();
    const jwks = (await (await call('/.well-known/jwks.json')).json()) as { keys: JWK[] };
    await expect(verifyAccessToken(request, { issuer: ISSUER, audience: RESOURCE, keys: jwks })).rejects.toThrow();
    await expect(verifyAccessToken(request, { issuer: ISSUER, audience: `${ISSUER}/authorize`, keys: jwks, algorithms: ['ES256'] })).rejects.toThrow();
    // The same signature under a header that claims to be an access token.
    const [, payload, signature] = request.split('.');
    const header = btoa(JSON.stringify({ alg: 'ES256', typ: 'at+jwt' }))
      .replace(/=+$/, '')
      .replace(/\+/g, '-')
      .replace(/\//g, '_');
    await expect(verifyAccessToken(`${header}.${payload}.${signature}`, { issuer: ISSUER, audience: RESOURCE, keys: jwks })).rejects.toThrow();
    const auth = createMcpAuth({ issuer: ISSUER, resources: [RESOURCE], scopes: ['mcp:tools:read'], rateLimits: { enabled: false }, log: false });
    const host = new Hono();
    host.get('/mcp', auth.protect(), (c) => c.text('served'));
    for (const token of [request, `${header}.${payload}.${signature}`]) {
      const res = await host.fetch(new Request(RESOURCE, { headers: { Authorization: `Bearer ${token}` } }), env);
      expect(res.status).toBe(401);
    }
  });

  it('RFC 8725 §3.11: a consent request signed with the access-token key, or with its MAC altered, is refused', async () => {
    const consent = await consentFor();
    const claims = decodeJwt(consent.request);
    const stored = await runInDurableObject(
      env.MCP_AUTH_STATE.get(env.MCP_AUTH_STATE.idFromName(stateObjectName(ISSUER, stateObjectNames.signingKeys()))),
      (_instance, state) =>
        state.storage.sql.exec<{ private_jwk: string; kid: string }>(`SELECT private_jwk, kid FROM signing_key WHERE status = 'current'`).toArray()[0]!,
    );
    const key = await importJWK(JSON.parse(stored.private_jwk) as JWK, 'ES256');
    const signedWithAccessTokenKey = await new SignJWT(claims).setProtectedHeader({ alg: 'ES256', kid: stored.kid, typ: 'mcp-consent-request+jwt' }).sign(key);
    const refused = await decide({ request: signedWithAccessTokenKey, cookie: consent.cookie }, 'approve');
    expect(refused.status).toBe(400);
    expect(refused.headers.get('Location')).toBeNull();
    const [h, p, s] = consent.request.split('.');
    const flipped = `${h}.${p}.${s!.startsWith('A') ? `B${s!.slice(1)}` : `A${s!.slice(1)}`}`;
    const tampered = await decide({ request: flipped, cookie: consent.cookie }, 'approve');
    expect(tampered.status).toBe(400);
    expect(tampered.headers.get('Location')).toBeNull();
    expect((await decide(consent, 'approve')).status).toBe(303); // the genuine one still works
  });

  /** An app of its own issuer (own signing keys), on the test origin, with a clock the test moves. */
  function ownIssuerApp(issuer: string, extra: Partial<Parameters<typeof createMcpAuth>[0]> = {}) {
    let now = Math.floor(Date.now() / 1000);
    const auth = createMcpAuth({
      issuer,
      resources: [`${issuer}/mcp`],
      scopes: ['mcp:tools:read'],
      rateLimits: { enabled: false },
      log: false,
      clock: () => now,
      ...extra,
    });
    const request = (path: string, init: RequestInit = {}) => auth.app.fetch(new Request(new URL(path, ISSUER), { redirect: 'manual', ...init }), env);
    const approveWith = ({ request: jws, cookie }: { request: string; cookie: string }) =>
      request(`${new URL(issuer).pathname}/authorize`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded', Cookie: cookie, Origin: ISSUER },
        body: form({ request: jws, action: 'approve', username: 'alice' }),
      });
    const path = new URL(issuer).pathname;
    /** Registers a client with this issuer and returns its authorization URL path. */
    const authorizePath = async () => {
      const res = await request(`${path}/register`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ redirect_uris: [REDIRECT], token_endpoint_auth_method: 'none' }),
      });
      const client = (await res.json()) as RegisteredClient;
      return authorizeUrl(client, (await pkce()).challenge, { resource: `${issuer}/mcp` }).replace('/authorize', `${path}/authorize`);
    };
    return { request, approveWith, authorizePath, advance: (seconds: number) => void (now += seconds) };
  }

  it('RFC 8725 §3.11: with a signing key from a secret, the consent request is a MAC that the JWKS does not verify, and the flow completes', async () => {
    const issuer = `${ISSUER}/secret-key`;
    const { privateKey } = await generateKeyPair('ES256', { extractable: true });
    const s = ownIssuerApp(issuer, { signing: { privateJwk: await exportJWK(privateKey) } });
    const consent = await consentForm(await s.request(await s.authorizePath()));
    expect(decodeProtectedHeader(consent.request).alg).toBe('HS256');
    const jwks = (await (await s.request('/secret-key/.well-known/jwks.json')).json()) as { keys: JWK[] };
    await expect(jwtVerify(consent.request, createLocalJWKSet(jwks))).rejects.toThrow();
    const approved = await s.approveWith(consent);
    expect(approved.status).toBe(303);
    expect(new URL(approved.headers.get('Location')!).searchParams.get('code')).toBeTruthy();
  });

  it('RFC 8725 §3.11: a consent form shown before a signing-key rotation is still accepted after it (the retired key MAC)', async () => {
    const issuer = `${ISSUER}/rotating`;
    const s = ownIssuerApp(issuer);
    const consent = await consentForm(await s.request(await s.authorizePath()));
    const keysObject = env.MCP_AUTH_STATE.get(env.MCP_AUTH_STATE.idFromName(stateObjectName(issuer, stateObjectNames.signingKeys())));
    await runInDurableObject(keysObject, (instance: McpAuthState) =>
      instance.rotateSigningKeys({ alg: 'ES256', now: Math.floor(Date.now() / 1000), retainSeconds: 3600 }),
    );
    s.advance(301); // past the isolate's key cache: the app now signs with the new key
    const approved = await s.approveWith(consent);
    expect(approved.status).toBe(303);
    const fresh = await consentForm(await s.request(await s.authorizePath()));
    expect((await s.approveWith(fresh)).status).toBe(303);
  });
});

describe('authorization responses are never cached (RFC 9700 §4.2.4, OAuth 2.1 §4.1.2)', () => {
  it('OAuth 2.1 §4.1.2: the 303 with a code after approval sends Cache-Control: no-store', async () => {
    const res = await decide(await consentFor(), 'approve');
    expect(res.status).toBe(303);
    expect(res.headers.get('Cache-Control')).toBe('no-store');
  });

  it('OAuth 2.1 §4.1.2.1: the 303 with error=access_denied after a deny sends Cache-Control: no-store', async () => {
    const res = await decide(await consentFor(), 'deny');
    expect(res.status).toBe(303);
    expect(res.headers.get('Cache-Control')).toBe('no-store');
  });

  it('OAuth 2.1 §4.1.2.1: the 302 error redirect from GET /authorize sends Cache-Control: no-store', async () => {
    const client = await registerClient();
    const res = await call(authorizeUrl(client, (await pkce()).challenge, { scope: 'no-such-scope' }));
    expect(res.status).toBe(302);
    expect(new URL(res.headers.get('Location')!).searchParams.get('error')).toBe('invalid_scope');
    expect(res.headers.get('Cache-Control')).toBe('no-store');
  });

  it('OAuth 2.1 §4.1.2.1: the 302 access_denied redirect when the user is not signed in sends Cache-Control: no-store', async () => {
    const auth = createMcpAuth({
      issuer: ISSUER,
      resources: [RESOURCE],
      scopes: ['mcp:tools:read'],
      principal: customPrincipal(() => undefined),
      rateLimits: { enabled: false },
      log: false,
    });
    const client = await registerClient();
    const res = await auth.app.fetch(new Request(new URL(authorizeUrl(client, (await pkce()).challenge), ISSUER), { redirect: 'manual' }), env);
    expect(res.status).toBe(302);
    expect(res.headers.get('Cache-Control')).toBe('no-store');
  });

  /** Grantex mode with a signed-in user (no consent form of ours), so /authorize goes straight to Grantex. */
  const grantexApp = (sandbox: boolean) => grantexSetup({ sandbox, principal: 'known', maxRetries: 0, scopes: ['mcp:tools:read'] });

  it('OAuth 2.1 §4.1.2: Grantex mode — the redirect to Grantex and the callback 303 with our code send Cache-Control: no-store', async () => {
    const s = grantexApp(false);
    const client = await registerClient();
    const started = await s.request(authorizeUrl(client, (await pkce()).challenge, { scope: 'mcp:tools:read' }));
    expect(started.status).toBe(303);
    expect(started.headers.get('Cache-Control')).toBe('no-store');
    const browser = started.headers
      .getSetCookie()
      .find((c) => c.startsWith('mcp-auth-upstream='))!
      .split(';')[0]!;
    const callback = await consentRedirect(s.fakeFetch, started.headers.get('Location')!);
    const back = await s.request(`${callback.pathname}${callback.search}`, { headers: { Cookie: browser } });
    expect(back.status).toBe(303);
    expect(new URL(back.headers.get('Location')!).searchParams.get('code')).toBeTruthy();
    expect(back.headers.get('Cache-Control')).toBe('no-store');
  });

  it('OAuth 2.1 §4.1.2: Grantex sandbox — the immediate 303 with our code sends Cache-Control: no-store', async () => {
    const s = grantexApp(true);
    const client = await registerClient();
    const res = await s.request(authorizeUrl(client, (await pkce()).challenge, { scope: 'mcp:tools:read' }));
    expect(res.status).toBe(303);
    expect(new URL(res.headers.get('Location')!).searchParams.get('code')).toBeTruthy();
    expect(res.headers.get('Cache-Control')).toBe('no-store');
  });
});

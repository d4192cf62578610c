import { describe, expect, it } from 'vitest';
import { Hono } from 'hono';
import { env } from 'cloudflare:workers';
import { decodeJwt } from 'jose';
import { createMcpAuth } from '../../src/create-mcp-auth';
import type { PrincipalResolver } from '../../src/principal/types';
import { form, pkce, type RegisteredClient } from './helpers';

/**
 * The interactive principal seam: a resolver that sends the browser to a login page (a route of
 * the test's host app) and is asked, when the browser comes back to /authorize/resume, who signed in.
 */
const OPERATOR_SECRET = 'principal-seam-operator-secret-0123456789abcdef';
const CALLBACK = 'http://127.0.0.1:9999/callback';
const START = 1_900_000_000;

/** The test's login flow: the login page sends the browser back with `user` and the resolver's `state`. */
function loginPageResolver(stateSuffix = ''): PrincipalResolver {
  return {
    kind: 'test-login-page',
    allowedOnPublicIssuer: true,
    async resolve({ resumeUrl }) {
      const state = crypto.randomUUID() + stateSuffix;
      return { signInAt: `${new URL(resumeUrl).origin}/test-login?${form({ return_to: resumeUrl, state })}`, state };
    },
    async resume({ request, state }) {
      const url = new URL(request.url);
      const user = url.searchParams.get('user');
      // The login flow's own check (an OIDC `state`): what came back is what we sent.
      if (!user || url.searchParams.get('state') !== state) return undefined;
      return { id: user, displayName: `User ${user}` };
    },
  };
}

function seam(issuer = 'http://localhost:8790', stateSuffix = '') {
  let now = START;
  const auth = createMcpAuth({
    issuer,
    resources: [`${issuer}/mcp`],
    scopes: ['mcp:tools:read'],
    principal: loginPageResolver(stateSuffix),
    rateLimits: { enabled: false },
    operator: { secret: OPERATOR_SECRET },
    log: false,
    clock: () => now,
  });
  const host = new Hono();
  host.route('/', auth.app);
  // The fake login page: whoever "signs in" is sent back to the resume URL with the state.
  host.get('/test-login', (c) => {
    const returnTo = new URL(c.req.query('return_to')!);
    returnTo.searchParams.set('user', c.req.query('as') ?? 'alice');
    returnTo.searchParams.set('state', c.req.query('state')!);
    return c.redirect(returnTo.href, 302);
  });
  const request = (path: string, init: RequestInit = {}) => host.fetch(new Request(new URL(path, issuer), { redirect: 'manual', ...init }), env);
  const register = async (redirectUri = CALLBACK): Promise<RegisteredClient> => {
    const res = await request('/register', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ redirect_uris: [redirectUri], token_endpoint_auth_method: 'none', client_name: 'Seam Client' }),
    });
    expect(res.status).toBe(201);
    return res.json();
  };
  const authorizePath = (client: RegisteredClient, challenge: string, extra: Record<string, string> = {}) =>
    `/authorize?${form({ response_type: 'code', client_id: client.client_id, redirect_uri: client.redirect_uris[0], code_challenge: challenge, code_challenge_method: 'S256', state: 'client-state', resource: `${issuer}/mcp`, ...extra })}`;
  /** GET /authorize → the login page → back to our resume URL: the resume request and the pending cookie. */
  const toResume = async (client: RegisteredClient, challenge: string, as = 'alice') => {
    const started = await request(authorizePath(client, challenge));
    expect(started.status).toBe(302);
    expect(started.headers.get('Cache-Control')).toBe('no-store');
    const setCookie = started.headers.get('Set-Cookie')!;
    const login = new URL(started.headers.get('Location')!);
    expect(login.pathname).toBe('/test-login');
    login.searchParams.set('as', as);
    const back = await request(login.pathname + login.search);
    expect(back.status).toBe(302);
    const resume = new URL(back.headers.get('Location')!);
    expect(resume.href.startsWith(`${issuer}/authorize/resume?`)).toBe(true);
    return { resumePath: resume.pathname + resume.search, cookie: setCookie.split(';')[0]!, setCookie };
  };
  const deleteClient = (client: RegisteredClient) =>
    request(`/operator/clients?${form({ client_id: client.client_id })}`, { method: 'DELETE', headers: { Authorization: `Bearer ${OPERATOR_SECRET}` } });
  return { request, register, authorizePath, toResume, deleteClient, advance: (seconds: number) => void (now += seconds) };
}

/** A refusal is a page of ours: no redirect anywhere, no code. */
async function expectRefusalPage(res: Response, status: number, text: string) {
  expect(res.status).toBe(status);
  expect(res.headers.get('Location')).toBeNull();
  expect(res.headers.get('Content-Type')).toMatch(/^text\/html/);
  const body = await res.text();
  expect(body).toContain(text);
  expect(body).not.toContain('name="request"');
}

describe('a principal that redirects to a login page and resumes', () => {
  it('the flow reaches the consent page, a code and a token whose sub is the user the login page signed in', async () => {
    const s = seam();
    const client = await s.register();
    const { verifier, challenge } = await pkce();
    const { resumePath, cookie, setCookie } = await s.toResume(client, challenge, 'carol');
    // The pending authorization is bound to this browser: HttpOnly, Lax, whole site, 10 minutes.
    expect(setCookie).toMatch(/^mcp-auth-sign-in=/);
    expect(setCookie).toMatch(/HttpOnly/);
    expect(setCookie).toMatch(/SameSite=Lax/);
    expect(setCookie).toMatch(/Path=\//);
    expect(setCookie).toMatch(/Max-Age=600/);

    const page = await s.request(resumePath, { headers: { Cookie: cookie } });
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('Signed in as <strong>User carol</strong>');
    expect(html).not.toContain('name="username"');
    // The pending cookie is cleared; the consent cookie is set.
    const cookies = page.headers.getSetCookie();
    expect(cookies.some((c) => /^mcp-auth-sign-in=;.*Max-Age=0/.test(c))).toBe(true);
    const consentCookie = cookies.find((c) => c.startsWith('mcp-auth-consent='))!.split(';')[0]!;
    const request = /name="request" value="([^"]+)"/.exec(html)![1]!;
    const principal = /name="principal" value="([^"]+)"/.exec(html)![1]!;

    const decided = await s.request('/authorize', {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', Cookie: consentCookie, Origin: 'http://localhost:8790' },
      body: form({ request, principal, action: 'approve' }),
    });
    expect(decided.status).toBe(303);
    const location = new URL(decided.headers.get('Location')!);
    expect(location.origin + location.pathname).toBe(CALLBACK);
    expect(location.searchParams.get('state')).toBe('client-state');
    const code = location.searchParams.get('code')!;
    expect(code).toBeTruthy();

    const token = await s.request('/token', {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: form({
        grant_type: 'authorization_code',
        code,
        code_verifier: verifier,
        client_id: client.client_id,
        redirect_uri: CALLBACK,
        resource: 'http://localhost:8790/mcp',
      }),
    });
    expect(token.status).toBe(200);
    expect(decodeJwt(((await token.json()) as { access_token: string }).access_token).sub).toBe('carol');
  });

  it('the resolver answering nobody on resume sends access_denied to the (re-validated) client', async () => {
    const s = seam();
    const client = await s.register();
    const { resumePath, cookie } = await s.toResume(client, (await pkce()).challenge);
    const forged = new URL(resumePath, 'http://localhost:8790');
    forged.searchParams.set('state', 'not-the-state-we-sent');
    const res = await s.request(forged.pathname + forged.search, { headers: { Cookie: cookie } });
    expect(res.status).toBe(302);
    const location = new URL(res.headers.get('Location')!);
    expect(location.searchParams.get('error')).toBe('access_denied');
    expect(location.searchParams.get('code')).toBeNull();
    expect(location.searchParams.get('state')).toBe('client-state');
  });

  it('RFC 9700 §4.12: a replayed resume (the same cookie and URL again) gets an error page, never a consent page or a code', async () => {
    const s = seam();
    const client = await s.register();
    const { resumePath, cookie } = await s.toResume(client, (await pkce()).challenge);
    expect((await s.request(resumePath, { headers: { Cookie: cookie } })).status).toBe(200);
    await expectRefusalPage(await s.request(resumePath, { headers: { Cookie: cookie } }), 400, 'already used');
  });

  it('a resume without the pending cookie (another browser) gets an error page', async () => {
    const s = seam();
    const client = await s.register();
    const { resumePath } = await s.toResume(client, (await pkce()).challenge);
    await expectRefusalPage(await s.request(resumePath), 403, 'does not belong to this browser session');
  });

  it('RFC 8725 §3.11: a forged pending state (MAC altered, or a consent form in its place) gets an error page', async () => {
    const s = seam();
    const client = await s.register();
    const { resumePath, cookie } = await s.toResume(client, (await pkce()).challenge);
    const [name, jws] = cookie.split('=') as [string, string];
    const [header, payload, signature] = jws.split('.') as [string, string, string];
    const altered = `${header}.${payload}.${signature.startsWith('A') ? 'B' : 'A'}${signature.slice(1)}`;
    await expectRefusalPage(await s.request(resumePath, { headers: { Cookie: `${name}=${altered}` } }), 400, 'expired or was tampered with');
    // A payload swapped for another client's request under the original MAC.
    const other = btoa(JSON.stringify({ ...decodeJwt(jws), req: { ...(decodeJwt(jws).req as object), redirectUri: 'https://attacker.example/cb' } }))
      .replace(/=+$/, '')
      .replace(/\+/g, '-')
      .replace(/\//g, '_');
    await expectRefusalPage(
      await s.request(resumePath, { headers: { Cookie: `${name}=${header}.${other}.${signature}` } }),
      400,
      'expired or was tampered with',
    );

    // A consent form's request (the same MAC keys and clock, another typ and audience) is not a pending sign-in.
    const devAuth = createMcpAuth({
      issuer: 'http://localhost:8790',
      resources: ['http://localhost:8790/mcp'],
      scopes: ['mcp:tools:read'],
      rateLimits: { enabled: false },
      log: false,
      clock: () => START,
    });
    const page = await devAuth.app.fetch(
      new Request(new URL(s.authorizePath(client, (await pkce()).challenge), 'http://localhost:8790'), { redirect: 'manual' }),
      env,
    );
    const consentRequest = /name="request" value="([^"]+)"/.exec(await page.text())![1]!;
    await expectRefusalPage(await s.request(resumePath, { headers: { Cookie: `${name}=${consentRequest}` } }), 400, 'expired or was tampered with');
  });

  it('an expired pending state (past its 10 minutes) gets an error page', async () => {
    const s = seam();
    const client = await s.register();
    const { resumePath, cookie } = await s.toResume(client, (await pkce()).challenge);
    s.advance(601);
    await expectRefusalPage(await s.request(resumePath, { headers: { Cookie: cookie } }), 400, 'expired or was tampered with');
  });

  it('OAuth 2.1 §4.1.2.1: a resume for a client deleted meanwhile gets an error page, never a redirect to it', async () => {
    const s = seam();
    const client = await s.register();
    const { resumePath, cookie } = await s.toResume(client, (await pkce()).challenge);
    expect((await s.deleteClient(client)).status).toBe(200);
    await expectRefusalPage(await s.request(resumePath, { headers: { Cookie: cookie } }), 400, 'not registered');
  });

  it('the signed-in user travels with its own consent form only: swapped or altered, the approval is refused', async () => {
    const s = seam();
    const client = await s.register();
    const consentOf = async (as: string) => {
      const { resumePath, cookie } = await s.toResume(client, (await pkce()).challenge, as);
      const page = await s.request(resumePath, { headers: { Cookie: cookie } });
      const html = await page.text();
      return {
        request: /name="request" value="([^"]+)"/.exec(html)![1]!,
        principal: /name="principal" value="([^"]+)"/.exec(html)![1]!,
        cookie: page.headers
          .getSetCookie()
          .find((c) => c.startsWith('mcp-auth-consent='))!
          .split(';')[0]!,
      };
    };
    const alice = await consentOf('alice');
    const mallory = await consentOf('mallory');
    const post = (values: Record<string, string>, cookie: string) =>
      s.request('/authorize', {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded', Cookie: cookie, Origin: 'http://localhost:8790' },
        body: form({ ...values, action: 'approve' }),
      });
    // Mallory's form with Alice's signed-in user: bound to another form.
    await expectRefusalPage(await post({ request: mallory.request, principal: alice.principal }, mallory.cookie), 400, 'expired or was tampered with');
    await expectRefusalPage(await post({ request: alice.request, principal: `${alice.principal}x` }, alice.cookie), 400, 'expired or was tampered with');
    // Without the signed-in user the resolver is asked; its answer on a POST is a login page, so nobody.
    const anonymous = await post({ request: mallory.request }, mallory.cookie);
    expect(anonymous.status).toBe(303);
    expect(new URL(anonymous.headers.get('Location')!).searchParams.get('error')).toBe('access_denied');
    // Alice's own form still works: the refusals above did not use it up.
    const approved = await post({ request: alice.request, principal: alice.principal }, alice.cookie);
    expect(approved.status).toBe(303);
    expect(new URL(approved.headers.get('Location')!).searchParams.get('code')).toBeTruthy();
  });

  it('on an https issuer the pending cookie is __Host- and Secure', async () => {
    const s = seam('https://auth.example.com');
    const client = await s.register();
    const started = await s.request(s.authorizePath(client, (await pkce()).challenge));
    expect(started.status).toBe(302);
    const setCookie = started.headers.get('Set-Cookie')!;
    expect(setCookie).toMatch(/^__Host-mcp-auth-sign-in=/);
    expect(setCookie).toMatch(/Secure/);
    expect(setCookie).toMatch(/Path=\//);
    expect(setCookie).not.toMatch(/Domain=/);
  });

  it('a request too large for the pending cookie is answered to the client (invalid_request), not lost in the browser', async () => {
    // The longest registrable redirect URI, a client state and a resolver state of 1024: past 4000 bytes once MACed.
    const s = seam('http://localhost:8790', 's'.repeat(1024 - 36));
    const longRedirect = `http://127.0.0.1:9999/${'p'.repeat(1000 - 'http://127.0.0.1:9999/'.length)}`;
    const client = await s.register(longRedirect);
    const res = await s.request(s.authorizePath(client, (await pkce()).challenge, { state: 'x'.repeat(1024) }));
    expect(res.status).toBe(302);
    expect(res.headers.get('Set-Cookie')).toBeNull();
    const location = new URL(res.headers.get('Location')!);
    expect(location.href.startsWith(longRedirect)).toBe(true);
    expect(location.searchParams.get('error')).toBe('invalid_request');
    expect(location.searchParams.get('state')).toBe('x'.repeat(1024));
  });

  it('the resume route exists only for a resolver that resumes', async () => {
    const auth = createMcpAuth({
      issuer: 'http://localhost:8790',
      resources: ['http://localhost:8790/mcp'],
      scopes: ['mcp:tools:read'],
      rateLimits: { enabled: false },
      log: false,
    });
    expect((await auth.app.fetch(new Request('http://localhost:8790/authorize/resume'), env)).status).toBe(404);
  });
});

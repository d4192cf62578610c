import { describe, expect, it } from 'vitest';
import { ISSUER, REDIRECT, RESOURCE, approve, authorizeUrl, call, consentForm, pkce, postForm, registerClient } from './helpers';

async function challenge() {
  return (await pkce()).challenge;
}

function errorLocation(res: Response): URL {
  expect(res.status).toBe(302);
  return new URL(res.headers.get('Location')!);
}

describe('GET /authorize: the client and redirect URI are checked before anything is redirected', () => {
  it('AS-6: an unknown client gets an error page and is never redirected', async () => {
    const res = await call(
      `/authorize?response_type=code&client_id=nobody&redirect_uri=${encodeURIComponent(REDIRECT)}&code_challenge=x&code_challenge_method=S256`,
    );
    expect(res.status).toBe(400);
    expect(res.headers.get('Location')).toBeNull();
    expect(res.headers.get('Content-Type')).toContain('text/html');
    expect(await res.text()).toContain('not registered');
  });

  it('AS-6: a redirect URI that does not match the registration gets an error page, never a redirect (no open redirect)', async () => {
    const client = await registerClient();
    for (const redirect of [
      'https://evil.example/callback',
      'http://127.0.0.1:9999/callback/extra',
      'http://127.0.0.1:9999/callback?x=1',
      'http://localhost:9999/callback',
    ]) {
      const res = await call(authorizeUrl(client, await challenge(), { redirect_uri: redirect }));
      expect(res.status, redirect).toBe(400);
      expect(res.headers.get('Location'), redirect).toBeNull();
    }
  });

  it('AS-6 (RFC 8252 §7.3): the port of a loopback redirect URI may vary', async () => {
    const client = await registerClient();
    const res = await call(authorizeUrl(client, await challenge(), { redirect_uri: 'http://127.0.0.1:51234/callback' }));
    expect(res.status).toBe(200);
  });

  it('AS-6: the port of an https redirect URI may not vary', async () => {
    const client = await registerClient({ redirect_uris: ['https://app.example.com/cb'] });
    const res = await call(authorizeUrl(client, await challenge(), { redirect_uri: 'https://app.example.com:8443/cb' }));
    expect(res.status).toBe(400);
  });

  it('OAuth 2.1 §4.1.1: redirect_uri may be omitted when exactly one is registered', async () => {
    const client = await registerClient();
    const res = await call(authorizeUrl(client, await challenge(), { redirect_uri: undefined }).replace(/&redirect_uri=[^&]*/, ''));
    expect(res.status).toBe(200);
  });
});

describe('GET /authorize: errors after validation redirect with error, state and iss', () => {
  const cases: [string, Record<string, string | undefined>, string][] = [
    ['AS-5: a missing code_challenge is rejected', { code_challenge: undefined }, 'invalid_request'],
    ['AS-5: code_challenge_method plain is rejected', { code_challenge_method: 'plain' }, 'invalid_request'],
    ['AS-5: a missing code_challenge_method is rejected (S256 required)', { code_challenge_method: undefined }, 'invalid_request'],
    ['OAuth 2.1 §4.1.2.1: response_type token is unsupported', { response_type: 'token' }, 'unsupported_response_type'],
    ['RFC 6749 §3.3: an unknown scope is invalid_scope', { scope: 'mcp:tools:read admin' }, 'invalid_scope'],
    ['AS-8 (RFC 8707): an unknown resource is invalid_target', { resource: 'https://other.example/mcp' }, 'invalid_target'],
    ['AS-8 (RFC 8707 §2): a resource with a fragment is invalid_target', { resource: `${RESOURCE}#x` }, 'invalid_target'],
  ];
  for (const [name, params, error] of cases) {
    it(name, async () => {
      const client = await registerClient();
      const url = authorizeUrl(client, await challenge(), params);
      const location = errorLocation(await call(url));
      expect(`${location.origin}${location.pathname}`).toBe(REDIRECT);
      expect(location.searchParams.get('error')).toBe(error);
      expect(location.searchParams.get('error_description')).toBeTruthy();
      expect(location.searchParams.get('state')).toBe('state-123');
      expect(location.searchParams.get('iss')).toBe(ISSUER); // AS-7, RFC 9207 §2
    });
  }

  it('AS-8: two resources in one authorization request are invalid_target', async () => {
    const client = await registerClient();
    const url = `${authorizeUrl(client, await challenge())}&resource=${encodeURIComponent('http://localhost:8787/other')}`;
    expect(errorLocation(await call(url)).searchParams.get('error')).toBe('invalid_target');
  });

  it('RFC 6749 §3.1: a repeated parameter is refused without redirecting', async () => {
    const client = await registerClient();
    const res = await call(`${authorizeUrl(client, await challenge())}&state=again`);
    expect(res.status).toBe(400);
    expect(res.headers.get('Location')).toBeNull();
  });

  it('AS-8 (MCP): the resource compares case-insensitively on scheme and host', async () => {
    const client = await registerClient();
    const res = await call(authorizeUrl(client, await challenge(), { resource: 'HTTP://LOCALHOST:8787/mcp' }));
    expect(res.status).toBe(200);
  });

  it('OAuth 2.1: prompt=consent is tolerated and state is optional', async () => {
    const client = await registerClient();
    const res = await call(authorizeUrl(client, await challenge(), { prompt: 'consent', state: undefined }));
    expect(res.status).toBe(200);
  });
});

describe('consent page', () => {
  it('AS-9: shows the client name and the redirect host, warns about a localhost-only client, and lists each scope', async () => {
    const client = await registerClient({ client_name: 'Inspector <b>' });
    const res = await call(authorizeUrl(client, await challenge(), { scope: 'mcp:tools:read' }));
    const html = await res.text();
    expect(html).toContain('Inspector &lt;b&gt;'); // escaped
    expect(html).toContain('127.0.0.1:9999');
    expect(html).toContain('Local application');
    expect(html).toContain('mcp:tools:read');
    expect(html).not.toContain('mcp:tools:write');
    expect(html).toContain('name="username"'); // development sign-in on a localhost issuer
  });

  it('AS-9: no localhost warning for an https client', async () => {
    const client = await registerClient({ redirect_uris: ['https://app.example.com/cb'] });
    const html = await (await call(authorizeUrl(client, await challenge()))).text();
    expect(html).toContain('app.example.com');
    expect(html).not.toContain('Local application');
  });

  it('AS-9 (RFC 9700 §4.16): anti-framing headers and a script-free CSP', async () => {
    const client = await registerClient();
    const res = await call(authorizeUrl(client, await challenge()));
    expect(res.headers.get('X-Frame-Options')).toBe('DENY');
    const csp = res.headers.get('Content-Security-Policy')!;
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain("default-src 'none'");
    expect(csp).not.toContain('script-src');
    expect(res.headers.get('Cache-Control')).toBe('no-store');
  });

  it('AS-9: the CSRF cookie is HttpOnly and SameSite=Lax (and not Secure only on http localhost)', async () => {
    const client = await registerClient();
    const res = await call(authorizeUrl(client, await challenge()));
    const cookie = res.headers.get('Set-Cookie')!;
    expect(cookie).toMatch(/^mcp-auth-consent=/);
    expect(cookie).toContain('HttpOnly');
    expect(cookie).toContain('SameSite=Lax');
    expect(cookie).toContain('Path=/');
  });

  it('AS-18 (RFC 9700 §2.6): the authorization endpoint sends no CORS headers', async () => {
    const client = await registerClient();
    const res = await call(authorizeUrl(client, await challenge()), { headers: { Origin: 'https://evil.example' } });
    expect(res.headers.get('Access-Control-Allow-Origin')).toBeNull();
  });
});

describe('POST /authorize: the consent decision', () => {
  it('AS-9 (RFC 9700 §4.12): approve answers 303 to the redirect URI with code, state and iss', async () => {
    const client = await registerClient();
    const location = await approve(authorizeUrl(client, await challenge()));
    expect(`${location.origin}${location.pathname}`).toBe(REDIRECT);
    expect(location.searchParams.get('code')).toMatch(/^[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}$/);
    expect(location.searchParams.get('state')).toBe('state-123');
    expect(location.searchParams.get('iss')).toBe(ISSUER);
  });

  it('AS-9: deny answers 303 with error=access_denied, state and iss', async () => {
    const client = await registerClient();
    const location = await approve(authorizeUrl(client, await challenge()), { action: 'deny' });
    expect(location.searchParams.get('error')).toBe('access_denied');
    expect(location.searchParams.get('state')).toBe('state-123');
    expect(location.searchParams.get('iss')).toBe(ISSUER);
    expect(location.searchParams.get('code')).toBeNull();
  });

  it('AS-9 (CSRF): an approval without the browser cookie is refused', async () => {
    const client = await registerClient();
    const { request } = await consentForm(await call(authorizeUrl(client, await challenge())));
    const res = await postForm('/authorize', { request, action: 'approve', username: 'mallory' });
    expect(res.status).toBe(403);
    expect(res.headers.get('Location')).toBeNull();
  });

  it('AS-9 (CSRF): a cookie from another authorization request does not approve this one', async () => {
    const client = await registerClient();
    const first = await consentForm(await call(authorizeUrl(client, await challenge())));
    const second = await consentForm(await call(authorizeUrl(client, await challenge())));
    const res = await postForm('/authorize', { request: first.request, action: 'approve', username: 'a' }, { Cookie: second.cookie });
    expect(res.status).toBe(403);
  });

  it('AS-9 (CSRF): a cross-site form post is refused (Origin / Sec-Fetch-Site)', async () => {
    const client = await registerClient();
    const { request, cookie } = await consentForm(await call(authorizeUrl(client, await challenge())));
    const crossOrigin = await postForm('/authorize', { request, action: 'approve', username: 'a' }, { Cookie: cookie, Origin: 'https://evil.example' });
    expect(crossOrigin.status).toBe(403);
    const crossSite = await postForm('/authorize', { request, action: 'approve', username: 'a' }, { Cookie: cookie, 'Sec-Fetch-Site': 'cross-site' });
    expect(crossSite.status).toBe(403);
  });

  it('AS-9: a tampered authorization request is refused', async () => {
    const client = await registerClient();
    const { request, cookie } = await consentForm(await call(authorizeUrl(client, await challenge())));
    const [h, p, s] = request.split('.');
    const payload = JSON.parse(atob(p!.replace(/-/g, '+').replace(/_/g, '/')));
    payload.req.redirectUri = 'https://evil.example/cb';
    const forged = `${h}.${btoa(JSON.stringify(payload)).replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_')}.${s}`;
    const res = await postForm('/authorize', { request: forged, action: 'approve', username: 'a' }, { Cookie: cookie });
    expect(res.status).toBe(400);
    expect(res.headers.get('Location')).toBeNull();
  });

  it('development sign-in: approval needs a name', async () => {
    const client = await registerClient();
    const { request, cookie } = await consentForm(await call(authorizeUrl(client, await challenge())));
    const res = await postForm('/authorize', { request, action: 'approve', username: '' }, { Cookie: cookie });
    expect(res.status).toBe(400);
  });
});

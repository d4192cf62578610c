// Grantex consent on its real origin: the consent URL Grantex returns is followed only on the
// configured consent origins, and our consent form's CSP form-action allows exactly those.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { grantex } from '../../src/authority/grantex/config';
import { grantexFromEnv, type WorkerEnv } from '../../src/env';
import { ISSUER, REDIRECT, authorizeUrl, consentForm, pkce, registerClient } from './helpers';
import { GRANTEX, grantexSetup } from './grantex-setup';
import { formatLogLine, type Logger } from '../../src/log';

const REQUIRED = { apiKey: 'gx_test_fake_grantex_key_0001', agentId: 'ag_1', developerId: 'dev_1' };

/** The sources a CSP directive lists. */
function directive(res: Response, name: string): string[] {
  const policy = res.headers.get('Content-Security-Policy') ?? '';
  const found = policy
    .split(';')
    .map((part) => part.trim().split(/\s+/))
    .find(([directiveName]) => directiveName === name);
  return found ? found.slice(1) : [];
}

/** Our consent page, then its form approved with the development sign-in: the answer to the POST. */
async function signIn(s: ReturnType<typeof grantexSetup>) {
  const client = await registerClient();
  const page = await s.request(authorizeUrl(client, (await pkce()).challenge));
  const { request, cookie } = await consentForm(page.clone());
  const posted = await s.postForm('/authorize', { request, action: 'approve', username: 'alice' }, { Cookie: cookie, Origin: ISSUER });
  return { page, posted };
}

afterEach(() => vi.restoreAllMocks());

describe('Grantex consent origins', () => {
  it('the default consent origins of https://api.example.com are its own origin and https://example.com (API and consent site of the reference service)', () => {
    expect(grantex({ ...REQUIRED, baseUrl: 'https://api.example.com' }).consentOrigins).toEqual(['https://api.example.com', 'https://example.com']);
    expect(grantex({ ...REQUIRED, baseUrl: 'https://api.grantex.dev/' }).consentOrigins).toEqual(['https://api.grantex.dev', 'https://grantex.dev']);
    // Only an api.<domain> host names a consent site; a single-label rest is no domain.
    expect(grantex({ ...REQUIRED, baseUrl: 'https://grantex.example.com' }).consentOrigins).toEqual(['https://grantex.example.com']);
    expect(grantex({ ...REQUIRED, baseUrl: 'https://api.internal' }).consentOrigins).toEqual(['https://api.internal']);
    expect(grantex({ ...REQUIRED, baseUrl: 'http://127.0.0.1:8788' }).consentOrigins).toEqual(['http://127.0.0.1:8788']);
    // Given explicitly, the list replaces the default, normalised to origins.
    expect(
      grantex({ ...REQUIRED, baseUrl: 'https://api.example.com', consentOrigins: ['https://Consent.Example.com/', 'http://localhost:9000'] }).consentOrigins,
    ).toEqual(['https://consent.example.com', 'http://localhost:9000']);
  });

  it('construction errors: every consent origin is an https origin (http only on loopback), the list is not empty, the old single-value option is refused', () => {
    const bad: unknown[] = [
      'http://grantex.example.com',
      'https://grantex.dev/consent',
      'https://grantex.dev?x=1',
      'https://grantex.dev/#top',
      'https://user:secret@grantex.dev',
      'javascript:alert(1)',
      'data:text/html,hi',
      'grantex.dev',
      '',
      42,
    ];
    for (const origin of bad)
      expect(() => grantex({ ...REQUIRED, baseUrl: 'https://api.grantex.dev', consentOrigins: [origin as string] }), String(origin)).toThrow(TypeError);
    expect(() => grantex({ ...REQUIRED, baseUrl: 'https://api.grantex.dev', consentOrigins: ['http://evil.example'] })).toThrow(
      /consentOrigins.*https.*"http:\/\/evil.example"/,
    );
    expect(() => grantex({ ...REQUIRED, baseUrl: 'https://api.grantex.dev', consentOrigins: [] })).toThrow(/consentOrigins/);
    expect(() => grantex({ ...REQUIRED, baseUrl: 'https://api.grantex.dev', consentOrigin: 'https://grantex.dev' } as Parameters<typeof grantex>[0])).toThrow(
      /consentOrigins/,
    );
    const client = grantex({ ...REQUIRED, baseUrl: 'https://api.grantex.dev' }).api;
    expect(() => grantex({ ...REQUIRED, client, jwksUri: 'https://api.grantex.dev/.well-known/jwks.json' })).toThrow(/consentOrigins/);
    for (const loopback of ['http://localhost:8788', 'http://127.0.0.1:1', 'http://[::1]:3000'])
      expect(grantex({ ...REQUIRED, baseUrl: 'https://api.grantex.dev', consentOrigins: [loopback] }).consentOrigins).toEqual([loopback]);
  });

  it('GRANTEX_CONSENT_ORIGINS is a comma-separated list; the old GRANTEX_CONSENT_ORIGIN is refused with its new name', () => {
    const env: WorkerEnv = {
      ISSUER,
      GRANTEX_BASE_URL: 'https://api.grantex.dev',
      GRANTEX_AGENT_ID: 'ag_1',
      GRANTEX_DEVELOPER_ID: 'dev_1',
      GRANTEX_API_KEY: REQUIRED.apiKey,
    };
    expect(grantexFromEnv(env)!.consentOrigins).toEqual(['https://api.grantex.dev', 'https://grantex.dev']);
    expect(grantexFromEnv({ ...env, GRANTEX_CONSENT_ORIGINS: 'https://consent.example.com, http://localhost:9000' })!.consentOrigins).toEqual([
      'https://consent.example.com',
      'http://localhost:9000',
    ]);
    expect(() => grantexFromEnv({ ...env, GRANTEX_CONSENT_ORIGINS: 'https://consent.example.com,http://consent.example.com' })).toThrow(/consentOrigins/);
    expect(() => grantexFromEnv({ ...env, GRANTEX_CONSENT_ORIGIN: 'https://grantex.dev' })).toThrow(/GRANTEX_CONSENT_ORIGINS/);
  });

  it('consent on a separate origin of the default list: the form POST answers 303 there, the page CSP allowed it, and the sign-in completes', async () => {
    // Configured as a user would: only baseUrl (api.<domain>); the fake's consent pages on <domain>.
    const s = grantexSetup({ apiBaseUrl: 'https://api.grantex.test', consentBaseUrl: GRANTEX });
    const { page, posted } = await signIn(s);
    expect(new Set(directive(page, 'form-action'))).toEqual(new Set(["'self'", new URL(REDIRECT).origin, 'https://api.grantex.test', GRANTEX]));
    expect(posted.status).toBe(303);
    const consentUrl = new URL(posted.headers.get('Location')!);
    expect(consentUrl.origin).toBe(GRANTEX);
    expect(consentUrl.pathname).toBe('/consent');
    const browser = posted.headers
      .getSetCookie()
      .find((c) => c.startsWith('mcp-auth-upstream='))!
      .split(';')[0]!;

    // The consent page approves through the public consent API, then sends the browser back.
    const approved = (await (
      await s.fakeFetch(`https://api.grantex.test/v1/consent/${consentUrl.searchParams.get('req')}/approve`, { method: 'POST' })
    ).json()) as { code: string; redirectUri: string; state: string };
    const callback = new URL(approved.redirectUri);
    callback.search = new URLSearchParams({ code: approved.code, state: approved.state }).toString();
    const back = await s.request(`${callback.pathname}${callback.search}`, { headers: { Cookie: browser } });
    expect(back.status).toBe(303);
    const landed = new URL(back.headers.get('Location')!);
    expect(landed.origin + landed.pathname).toBe(REDIRECT);
    expect(landed.searchParams.get('code')).toBeTruthy();
  });

  it('a consent URL on an unlisted origin is never followed: server_error at the client redirect URI, a warning names the origin, the CSP never allowed it', async () => {
    // The server's warnings, as its logger receives them (one JSON line each, as on the console).
    const warnings: string[] = [];
    const logger: Logger = { info: () => {}, warn: (message, fields) => void warnings.push(formatLogLine('warn', message, fields)), error: () => {} };
    const s = grantexSetup({ consentBaseUrl: 'https://attacker.example', logger });
    const { page, posted } = await signIn(s);
    expect(directive(page, 'form-action')).not.toContain('https://attacker.example');
    expect(posted.status).toBe(303);
    const location = new URL(posted.headers.get('Location')!);
    expect(location.origin + location.pathname).toBe(REDIRECT);
    expect(location.searchParams.get('error')).toBe('server_error');
    expect(location.searchParams.get('state')).toBe('state-123');
    expect(posted.headers.getSetCookie().some((c) => c.startsWith('mcp-auth-upstream=') && !c.startsWith('mcp-auth-upstream=;'))).toBe(false);
    const warning = warnings.map((line) => JSON.parse(line) as Record<string, unknown>).find((line) => line.msg === 'consent URL outside the consent origins');
    expect(warning).toMatchObject({ level: 'warn', consentOrigin: 'https://attacker.example', consentOrigins: [GRANTEX] });

    // A user already known (no form): GET /authorize goes to Grantex at once, and is refused the same way.
    const known = grantexSetup({ consentBaseUrl: 'https://attacker.example', principal: 'known' });
    const direct = await known.request(authorizeUrl(await registerClient(), (await pkce()).challenge));
    expect(direct.status).toBe(303);
    expect(new URL(direct.headers.get('Location')!).searchParams.get('error')).toBe('server_error');
    expect(direct.headers.get('Location')!.startsWith(REDIRECT)).toBe(true);
  });
});

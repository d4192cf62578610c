import { describe, expect, it } from 'vitest';
import { OAuthError } from '../../src/errors';
import { decideCodeRedemption, type CodeRedemptionInput } from '../../src/grants/authorization-code';
import type { GrantRecord, RefreshTokenRow } from '../../src/grants/grant-record';
import { decideRefresh, type RefreshInput } from '../../src/grants/refresh-token';
import { checkCodeChallenge, checkCodeVerifier, s256 } from '../../src/protocol/pkce';
import { checkRedirectUriSyntax, isLoopbackHost, matchRedirectUri } from '../../src/protocol/redirect-uri';
import { canonicalResource, resolveResource, sameResource } from '../../src/protocol/resource';
import { narrowScopes, parseScope, resolveRequestedScopes } from '../../src/protocol/scope';
import { extractClientCredentials } from '../../src/protocol/client-auth';
import { decideRateLimit } from '../../src/rate-limit/limits';
import { NOW, grantRecord, redemptionInput } from './grant-fixture';

/** Runs `fn` and returns the OAuthError it throws (fails the test when it throws nothing else). */
function oauthErrorOf(fn: () => unknown): OAuthError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(OAuthError);
    return err as OAuthError;
  }
  throw new Error('expected an OAuthError, but nothing was thrown');
}

describe('matchRedirectUri: exact match, loopback port may vary (AS-6, RFC 8252 §7.3, OAuth 2.1 §8.4.2)', () => {
  const cases: [string, string, string[], string | undefined][] = [
    ['exact https match', 'https://app.example.com/cb', ['https://app.example.com/cb'], 'https://app.example.com/cb'],
    ['exact match among several', 'https://b.example.com/cb', ['https://a.example.com/cb', 'https://b.example.com/cb'], 'https://b.example.com/cb'],
    ['127.0.0.1 with another port', 'http://127.0.0.1:51234/cb', ['http://127.0.0.1:9999/cb'], 'http://127.0.0.1:9999/cb'],
    ['127.0.0.1 registered without port', 'http://127.0.0.1:51234/cb', ['http://127.0.0.1/cb'], 'http://127.0.0.1/cb'],
    ['127.0.0.1 requested without port', 'http://127.0.0.1/cb', ['http://127.0.0.1:9999/cb'], 'http://127.0.0.1:9999/cb'],
    ['localhost with another port', 'http://localhost:3000/cb', ['http://localhost:8080/cb'], 'http://localhost:8080/cb'],
    ['[::1] with another port', 'http://[::1]:3000/cb', ['http://[::1]:8080/cb'], 'http://[::1]:8080/cb'],
    ['loopback with a query, port varies', 'http://127.0.0.1:1/cb?a=1', ['http://127.0.0.1:2/cb?a=1'], 'http://127.0.0.1:2/cb?a=1'],
    ['loopback path differs', 'http://127.0.0.1:3000/other', ['http://127.0.0.1:9999/cb'], undefined],
    ['loopback trailing slash differs', 'http://127.0.0.1:3000/cb/', ['http://127.0.0.1:9999/cb'], undefined],
    ['loopback query differs', 'http://127.0.0.1:3000/cb?a=2', ['http://127.0.0.1:9999/cb?a=1'], undefined],
    ['loopback query added', 'http://127.0.0.1:9999/cb?a=1', ['http://127.0.0.1:9999/cb'], undefined],
    ['loopback host differs (localhost vs 127.0.0.1)', 'http://localhost:9999/cb', ['http://127.0.0.1:9999/cb'], undefined],
    ['loopback host case differs', 'http://LOCALHOST:3000/cb', ['http://localhost:8080/cb'], undefined],
    ['https path differs', 'https://app.example.com/cb2', ['https://app.example.com/cb'], undefined],
    ['https query differs', 'https://app.example.com/cb?x=1', ['https://app.example.com/cb'], undefined],
    ['https port may not vary', 'https://app.example.com:8443/cb', ['https://app.example.com/cb'], undefined],
    ['https port may not vary (both explicit)', 'https://app.example.com:8443/cb', ['https://app.example.com:9443/cb'], undefined],
    ['https on a loopback host: port may not vary', 'https://localhost:3000/cb', ['https://localhost:8080/cb'], undefined],
    ['host case differs (exact string comparison)', 'https://APP.example.com/cb', ['https://app.example.com/cb'], undefined],
    ['scheme differs (http request, https registered loopback)', 'http://localhost:3000/cb', ['https://localhost:3000/cb'], undefined],
    ['plain http on a public host: port may not vary', 'http://app.example.com:81/cb', ['http://app.example.com/cb'], undefined],
    ['userinfo trick does not reach loopback', 'http://127.0.0.1:1@evil.example/cb', ['http://127.0.0.1:1/cb'], undefined],
    ['loopback lookalike host', 'http://127.0.0.1.evil.example:1/cb', ['http://127.0.0.1:1/cb'], undefined],
    ['unparseable request', 'not a uri', ['https://app.example.com/cb'], undefined],
    ['nothing registered', 'https://app.example.com/cb', [], undefined],
  ];
  for (const [what, requested, registered, expected] of cases) {
    it(`${expected ? 'matches' : 'rejects'}: ${what}`, () => {
      expect(matchRedirectUri(requested, registered)).toBe(expected);
    });
  }
});

describe('checkRedirectUriSyntax (AS-6, OAuth 2.1 §2.3.1, RFC 8252 §7.3)', () => {
  const accepted = [
    'https://app.example.com/cb',
    'https://app.example.com/cb?x=1',
    'http://localhost/cb',
    'http://127.0.0.1:8080/cb',
    'http://[::1]:8080/cb',
    'https://localhost:8443/cb',
  ];
  for (const uri of accepted) {
    it(`accepts ${uri}`, () => {
      expect(checkRedirectUriSyntax(uri)).toBe(uri);
    });
  }

  const rejected: [string, unknown][] = [
    ['http on a public host', 'http://app.example.com/cb'],
    ['a fragment', 'https://app.example.com/cb#x'],
    ['an empty fragment', 'https://app.example.com/cb#'],
    ['a relative URI', '/cb'],
    ['javascript:', 'javascript:alert(1)'],
    ['data:', 'data:text/html,hi'],
    ['a custom scheme', 'myapp://cb'],
    ['userinfo', 'https://user@app.example.com/cb'],
    ['user and password', 'http://u:p@127.0.0.1/cb'],
    ['an empty string', ''],
    ['a non-string', 42],
    ['over 2000 characters', `https://app.example.com/${'a'.repeat(2000)}`],
    ['a tab inside the host (the URL parser would silently drop it)', 'https://app.exa\tmple.com/cb'],
    ['leading whitespace', ' https://app.example.com/cb'],
    ['a space in the path', 'https://app.example.com/c b'],
    ['a newline', 'https://app.example.com/cb\n'],
  ];
  for (const [what, uri] of rejected) {
    it(`rejects ${what} → invalid_redirect_uri`, () => {
      expect(oauthErrorOf(() => checkRedirectUriSyntax(uri)).code).toBe('invalid_redirect_uri');
    });
  }

  it('RFC 8252 §7.3: the loopback hosts are exactly localhost, 127.0.0.1 and [::1]', () => {
    expect(['localhost', '127.0.0.1', '[::1]', 'LOCALHOST'].map(isLoopbackHost)).toEqual([true, true, true, true]);
    expect(['127.0.0.2', 'localhost.example', '::1', '0.0.0.0'].map(isLoopbackHost)).toEqual([false, false, false, false]);
  });
});

describe('resource indicators (AS-8, RFC 8707 §2)', () => {
  const canonical: [string, string | undefined][] = [
    ['https://mcp.example.com/mcp', 'https://mcp.example.com/mcp'],
    ['HTTPS://MCP.Example.COM/mcp', 'https://mcp.example.com/mcp'],
    ['https://mcp.example.com/', 'https://mcp.example.com'],
    ['https://mcp.example.com', 'https://mcp.example.com'],
    ['https://mcp.example.com/mcp/', 'https://mcp.example.com/mcp/'],
    ['https://mcp.example.com/MCP', 'https://mcp.example.com/MCP'],
    ['https://mcp.example.com/mcp#frag', undefined],
    ['https://mcp.example.com/#', undefined],
    ['/mcp', undefined],
    ['not a uri', undefined],
  ];
  for (const [input, expected] of canonical) {
    it(`canonicalResource(${JSON.stringify(input)}) → ${JSON.stringify(expected)}`, () => {
      expect(canonicalResource(input)).toBe(expected);
    });
  }

  const same: [string, string, boolean][] = [
    ['https://mcp.example.com/mcp', 'HTTPS://MCP.EXAMPLE.COM/mcp', true],
    ['https://mcp.example.com', 'https://mcp.example.com/', true],
    ['https://mcp.example.com/mcp', 'https://mcp.example.com/mcp/', false],
    ['https://mcp.example.com/mcp', 'https://mcp.example.com/MCP', false],
    ['https://mcp.example.com/mcp', 'http://mcp.example.com/mcp', false],
    ['https://mcp.example.com/mcp', 'https://mcp.example.com:8443/mcp', false],
    ['https://mcp.example.com/mcp#a', 'https://mcp.example.com/mcp#a', false],
    ['garbage', 'garbage', false],
  ];
  for (const [a, b, expected] of same) {
    it(`AS-8: sameResource(${a}, ${b}) is ${expected}`, () => {
      expect(sameResource(a, b)).toBe(expected);
      expect(sameResource(b, a)).toBe(expected);
    });
  }

  const allowed = ['http://localhost:8787/mcp', 'https://other.example.com'];

  it('RFC 8707 §2: no resource → the first configured resource', () => {
    expect(resolveResource([], allowed)).toBe('http://localhost:8787/mcp');
  });

  it('AS-8: a differently-cased or trailing-slash spelling resolves to the configured spelling', () => {
    expect(resolveResource(['HTTP://LOCALHOST:8787/mcp'], allowed)).toBe('http://localhost:8787/mcp');
    expect(resolveResource(['https://other.example.com/'], allowed)).toBe('https://other.example.com');
  });

  const invalidTargets: [string, string[]][] = [
    ['an unknown resource', ['https://evil.example.com/mcp']],
    ['a path that is only a prefix', ['http://localhost:8787/mcp/extra']],
    ['a fragment', ['http://localhost:8787/mcp#x']],
    ['a relative reference', ['/mcp']],
    ['more than one resource', ['http://localhost:8787/mcp', 'https://other.example.com']],
    ['the same resource twice', ['http://localhost:8787/mcp', 'http://localhost:8787/mcp']],
  ];
  for (const [what, requested] of invalidTargets) {
    it(`AS-8 / RFC 8707 §2: ${what} → invalid_target`, () => {
      expect(oauthErrorOf(() => resolveResource(requested, allowed)).code).toBe('invalid_target');
    });
  }
});

describe('scope (RFC 6749 §3.3, OAuth 2.1 §4.3.1, AS-14)', () => {
  const parsed: [string | null | undefined, string[]][] = [
    [undefined, []],
    [null, []],
    ['', []],
    ['read', ['read']],
    ['read write', ['read', 'write']],
    ['read  write ', ['read', 'write']],
    ['read read write', ['read', 'write']],
    ['Read read', ['Read', 'read']],
  ];
  for (const [input, expected] of parsed) {
    it(`RFC 6749 §3.3: parseScope(${JSON.stringify(input)}) → ${JSON.stringify(expected)} (space-delimited, case-sensitive, duplicates collapse)`, () => {
      expect(parseScope(input)).toEqual(expected);
    });
  }

  const supported = ['read', 'write', 'offline_access'];
  it('RFC 6749 §3.3: no requested scope → the defaults', () => {
    expect(resolveRequestedScopes([], supported, ['read'])).toEqual(['read']);
  });
  it('RFC 6749 §3.3: supported requested scopes are granted as asked', () => {
    expect(resolveRequestedScopes(['write', 'offline_access'], supported, ['read'])).toEqual(['write', 'offline_access']);
  });
  it('RFC 6749 §3.3: an unsupported scope → invalid_scope naming it', () => {
    const err = oauthErrorOf(() => resolveRequestedScopes(['read', 'admin'], supported, ['read']));
    expect(err.code).toBe('invalid_scope');
    expect(err.description).toContain('admin');
  });

  it('AS-14 / OAuth 2.1 §4.3.1: refresh without scope keeps the granted scope', () => {
    expect(narrowScopes([], ['read', 'write'])).toEqual(['read', 'write']);
  });
  it('AS-14 / OAuth 2.1 §4.3.1: refresh may narrow the scope', () => {
    expect(narrowScopes(['write'], ['read', 'write'])).toEqual(['write']);
  });
  it('AS-14 / OAuth 2.1 §4.3.1: refresh may never widen the scope → invalid_scope', () => {
    expect(oauthErrorOf(() => narrowScopes(['read', 'admin'], ['read'])).code).toBe('invalid_scope');
  });
});

describe('PKCE (AS-5, RFC 7636)', () => {
  const CHALLENGE = 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM';

  it('RFC 7636 Appendix B: s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk") is the published challenge', async () => {
    expect(await s256('dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk')).toBe(CHALLENGE);
  });

  it('AS-5 / RFC 7636 §4.3: an S256 challenge of 43 base64url characters is accepted', () => {
    expect(checkCodeChallenge(CHALLENGE, 'S256')).toBe(CHALLENGE);
  });

  const badChallenges: [string, string | undefined, string | undefined][] = [
    ['a missing challenge', undefined, 'S256'],
    ['an empty challenge', '', 'S256'],
    ['the plain method', CHALLENGE, 'plain'],
    ['a missing method (RFC 7636 would default to plain)', CHALLENGE, undefined],
    ['a lower-case method', CHALLENGE, 's256'],
    ['a 42-character challenge', CHALLENGE.slice(1), 'S256'],
    ['a 44-character challenge', `${CHALLENGE}A`, 'S256'],
    ['a padded (non-base64url) challenge', `${CHALLENGE.slice(1)}=`, 'S256'],
    ['a challenge with +', `+${CHALLENGE.slice(1)}`, 'S256'],
  ];
  for (const [what, challenge, method] of badChallenges) {
    it(`AS-5 / RFC 7636 §4.4.1: ${what} → invalid_request`, () => {
      expect(oauthErrorOf(() => checkCodeChallenge(challenge, method)).code).toBe('invalid_request');
    });
  }

  const goodVerifiers: [string, string][] = [
    ['43 characters (the minimum)', 'a'.repeat(43)],
    ['128 characters (the maximum)', 'Z'.repeat(128)],
    ['every unreserved character', `${'A'.repeat(39)}-._~`],
  ];
  for (const [what, verifier] of goodVerifiers) {
    it(`AS-5 / RFC 7636 §4.1: a verifier of ${what} is accepted`, () => {
      expect(checkCodeVerifier(verifier)).toBe(verifier);
    });
  }

  const badVerifiers: [string, string | undefined][] = [
    ['missing', undefined],
    ['empty', ''],
    ['42 characters (too short)', 'a'.repeat(42)],
    ['129 characters (too long)', 'a'.repeat(129)],
    ['containing +', `${'a'.repeat(42)}+`],
    ['containing /', `${'a'.repeat(42)}/`],
    ['containing =', `${'a'.repeat(42)}=`],
    ['containing a space', `${'a'.repeat(42)} `],
    ['containing a non-ASCII letter', `${'a'.repeat(42)}é`],
  ];
  for (const [what, verifier] of badVerifiers) {
    it(`AS-5 / RFC 7636 §4.1: a verifier ${what} → invalid_grant`, () => {
      expect(oauthErrorOf(() => checkCodeVerifier(verifier)).code).toBe('invalid_grant');
    });
  }
});

describe('extractClientCredentials (AS-12, RFC 6749 §2.3)', () => {
  const form = (values: Record<string, string> = {}) => new URLSearchParams(values);
  const basicHeader = (raw: string) => `Basic ${btoa(raw)}`;

  it('RFC 6749 §2.3.1: Basic credentials are form-urlencoded; ":" and "%" in the secret survive', () => {
    const secret = 'se:cr%et+with space';
    const header = basicHeader(`${encodeURIComponent('client-1')}:${encodeURIComponent(secret)}`);
    expect(extractClientCredentials(header, form())).toEqual({ method: 'client_secret_basic', clientId: 'client-1', secret });
  });

  it('RFC 6749 §2.3.1: "+" in Basic credentials decodes to a space (form encoding)', () => {
    expect(extractClientCredentials(basicHeader('client+1:a+b'), form())).toEqual({ method: 'client_secret_basic', clientId: 'client 1', secret: 'a b' });
  });

  it('RFC 6749 §2.3.1: an unencoded ":" inside the secret splits at the first colon only', () => {
    expect(extractClientCredentials(basicHeader('client-1:a:b:c'), form()).secret).toBe('a:b:c');
  });

  it('RFC 7617: the "Basic" scheme name is case-insensitive', () => {
    expect(extractClientCredentials(`basic ${btoa('c:s')}`, form()).method).toBe('client_secret_basic');
  });

  it('RFC 6749 §2.3.1: Basic with a matching client_id in the body is still client_secret_basic', () => {
    expect(extractClientCredentials(basicHeader('c:s'), form({ client_id: 'c' }))).toEqual({ method: 'client_secret_basic', clientId: 'c', secret: 's' });
  });

  it('RFC 6749 §2.3.1: client_id and client_secret in the body → client_secret_post', () => {
    expect(extractClientCredentials(undefined, form({ client_id: 'c', client_secret: 's' }))).toEqual({
      method: 'client_secret_post',
      clientId: 'c',
      secret: 's',
    });
  });

  it('OAuth 2.1 §2.4: only client_id in the body → none (public client)', () => {
    expect(extractClientCredentials(null, form({ client_id: 'c' }))).toEqual({ method: 'none', clientId: 'c' });
  });

  it('RFC 6749 §2.3: Basic and client_secret in the body (two methods) → invalid_request', () => {
    const err = oauthErrorOf(() => extractClientCredentials(basicHeader('c:s'), form({ client_secret: 's' })));
    expect(err.code).toBe('invalid_request');
    expect(err.status).toBe(400);
  });

  it('RFC 6749 §2.3: a body client_id that differs from the Basic one → invalid_request', () => {
    expect(oauthErrorOf(() => extractClientCredentials(basicHeader('c:s'), form({ client_id: 'other' }))).code).toBe('invalid_request');
  });

  const malformed: [string, string][] = [
    ['another scheme', 'Bearer abc'],
    ['no credentials', 'Basic'],
    ['characters outside base64', 'Basic !!!!'],
    ['invalid base64 length', 'Basic a'],
    ['no colon', basicHeader('client-only')],
    ['broken percent-encoding', basicHeader('c:%E0%A4%A')],
  ];
  for (const [what, header] of malformed) {
    it(`AS-12 / RFC 6749 §5.2: a malformed Basic header (${what}) → 401 invalid_client with WWW-Authenticate`, () => {
      const err = oauthErrorOf(() => extractClientCredentials(header, form({ client_id: 'c' })));
      expect(err.code).toBe('invalid_client');
      expect(err.status).toBe(401);
      expect(err.headers['WWW-Authenticate']).toMatch(/^Basic realm=/);
    });
  }

  it('AS-12 / RFC 6749 §5.2: no client at all → 401 invalid_client without WWW-Authenticate (no header was used)', () => {
    const err = oauthErrorOf(() => extractClientCredentials(undefined, form()));
    expect(err.code).toBe('invalid_client');
    expect(err.status).toBe(401);
    expect(err.headers['WWW-Authenticate']).toBeUndefined();
  });
});

describe('decideCodeRedemption (AS-5, AS-8, AS-12, AS-13; OAuth 2.1 §4.1.3)', () => {
  const cases: [string, GrantRecord | undefined, Partial<CodeRedemptionInput>, ReturnType<typeof decideCodeRedemption>['outcome'], string?][] = [
    ['a valid redemption issues tokens', grantRecord(), {}, 'issue'],
    ['redirect_uri and resource may be omitted (AS-12)', grantRecord(), { redirectUri: undefined, resource: undefined }, 'issue'],
    ['the resource may differ in case only (AS-8)', grantRecord(), { resource: 'HTTP://LOCALHOST:8787/mcp' }, 'issue'],
    ['one second before expiry is still valid', grantRecord(), { now: NOW + 599 }, 'issue'],
    ['an unknown code (no grant) → invalid_grant', undefined, {}, 'reject', 'invalid_grant'],
    ['a wrong code hash → invalid_grant', grantRecord(), { codeHash: 'hash-of-another-code-aaaaaaaaaaaaaaaaaaaaaa' }, 'reject', 'invalid_grant'],
    ['another client → invalid_grant', grantRecord(), { clientId: 'client-2' }, 'reject', 'invalid_grant'],
    ['AS-13: a second redemption is a replay', grantRecord({ code_redeemed_at: NOW + 5 }), {}, 'replay'],
    ['AS-13: a replay is detected even after expiry', grantRecord({ code_redeemed_at: NOW + 5 }), { now: NOW + 10_000 }, 'replay'],
    ['AS-13: an expired code (now = code_expires_at) → invalid_grant', grantRecord(), { now: NOW + 600 }, 'reject', 'invalid_grant'],
    ['AS-12: a different redirect_uri → invalid_grant', grantRecord(), { redirectUri: 'http://127.0.0.1:9999/other' }, 'reject', 'invalid_grant'],
    [
      'AS-12: the same redirect_uri with another loopback port → invalid_grant (must equal the authorization request)',
      grantRecord(),
      { redirectUri: 'http://127.0.0.1:1234/callback' },
      'reject',
      'invalid_grant',
    ],
    [
      'AS-5 / RFC 7636 §4.6: a verifier that does not match the challenge → invalid_grant',
      grantRecord(),
      { verifierChallenge: 'X'.repeat(43) },
      'reject',
      'invalid_grant',
    ],
    ['AS-8 / RFC 8707 §2.2: another resource → invalid_target', grantRecord(), { resource: 'https://other.example.com/mcp' }, 'reject', 'invalid_target'],
  ];
  for (const [what, record, overrides, outcome, error] of cases) {
    it(what, () => {
      const decision = decideCodeRedemption(record, redemptionInput(overrides));
      expect(decision.outcome).toBe(outcome);
      if (error) expect(decision).toMatchObject({ outcome: 'reject', error });
    });
  }
});

describe('decideRefresh (AS-8, AS-14; OAuth 2.1 §4.3.1, RFC 9700 §4.14.2)', () => {
  const redeemed = (overrides: Partial<GrantRecord> = {}) => grantRecord({ code_redeemed_at: NOW, refresh_expires_at: NOW + 3600, ...overrides });
  const active: RefreshTokenRow = { token_hash: 'h1', status: 'active', created_at: NOW, upstream_sealed: null };
  const rotated: RefreshTokenRow = { ...active, status: 'rotated' };
  const input = (overrides: Partial<RefreshInput> = {}): RefreshInput => ({ clientId: 'client-1', requestedScopes: [], now: NOW + 60, ...overrides });

  it('AS-14: without scope the refresh keeps the granted scope', () => {
    expect(decideRefresh(redeemed(), active, input())).toEqual({ outcome: 'issue', scopes: ['read', 'write'] });
  });
  it('AS-14: a narrower scope is granted', () => {
    expect(decideRefresh(redeemed(), active, input({ requestedScopes: ['read'] }))).toEqual({ outcome: 'issue', scopes: ['read'] });
  });
  it('AS-8: the same resource (any case) is accepted', () => {
    expect(decideRefresh(redeemed(), active, input({ resource: 'HTTP://localhost:8787/mcp' })).outcome).toBe('issue');
  });

  const rejections: [string, GrantRecord | undefined, RefreshTokenRow | undefined, Partial<RefreshInput>, string][] = [
    ['an unknown grant → invalid_grant', undefined, active, {}, 'invalid_grant'],
    ['an unknown refresh token → invalid_grant', redeemed(), undefined, {}, 'invalid_grant'],
    ['RFC 6749 §6: another client → invalid_grant', redeemed(), active, { clientId: 'client-2' }, 'invalid_grant'],
    ['a grant without a refresh family → invalid_grant', redeemed({ refresh_expires_at: null }), active, {}, 'invalid_grant'],
    ['an expired family (now = refresh_expires_at) → invalid_grant', redeemed(), active, { now: NOW + 3600 }, 'invalid_grant'],
    ['AS-8 / RFC 8707 §2.2: another resource → invalid_target', redeemed(), active, { resource: 'https://other.example.com/mcp' }, 'invalid_target'],
    ['AS-14: a wider scope → invalid_scope', redeemed(), active, { requestedScopes: ['read', 'admin'] }, 'invalid_scope'],
  ];
  for (const [what, record, row, overrides, error] of rejections) {
    it(what, () => {
      expect(decideRefresh(record, row, input(overrides))).toMatchObject({ outcome: 'reject', error });
    });
  }

  it('AS-14 / RFC 9700 §4.14.2: presenting a rotated refresh token is a replay (the family is revoked)', () => {
    expect(decideRefresh(redeemed(), rotated, input())).toEqual({ outcome: 'replay' });
  });
  it('RFC 9700 §4.14.2: a rotated token is a replay even after the family expired', () => {
    expect(decideRefresh(redeemed(), rotated, input({ now: NOW + 100_000 }))).toEqual({ outcome: 'replay' });
  });
  it('RFC 6749 §6: a rotated token presented by another client is rejected without revoking the family', () => {
    expect(decideRefresh(redeemed(), rotated, input({ clientId: 'client-2' }))).toMatchObject({ outcome: 'reject', error: 'invalid_grant' });
  });
});

describe('decideRateLimit (fixed window, now passed in)', () => {
  const window = { limit: 2, windowSeconds: 60, windowStart: 600, now: 615 };

  it('the first request of a window is allowed, with limit - 1 remaining and the seconds to the window end', () => {
    expect(decideRateLimit(0, window)).toEqual({ allowed: true, limit: 2, remaining: 1, resetSeconds: 45, windowSeconds: 60 });
  });
  it('the last allowed request leaves 0 remaining', () => {
    expect(decideRateLimit(1, window)).toMatchObject({ allowed: true, remaining: 0 });
  });
  it('a request over the limit is refused and remaining stays 0', () => {
    expect(decideRateLimit(2, window)).toMatchObject({ allowed: false, remaining: 0, resetSeconds: 45 });
    expect(decideRateLimit(7, window)).toMatchObject({ allowed: false, remaining: 0 });
  });
  it('resetSeconds is at least 1, even at the last second of the window', () => {
    expect(decideRateLimit(0, { ...window, now: 660 }).resetSeconds).toBe(1);
    expect(decideRateLimit(0, { ...window, now: 659 }).resetSeconds).toBe(1);
  });
});

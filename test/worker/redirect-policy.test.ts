import { describe, expect, it } from 'vitest';
import { createMcpAuth } from '../../src/create-mcp-auth';
import { OAuthError } from '../../src/errors';
import { resolveOptions } from '../../src/options';
import { checkRedirectUriSyntax, isAllowedByPolicy } from '../../src/protocol/redirect-uri';
import { clientFromMetadataDocument } from '../../src/clients/metadata-document';
import type { ClientRecord, ClientStore } from '../../src/storage/client-store';
import { expectOAuthError, fetchApp, postJson } from './foundation-helpers';
import { ISSUER, RESOURCE, form, pkce } from './helpers';

/** The pattern from the security review: "any subdomain of trusted.example". */
const SUBDOMAIN_PATTERN = /^https:\/\/[^/]*\.trusted\.example\//;
const BACKSLASH_TRICK = 'https://evil.example\\.trusted.example/cb';

/** Policies an operator writes for one trusted host, as strings or patterns. */
const TRUSTED_POLICIES: [string, (string | RegExp)[]][] = [
  ['any subdomain (review pattern)', [SUBDOMAIN_PATTERN]],
  ['one host, any path', [/^https:\/\/app\.trusted\.example\//]],
  ['one host and port, any path', [/^https:\/\/app\.trusted\.example(:\d+)?\//]],
  ['labels then the trusted suffix', [/^https:\/\/([a-z0-9-]+\.)*trusted\.example\//i]],
  ['an exact string', ['https://app.trusted.example/cb']],
];

/** Strings on which RFC 3986 readers and the WHATWG URL parser (what the browser follows) disagree. */
const PARSER_DIFFERENTIALS = [
  BACKSLASH_TRICK,
  'https://evil.example\\@app.trusted.example/cb',
  'https://app.trusted.example\\@evil.example/cb',
  'https:\\\\evil.example\\.trusted.example/cb',
  'https:/evil.example/.trusted.example/cb',
  'https:evil.example/.trusted.example/cb',
  '//evil.example/.trusted.example/cb',
  '/\\evil.example/.trusted.example/cb',
  'https://app.trusted.example@evil.example/cb',
  'https://app.trusted.example:443@evil.example/cb',
  'https://@evil.example/.trusted.example/cb',
  'https://evil.example%2f.trusted.example/cb',
  'https://evil.example%5c.trusted.example/cb',
  'https://evil.example%2f@app.trusted.example/cb',
  'https://evil%2eexample/.trusted.example/cb',
  'https://evil.example%2523.trusted.example/cb',
  'https://evil.example\t.trusted.example/cb',
  'https://evil.example\n.trusted.example/cb',
  'https://evil.example\r\n.trusted.example/cb',
  'https://evil.example\u0000.trusted.example/cb',
  ' https://app.trusted.example/cb',
  'https://app.trusted.example/cb ',
  'https://evil.example\u3002trusted.example/cb',
  'https://evil.example\uff0etrusted.example/cb',
  'https://evil.example\uff61trusted.example/cb',
  'https://app\uff0etrusted\uff0eexample/cb',
  'https://\uff45vil.example/.trusted.example/cb',
  'https://b\u00fccher.trusted.example/cb',
  'https://xn--bcher-kva.trusted.example/cb',
  'https://app.trusted.example./cb',
  'https://app.trusted.example../cb',
  'https://evil.example./.trusted.example/cb',
  'HTTPS://app.trusted.example/cb',
  'hTtPs://evil.example/.trusted.example/cb',
  'https://APP.TRUSTED.EXAMPLE/cb',
  'https://app.trusted.example:443/cb',
  'https://app.trusted.example:/cb',
  'https://app.trusted.example:8443/cb',
  'https://app.trusted.example:0443/cb',
  'https://app.trusted.example:99999/cb',
  'https://app.trusted.example:8443:8443/cb',
  'https://0x7f.1/.trusted.example/cb',
  'https://0177.0.0.1/.trusted.example/cb',
  'https://2130706433/.trusted.example/cb',
  'https://127.1/.trusted.example/cb',
  'https://[::ffff:127.0.0.1]/.trusted.example/cb',
  'https://[0:0:0:0:0:0:0:1]/.trusted.example/cb',
  'https://evil.example#.trusted.example/cb',
  'https://evil.example#@app.trusted.example/cb',
  'https://evil.example?.trusted.example/cb',
  'https://evil.example?@app.trusted.example/cb',
  'https://evil.example/.trusted.example/cb',
  'https://evil.example/%2e%2e/.trusted.example/cb',
  'https://app.trusted.example/a/../cb',
  'https://app.trusted.example/%2e%2e/cb',
  'https://app.trusted.example/c%2fb',
  'https://app.trusted.example/c%5cb',
  'https://app.trusted.example/cb?x=%zz',
  'https://app.trusted.example/cb?x=%2',
  'https://app.trusted.example/cb?next=\\evil.example',
  "https://app.trusted.example/cb?a='1'",
  'https://app.trusted.example/cb?a=|',
  'https://app.trusted.example/c[b]',
  'https://app.trusted.example/cb',
  'https://app.trusted.example/cb?x=1&y=%2F',
  'https://login.app.trusted.example/cb',
  'https://trusted.example.evil.example/cb',
  'https://evil.example/cb',
];

/** Accepted for registration under `rules`: RFC 3986 syntax and the operator's policy. */
function accepted(uri: string, rules: (string | RegExp)[]): boolean {
  try {
    checkRedirectUriSyntax(uri);
  } catch (err) {
    if (err instanceof OAuthError) return false;
    throw err;
  }
  return isAllowedByPolicy(uri, rules);
}

/** The authority as a reader of the RFC 3986 text sees it (what a pattern over the string sees). */
function authorityInText(text: string): string | undefined {
  return /^[A-Za-z][A-Za-z0-9+.-]*:\/\/([^/?#]*)/.exec(text)?.[1];
}

function isTrustedHost(hostname: string): boolean {
  return hostname === 'trusted.example' || hostname.endsWith('.trusted.example');
}

describe('RFC 3986 §3 / RFC 9700 §4.1.3: redirect policy matches what the browser is sent to', () => {
  it('RFC 9700 §4.1.3: a subdomain pattern refuses the backslash trick, whose target host is evil.example', () => {
    expect(new URL(BACKSLASH_TRICK).hostname).toBe('evil.example');
    expect(isAllowedByPolicy(BACKSLASH_TRICK, [SUBDOMAIN_PATTERN])).toBe(false);
  });

  it('RFC 9700 §4.1.3: a policy pattern is tested against the normalised URL (href), the string the browser follows', () => {
    const seen: string[] = [];
    const spy = /./;
    spy.test = (text: string) => (seen.push(text), true);
    isAllowedByPolicy('https://app.trusted.example/cb', [spy]);
    isAllowedByPolicy('http://localhost:3000', [spy]);
    expect(seen).toEqual(['https://app.trusted.example/cb', 'http://localhost:3000/']);
  });

  it('RFC 9700 §4.1.3: a global or sticky pattern answers the same every time (no lastIndex state)', () => {
    const rules = [/^https:\/\/app\.trusted\.example\/cb$/g];
    expect([1, 2, 3].map(() => isAllowedByPolicy('https://app.trusted.example/cb', rules))).toEqual([true, true, true]);
  });

  it('RFC 9700 §4.1.3: an exact-string policy entry matches the same URI in normalised form', () => {
    expect(isAllowedByPolicy('http://localhost:3000', ['http://localhost:3000'])).toBe(true);
    expect(isAllowedByPolicy('https://app.trusted.example/cb', ['https://app.trusted.example/cb'])).toBe(true);
    expect(isAllowedByPolicy('https://app.trusted.example/cb2', ['https://app.trusted.example/cb'])).toBe(false);
  });

  for (const [what, rules] of TRUSTED_POLICIES) {
    it(`RFC 3986 §3: parser-differential corpus, ${what}: every accepted URI goes to a trusted host, and the policy saw that host`, () => {
      const wrong: string[] = [];
      for (const uri of PARSER_DIFFERENTIALS) {
        const seen: string[] = [];
        const recording = rules.map((rule) => {
          if (typeof rule === 'string') return rule;
          const copy = new RegExp(rule.source, rule.flags);
          copy.test = (text: string) => (seen.push(text), RegExp.prototype.test.call(new RegExp(rule.source, rule.flags), text));
          return copy;
        });
        if (!accepted(uri, recording)) continue;
        const target = new URL(uri);
        if (!isTrustedHost(target.hostname)) wrong.push(`${JSON.stringify(uri)} goes to ${target.hostname}`);
        for (const text of seen)
          if (authorityInText(text) !== target.host)
            wrong.push(`${JSON.stringify(uri)}: the policy saw ${JSON.stringify(text)}, the browser goes to ${target.host}`);
      }
      expect(wrong).toEqual([]);
    });
  }

  it('RFC 3986 §3: the corpus still accepts the well-formed trusted URIs (the check is not a blanket refusal)', () => {
    const ok = PARSER_DIFFERENTIALS.filter((uri) => accepted(uri, [SUBDOMAIN_PATTERN]));
    expect(ok).toEqual([
      'https://xn--bcher-kva.trusted.example/cb',
      'https://app.trusted.example/c%2fb',
      'https://app.trusted.example/c%5cb',
      'https://app.trusted.example/cb',
      'https://app.trusted.example/cb?x=1&y=%2F',
      'https://login.app.trusted.example/cb',
    ]);
  });
});

describe('RFC 3986 §2, §3, §6.2: a redirect URI is a valid URI written as the browser will use it', () => {
  const refused: [string, string][] = [
    ['a backslash (RFC 3986 §2: not a URI character; the URL parser reads it as /)', BACKSLASH_TRICK],
    ['a backslash in the query', 'https://app.example.com/cb?next=\\x'],
    ['% not followed by two hex digits (RFC 3986 §2.1)', 'https://app.example.com/cb?x=%zz'],
    ['a truncated percent-encoding (RFC 3986 §2.1)', 'https://app.example.com/cb%2'],
    ['raw non-ASCII in the host (register the A-label)', 'https://b\u00fccher.example/cb'],
    ['raw non-ASCII in the path', 'https://app.example.com/caf\u00e9'],
    ['an ideographic full stop in the host', 'https://evil.example\u3002app.example.com/cb'],
    ['full-width letters in the host', 'https://\uff41pp.example.com/cb'],
    ['characters outside RFC 3986 (|)', 'https://app.example.com/cb?a=|'],
    ['characters outside RFC 3986 ([ in the path)', 'https://app.example.com/c[b]'],
    ['characters outside RFC 3986 (")', 'https://app.example.com/c"b'],
    ['no authority (https:/host)', 'https:/app.example.com/cb'],
    ['no authority (https:host)', 'https:app.example.com/cb'],
    ['backslashes instead of //', 'https:\\\\app.example.com/cb'],
    ['a network-path reference', '//app.example.com/cb'],
    ['an uppercase scheme (RFC 3986 §6.2.2.1)', 'HTTPS://app.example.com/cb'],
    ['an uppercase host (RFC 3986 §6.2.2.1)', 'https://App.Example.com/cb'],
    ['the default port (RFC 3986 §6.2.3)', 'https://app.example.com:443/cb'],
    ['an empty port (RFC 3986 §6.2.3)', 'https://app.example.com:/cb'],
    ['a port with a leading zero', 'https://app.example.com:08443/cb'],
    ['a port out of range', 'https://app.example.com:99999/cb'],
    ['a percent-encoded host', 'https://app%2eexample.com/cb'],
    ['a hexadecimal IPv4 host', 'http://0x7f.0.0.1/cb'],
    ['a single-number IPv4 host', 'http://2130706433/cb'],
    ['a shortened IPv4 host', 'http://127.1/cb'],
    ['an uncompressed IPv6 host', 'http://[0:0:0:0:0:0:0:1]/cb'],
    ['dot segments (RFC 3986 §5.2.4 removes them)', 'https://app.example.com/a/../cb'],
    ['encoded dot segments', 'https://app.example.com/a/%2e%2e/cb'],
    ['a quote the browser would percent-encode', "https://app.example.com/cb?a='1'"],
    ['empty userinfo', 'https://@app.example.com/cb'],
  ];
  for (const [what, uri] of refused) {
    it(`RFC 3986: refuses ${what} → invalid_redirect_uri`, () => {
      let code: string | undefined;
      try {
        checkRedirectUriSyntax(uri);
      } catch (err) {
        code = (err as OAuthError).code;
      }
      expect(code).toBe('invalid_redirect_uri');
    });
  }

  const kept = [
    'https://app.example.com/cb',
    'https://app.example.com/cb?x=1&y=%2F',
    'https://app.example.com/c%2fb',
    'https://app.example.com:8443/cb',
    'https://xn--bcher-kva.example/cb',
    'https://app.example.com./cb',
    'https://claude.ai/api/mcp/auth_callback',
    'http://127.0.0.1:33418/',
    'http://localhost:6274/oauth/callback/debug',
    'http://[::1]:8080/cb',
    'http://localhost:3000',
    'https://app.example.com/cb;v=1!$&()*+,=:@~',
  ];
  for (const uri of kept) it(`RFC 3986: keeps ${uri}`, () => expect(checkRedirectUriSyntax(uri)).toBe(uri));

  it('RFC 3986 §2: error descriptions never echo the refused URI', () => {
    try {
      checkRedirectUriSyntax('https://app.example.com/"<x>');
    } catch (err) {
      expect((err as OAuthError).description).not.toContain('<x>');
      return;
    }
    throw new Error('expected a refusal');
  });
});

describe('RFC 9700 §4.1.3: the redirect policy is applied everywhere a redirect URI enters', () => {
  const policy = { allowedRedirectUris: [SUBDOMAIN_PATTERN], scopes: ['mcp'] };

  it('RFC 7591 §2: POST /register refuses the backslash trick even though the raw string matches the pattern', async () => {
    const auth = createMcpAuth({
      issuer: ISSUER,
      resources: [RESOURCE],
      scopes: ['mcp'],
      allowedRedirectUris: [SUBDOMAIN_PATTERN],
      rateLimits: { enabled: false },
      log: false,
    });
    await expectOAuthError(
      await postJson(auth.app, '/register', { redirect_uris: [BACKSLASH_TRICK], token_endpoint_auth_method: 'none' }),
      400,
      'invalid_redirect_uri',
    );
    const ok = await postJson(auth.app, '/register', { redirect_uris: ['https://app.trusted.example/cb'], token_endpoint_auth_method: 'none' });
    expect(ok.status).toBe(201);
  });

  it('RFC 3986 §2: a configured client with a backslash redirect URI is refused at construction', () => {
    const client: ClientRecord = {
      client_id: 'configured',
      client_id_issued_at: 0,
      redirect_uris: [BACKSLASH_TRICK],
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code'],
      response_types: ['code'],
      application_type: 'web',
    };
    expect(() => resolveOptions({ issuer: ISSUER, resources: [RESOURCE], scopes: ['mcp'], clients: [client] })).toThrow(/configured/);
  });

  it('RFC 3986 §2: a client metadata document with a backslash redirect URI is refused', () => {
    const clientId = 'https://app.trusted.example/client.json';
    expect(() => clientFromMetadataDocument(clientId, { client_id: clientId, redirect_uris: [BACKSLASH_TRICK] }, policy)).toThrow(OAuthError);
  });

  /** A store holding records written before this check existed. */
  function appWithStoredClient(record: ClientRecord, allowedRedirectUris?: (string | RegExp)[]) {
    const store: ClientStore = { get: async (id) => (id === record.client_id ? record : undefined), put: async () => {} };
    return createMcpAuth({
      issuer: ISSUER,
      resources: [RESOURCE],
      scopes: ['mcp'],
      clientStore: store,
      allowedRedirectUris,
      rateLimits: { enabled: false },
      log: false,
    });
  }
  const stored = (redirectUris: string[]): ClientRecord => ({
    client_id: 'stored-client',
    client_id_issued_at: 0,
    redirect_uris: redirectUris,
    token_endpoint_auth_method: 'none',
    grant_types: ['authorization_code'],
    response_types: ['code'],
    application_type: 'web',
  });

  it('RFC 9700 §4.1.3: /authorize never redirects to a stored backslash URI that the raw pattern matched (error page, no Location)', async () => {
    const auth = appWithStoredClient(stored([BACKSLASH_TRICK]), [SUBDOMAIN_PATTERN]);
    // No response_type: an error that is redirected once the client and redirect URI are trusted.
    const res = await fetchApp(
      auth.app,
      `/authorize?${form({ client_id: 'stored-client', redirect_uri: BACKSLASH_TRICK, code_challenge: (await pkce()).challenge, code_challenge_method: 'S256' })}`,
    );
    expect(res.headers.get('Location')).toBeNull();
    expect(res.status).toBe(400);
  });

  it('RFC 3986 §2: /authorize refuses a stored redirect URI that is not valid RFC 3986, even with no policy', async () => {
    const auth = appWithStoredClient(stored([BACKSLASH_TRICK]));
    const res = await fetchApp(auth.app, `/authorize?${form({ client_id: 'stored-client', redirect_uri: BACKSLASH_TRICK })}`);
    expect(res.headers.get('Location')).toBeNull();
    expect(res.status).toBe(400);
  });

  it('OAuth 2.1 §4.1.1: an omitted redirect_uri (one registered) is held to the policy too', async () => {
    const auth = appWithStoredClient(stored(['https://evil.example/cb']), [SUBDOMAIN_PATTERN]);
    const res = await fetchApp(auth.app, `/authorize?${form({ client_id: 'stored-client' })}`);
    expect(res.headers.get('Location')).toBeNull();
    expect(res.status).toBe(400);
  });

  it('RFC 8252 §7.3: the loopback port may still vary under a policy (regression guard)', async () => {
    const auth = appWithStoredClient(stored(['http://127.0.0.1/cb']), [/^http:\/\/127\.0\.0\.1(:\d+)?\/cb$/]);
    const res = await fetchApp(auth.app, `/authorize?${form({ client_id: 'stored-client', redirect_uri: 'http://127.0.0.1:51234/cb' })}`);
    expect(res.status).toBe(302);
    expect(new URL(res.headers.get('Location')!).origin).toBe('http://127.0.0.1:51234');
  });
});

import { describe, expect, it } from 'vitest';
import { Hono } from 'hono';
import { env } from 'cloudflare:workers';
import { createMcpAuth } from '../../src/create-mcp-auth';
import { OAuthError } from '../../src/errors';
import { checkClientIdUrl, clientFromMetadataDocument } from '../../src/clients/metadata-document';
import { cacheSeconds } from '../../src/clients/metadata-document-fetcher';
import { ISSUER, RESOURCE, form, pkce, urlOf } from './helpers';

const CLIENT_ID = 'https://app.example.com/oauth/client.json';
const REDIRECT = 'http://127.0.0.1:7777/callback';
const policy = { scopes: ['mcp:tools:read'] };

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof OAuthError) return err.code;
    throw err;
  }
  return 'accepted';
}

describe('AS-10 (MCP 2025-11): client_id URLs', () => {
  const cases: [string, string][] = [
    [CLIENT_ID, 'accepted'],
    ['https://app.example.com/c?v=1', 'accepted'],
    ['http://app.example.com/client.json', 'invalid_client'],
    ['https://app.example.com', 'invalid_client'],
    ['https://app.example.com/', 'invalid_client'],
    ['https://app.example.com/client.json#x', 'invalid_client'],
    ['https://user:pw@app.example.com/client.json', 'invalid_client'],
    ['https://app.example.com/a/../client.json', 'invalid_client'],
    ['https://app.example.com/a/./client.json', 'invalid_client'],
    ['https://app.example.com/a/%2e%2e/client.json', 'invalid_client'],
    ['https://localhost/client.json', 'invalid_client'],
    ['https://127.0.0.1/client.json', 'invalid_client'],
    ['https://10.1.2.3/client.json', 'invalid_client'],
    ['https://192.168.0.10/client.json', 'invalid_client'],
    ['https://172.20.0.1/client.json', 'invalid_client'],
    ['https://169.254.169.254/latest/meta-data', 'invalid_client'],
    ['https://[::1]/client.json', 'invalid_client'],
    ['https://metadata.internal/client.json', 'invalid_client'],
  ];
  for (const [url, expected] of cases) {
    it(`AS-10: ${url} → ${expected}`, () => expect(codeOf(() => checkClientIdUrl(url))).toBe(expected));
  }
});

describe('AS-10: the metadata document', () => {
  const doc = { client_id: CLIENT_ID, client_name: 'Doc Client', redirect_uris: [REDIRECT], grant_types: ['authorization_code', 'refresh_token'] };
  it('a valid document becomes a public client', () => {
    expect(clientFromMetadataDocument(CLIENT_ID, doc, policy)).toMatchObject({
      client_id: CLIENT_ID,
      token_endpoint_auth_method: 'none',
      redirect_uris: [REDIRECT],
      client_name: 'Doc Client',
    });
  });
  const bad: [string, unknown][] = [
    ['its client_id must equal the URL exactly', { ...doc, client_id: `${CLIENT_ID}?x` }],
    ['redirect_uris are required', { ...doc, redirect_uris: undefined }],
    ['no shared-secret authentication', { ...doc, token_endpoint_auth_method: 'client_secret_basic' }],
    ['no client secret', { ...doc, client_secret: 's' }],
    ['redirect URIs are validated', { ...doc, redirect_uris: ['http://evil.example/cb'] }],
    ['a JSON object', ['not', 'an', 'object']],
  ];
  for (const [rule, document] of bad)
    it(`AS-10: ${rule}`, () => expect(codeOf(() => clientFromMetadataDocument(CLIENT_ID, document, policy))).toBe('invalid_client'));

  it('cache lifetime comes from Cache-Control; no-store and absent headers mean no caching', () => {
    expect(cacheSeconds('public, max-age=600', 86_400)).toBe(600);
    expect(cacheSeconds('max-age=999999', 86_400)).toBe(86_400);
    expect(cacheSeconds('no-store', 86_400)).toBe(0);
    expect(cacheSeconds(null, 86_400)).toBe(0);
  });
});

describe('AS-10: the authorization code flow with a client metadata document', () => {
  function setup(serve: (url: string, init?: RequestInit) => Response | Promise<Response>, clock?: () => number) {
    const fetched: { url: string; redirect?: RequestRedirect }[] = [];
    const auth = createMcpAuth({
      clock,
      issuer: ISSUER,
      resources: [RESOURCE],
      scopes: ['mcp:tools:read'],
      rateLimits: { enabled: false },
      log: false,
      clientMetadataDocuments: {
        fetch: (async (input: RequestInfo | URL, init?: RequestInit) => {
          fetched.push({ url: urlOf(input), redirect: init?.redirect });
          return serve(urlOf(input), init);
        }) as typeof fetch,
      },
    });
    const host = new Hono().route('/', auth.app);
    const request = (path: string, init: RequestInit = {}) => host.fetch(new Request(new URL(path, ISSUER), { redirect: 'manual', ...init }), env);
    return { fetched, request };
  }
  const document = (headers: Record<string, string> = {}) =>
    new Response(
      JSON.stringify({ client_id: CLIENT_ID, client_name: 'Doc Client', redirect_uris: [REDIRECT], grant_types: ['authorization_code', 'refresh_token'] }),
      { headers: { 'Content-Type': 'application/json', ...headers } },
    );

  async function authorize(s: ReturnType<typeof setup>, challenge: string) {
    return s.request(
      `/authorize?${form({ response_type: 'code', client_id: CLIENT_ID, redirect_uri: REDIRECT, code_challenge: challenge, code_challenge_method: 'S256', state: 's', resource: RESOURCE })}`,
    );
  }

  it('AS-10: metadata advertises client_id_metadata_document_supported', async () => {
    const s = setup(() => document());
    expect(await (await s.request('/.well-known/oauth-authorization-server')).json()).toMatchObject({ client_id_metadata_document_supported: true });
  });

  it('AS-10: the document is fetched without following redirects; consent shows its client_name; the code is exchanged with the URL as client_id', async () => {
    const s = setup(() => document({ 'Cache-Control': 'max-age=300' }));
    const { verifier, challenge } = await pkce();
    const page = await authorize(s, challenge);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('Doc Client');
    expect(s.fetched).toEqual([{ url: CLIENT_ID, redirect: 'manual' }]);
    const request = /name="request" value="([^"]+)"/.exec(html)![1]!;
    const cookie = page.headers.get('Set-Cookie')!.split(';')[0]!;
    const approved = await s.request('/authorize', {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', Cookie: cookie },
      body: form({ request, action: 'approve', username: 'dora' }),
    });
    const code = new URL(approved.headers.get('Location')!).searchParams.get('code')!;
    const token = await s.request('/token', {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: form({ grant_type: 'authorization_code', code, code_verifier: verifier, client_id: CLIENT_ID, redirect_uri: REDIRECT }),
    });
    expect(token.status).toBe(200);
    expect(s.fetched).toHaveLength(1); // cached for max-age
  });

  const refusals: [string, () => Response][] = [
    ['a redirect', () => new Response(null, { status: 302, headers: { Location: 'https://evil.example/doc.json' } })],
    ['a non-200 answer', () => new Response('no', { status: 404 })],
    ['a body over 5 KB', () => new Response(JSON.stringify({ client_id: CLIENT_ID, redirect_uris: [REDIRECT], client_name: 'x'.repeat(6000) }))],
    ['invalid JSON', () => new Response('{nope')],
  ];
  for (const [what, serve] of refusals) {
    it(`AS-10: ${what} makes the client unknown: an error page, never a redirect`, async () => {
      const s = setup(serve);
      const res = await authorize(s, (await pkce()).challenge);
      expect(res.status).toBe(400);
      expect(res.headers.get('Location')).toBeNull();
    });
  }

  it('AS-10: a failure is cached for 60 s only, then fetched again; a no-store document is fetched again', async () => {
    let calls = 0;
    let now = 1_800_000_000;
    const s = setup(
      () => (++calls === 1 ? new Response('down', { status: 503 }) : document({ 'Cache-Control': 'no-store' })),
      () => now,
    );
    expect((await authorize(s, (await pkce()).challenge)).status).toBe(400);
    now += 61;
    expect((await authorize(s, (await pkce()).challenge)).status).toBe(200);
    expect((await authorize(s, (await pkce()).challenge)).status).toBe(200);
    expect(s.fetched).toHaveLength(3);
  });

  it('AS-10: a private-address client_id is never fetched', async () => {
    const s = setup(() => document());
    const res = await s.request(
      `/authorize?${form({ response_type: 'code', client_id: 'https://169.254.169.254/latest', redirect_uri: REDIRECT, code_challenge: (await pkce()).challenge, code_challenge_method: 'S256' })}`,
    );
    expect(res.status).toBe(400);
    expect(s.fetched).toHaveLength(0);
  });
});

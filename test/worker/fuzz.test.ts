// Property-based fuzzing of every endpoint against the real worker in workerd: hostile bodies,
// query strings, content types, repeated parameters, huge and empty values, control and bidi
// characters, JSON type confusion and deep nesting. Seeds are fixed, so every run is the same.
import { beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { call, pkce, REDIRECT, registerClient, RESOURCE, type RegisteredClient } from './helpers';

const RUNS = 60;
const SEED = 20261208;
/** Bounded in time: each property has this long (the runs above take a few seconds). */
const TIMEOUT_MS = 120_000;

/** RFC 6749 §5.2 / RFC 7591 §3.2.2 error codes are NQCHAR-free tokens; descriptions a fixed set. */
const ERROR_CODE = /^[\x20\x21\x23-\x5B\x5D-\x7E]+$/;
const DESCRIPTION = /^[\x20\x21\x23-\x5B\x5D-\x7E]+$/;

const hostileStrings = [
  '', ' ', '\u0000', '\r\n', '\t', '%', '%zz', '%00', '%0d%0a', '\\', '"', "'", '<script>', '\u202e', '\u2066', '\u200b', '\ufeff',
  '\ud800', '💥', 'a'.repeat(600), 'a'.repeat(9000), 'constructor', '__proto__', 'toString', 'hasOwnProperty', 'null', 'undefined',
  '[]', '{}', '0', '-1', '1e309', 'NaN', 'true', 'https://evil.example/cb', 'http://127.0.0.1:1/cb', 'https://localhost./x',
  'https://evil.example\\.trusted.example/cb', 'javascript:alert(1)', 'data:text/html,x', '//evil.example', 'https:evil.example',
  `${'A'.repeat(22)}.${'B'.repeat(43)}`, 'x.y.z', '..', '.', 'S256', 'plain', 'authorization_code', 'refresh_token', RESOURCE, REDIRECT,
];

const text = fc.oneof(
  fc.constantFrom(...hostileStrings),
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
);

/** JSON with type confusion and nesting (depth bounded; deep arrays added separately). */
const jsonValue = fc.oneof(fc.jsonValue({ maxDepth: 4 }), fc.integer({ min: 1, max: 200 }).map((depth) => '['.repeat(depth * 50) + ']'.repeat(depth * 50)));

const OAUTH_PARAMS = [
  'grant_type', 'code', 'code_verifier', 'redirect_uri', 'client_id', 'client_secret', 'refresh_token', 'scope', 'resource', 'token',
  'token_type_hint', 'response_type', 'code_challenge', 'code_challenge_method', 'state', 'request', 'action', 'username', 'nonce',
];

/** A query or form: known and random names, repeated at will, hostile values. */
const params = fc.array(fc.tuple(fc.oneof(fc.constantFrom(...OAUTH_PARAMS), text), text), { maxLength: 12 }).map((pairs) => {
  const search = new URLSearchParams();
  for (const [name, value] of pairs) search.append(name, value);
  return search;
});

const contentType = fc.constantFrom(
  'application/x-www-form-urlencoded',
  'application/x-www-form-urlencoded; charset=utf-8',
  'APPLICATION/X-WWW-FORM-URLENCODED',
  'application/json',
  'application/json; charset=utf-16',
  'text/plain',
  'multipart/form-data; boundary=x',
  '',
  'application/x-www-form-urlencoded, application/json',
);

const body = fc.oneof(
  params.map((p) => p.toString()),
  jsonValue.map((v) => (typeof v === 'string' ? v : JSON.stringify(v))),
  fc.record({ redirect_uris: fc.oneof(fc.array(text, { maxLength: 3 }), jsonValue), token_endpoint_auth_method: fc.oneof(text, jsonValue), grant_types: fc.oneof(fc.array(text, { maxLength: 3 }), jsonValue), client_name: fc.oneof(text, jsonValue), scope: fc.oneof(text, jsonValue) }, { requiredKeys: [] }).map((v) => JSON.stringify(v)),
  fc.uint8Array({ maxLength: 64 }).map((bytes) => new TextDecoder('latin1').decode(bytes)),
  fc.constantFrom('', '%', '=', '&&&', 'a=%zz', '\u0000=\u0000', 'x'.repeat(17 * 1024)),
);

const authorizationHeader = fc.option(
  fc.oneof(fc.constantFrom('Basic', 'Basic ', 'Basic ====', 'Basic Og==', 'Bearer x', 'Basic %%%', `Basic ${btoa('a:b')}`, `Basic ${btoa('%zz:%zz')}`), text.map((t) => `Basic ${t}`)),
  { nil: undefined },
);

/** Headers are ByteStrings: keep only characters a client can actually send. */
const headerSafe = (value: string) => value.replace(/[^\x20-\x7e]/g, '');

interface Checked {
  status: number;
  location: string | null;
}

/** The invariants every answer keeps, whatever was sent. */
async function checkAnswer(res: Response, registered: RegisteredClient, method = 'GET'): Promise<Checked> {
  expect(res.status, `answered ${res.status}`).toBeLessThan(500);
  const type = res.headers.get('Content-Type') ?? '';
  if (res.status >= 400 && type.startsWith('application/json') && method !== 'HEAD') {
    const payload = (await res.json()) as Record<string, unknown>;
    expect(typeof payload.error).toBe('string');
    expect(payload.error as string).toMatch(ERROR_CODE);
    if (payload.error_description !== undefined) expect(payload.error_description as string).toMatch(DESCRIPTION);
    expect(res.headers.get('Cache-Control')).toContain('no-store');
  } else {
    await res.body?.cancel();
  }
  const location = res.headers.get('Location');
  if (res.status >= 300 && res.status < 400 && location) {
    // Never a redirect to anything but the registered client's redirect URI (no open redirect).
    const target = new URL(location);
    expect(`${target.origin}${target.pathname}`).toBe(registered.redirect_uris[0]);
  }
  return { status: res.status, location };
}

describe('fuzzing every endpoint: never a 5xx, always a well-formed RFC error, never an open redirect', () => {
  let registered: RegisteredClient;
  let challenge: string;
  beforeAll(async () => {
    registered = await registerClient();
    challenge = (await pkce()).challenge;
  });

  it.each(['/token', '/introspect', '/revoke', '/register', '/authorize'])('POST %s with random bodies, content types and client credentials', async (path) => {
    await fc.assert(
      fc.asyncProperty(body, contentType, authorizationHeader, async (payload, type, authorization) => {
        const headers: Record<string, string> = {};
        if (type) headers['Content-Type'] = type;
        if (authorization) headers.Authorization = headerSafe(authorization);
        const { status } = await checkAnswer(await call(path, { method: 'POST', body: payload, headers }), registered);
        // Random input never yields tokens or a registration it did not ask for properly.
        if (path === '/token') expect(status).not.toBe(200);
      }),
      { numRuns: RUNS, seed: SEED },
    );
  }, TIMEOUT_MS);

  it.each(['/token', '/introspect', '/revoke', '/authorize'])('POST %s with every OAuth parameter set to each hostile value of the corpus', async (path) => {
    for (const value of hostileStrings) {
      const form = new URLSearchParams(OAUTH_PARAMS.map((name) => [name, value]));
      await checkAnswer(await call(path, { method: 'POST', body: form, headers: { 'Content-Type': 'application/x-www-form-urlencoded' } }), registered);
      const json = JSON.stringify(Object.fromEntries(OAUTH_PARAMS.map((name) => [name, value])));
      await checkAnswer(await call(path, { method: 'POST', body: json, headers: { 'Content-Type': 'application/json' } }), registered);
    }
  }, TIMEOUT_MS);

  it('GET /authorize with every OAuth parameter set to each hostile value of the corpus, alone and around a registered client', async () => {
    for (const value of hostileStrings) {
      await checkAnswer(await call(`/authorize?${new URLSearchParams(OAUTH_PARAMS.map((name) => [name, value]))}`), registered);
      for (const name of OAUTH_PARAMS) {
        const query = new URLSearchParams({ response_type: 'code', client_id: registered.client_id, code_challenge: challenge, code_challenge_method: 'S256', redirect_uri: REDIRECT });
        query.set(name, value);
        await checkAnswer(await call(`/authorize?${query}`), registered);
      }
    }
  }, TIMEOUT_MS);

  it('GET /authorize with random query strings, some around a registered client', async () => {
    await fc.assert(
      fc.asyncProperty(params, fc.boolean(), async (query, aroundClient) => {
        if (aroundClient) {
          for (const [name, value] of Object.entries({ response_type: 'code', client_id: registered.client_id, code_challenge: challenge, code_challenge_method: 'S256' }))
            if (!query.has(name)) query.set(name, value);
        }
        const { status, location } = await checkAnswer(await call(`/authorize?${query}`), registered);
        // A code is only ever sent after consent: never straight from GET /authorize.
        if (location) expect(new URL(location).searchParams.has('code')).toBe(false);
        expect([200, 302, 400, 403, 429]).toContain(status);
      }),
      { numRuns: RUNS, seed: SEED },
    );
  }, TIMEOUT_MS);

  it('every route with every method and random headers', async () => {
    const paths = ['/.well-known/oauth-authorization-server', '/.well-known/oauth-protected-resource/mcp', '/.well-known/oauth-protected-resource', '/.well-known/openid-configuration', '/.well-known/jwks.json', '/register', '/authorize', '/token', '/introspect', '/revoke', '/grantex/callback', '/nope'];
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...paths),
        fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD'),
        fc.dictionary(fc.constantFrom('Origin', 'Sec-Fetch-Site', 'Cookie', 'Accept', 'Content-Length', 'Transfer-Encoding', 'MCP-Protocol-Version', 'X-Forwarded-Host'), text, { maxKeys: 4 }),
        async (path, method, extra) => {
          const headers: Record<string, string> = {};
          for (const [name, value] of Object.entries(extra)) if (name !== 'Content-Length' && name !== 'Transfer-Encoding') headers[name] = headerSafe(value);
          const init: RequestInit = { method, headers };
          if (method !== 'GET' && method !== 'HEAD') init.body = 'a=b';
          await checkAnswer(await call(path, init), registered, method);
        },
      ),
      { numRuns: RUNS * 2, seed: SEED },
    );
  }, TIMEOUT_MS);
});

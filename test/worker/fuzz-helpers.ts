// Shared parts of the fuzz suites (fuzz-*.test.ts): property-based fuzzing of every endpoint
// against the default worker's configuration in workerd, with hostile bodies, query strings,
// content types, repeated parameters, huge and empty values, control and bidi characters, JSON
// type confusion and deep nesting. Seeds are fixed, so every run sends the same requests.
import { env } from 'cloudflare:workers';
import { expect } from 'vitest';
import fc from 'fast-check';
import { createMcpAuth } from '../../src/create-mcp-auth';
import { optionsFromEnv, type WorkerEnv } from '../../src/env';
import { REDIRECT, RESOURCE, type RegisteredClient } from './helpers';
import { fetchApp } from './foundation-helpers';

/**
 * The default worker's configuration (wrangler.toml vars) with rate limits off: the fuzzer
 * reaches the endpoints themselves (limits have their own tests), and each request does not
 * open rate-limit Durable Objects of its own.
 */
const app = createMcpAuth(optionsFromEnv({ ...(env as unknown as WorkerEnv), RATE_LIMITS: 'off' })).app;

/** One request to the fuzzed app. */
export function send(path: string, init: RequestInit = {}): Promise<Response> {
  return fetchApp(app, path, init);
}

export const RUNS = 60;
export const SEED = 20261208;
/** Bounded in time: each property has this long (the runs above take a few seconds). */
export const TIMEOUT_MS = 120_000;

/** RFC 6749 §5.2 / RFC 7591 §3.2.2 error codes are NQCHAR-free tokens; descriptions a fixed set. */
const ERROR_CODE = /^[\x20\x21\x23-\x5B\x5D-\x7E]+$/;
const DESCRIPTION = /^[\x20\x21\x23-\x5B\x5D-\x7E]+$/;

export const hostileStrings = [
  '',
  ' ',
  '\u0000',
  '\r\n',
  '\t',
  '%',
  '%zz',
  '%00',
  '%0d%0a',
  '\\',
  '"',
  "'",
  '<script>',
  '\u202e',
  '\u2066',
  '\u200b',
  '\ufeff',
  '\ud800',
  '💥',
  'a'.repeat(600),
  'a'.repeat(9000),
  'constructor',
  '__proto__',
  'toString',
  'hasOwnProperty',
  'null',
  'undefined',
  '[]',
  '{}',
  '0',
  '-1',
  '1e309',
  'NaN',
  'true',
  'https://evil.example/cb',
  'http://127.0.0.1:1/cb',
  'https://localhost./x',
  'https://evil.example\\.trusted.example/cb',
  'javascript:alert(1)',
  'data:text/html,x',
  '//evil.example',
  'https:evil.example',
  `${'A'.repeat(22)}.${'B'.repeat(43)}`,
  'x.y.z',
  '..',
  '.',
  'S256',
  'plain',
  'authorization_code',
  'refresh_token',
  RESOURCE,
  REDIRECT,
];

export const text = fc.oneof(
  fc.constantFrom(...hostileStrings),
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
);

/** JSON with type confusion and nesting (depth bounded; deep arrays added separately). */
export const jsonValue = fc.oneof(
  fc.jsonValue({ maxDepth: 4 }),
  fc.integer({ min: 1, max: 200 }).map((depth) => '['.repeat(depth * 50) + ']'.repeat(depth * 50)),
);

export const OAUTH_PARAMS = [
  'grant_type',
  'code',
  'code_verifier',
  'redirect_uri',
  'client_id',
  'client_secret',
  'refresh_token',
  'scope',
  'resource',
  'token',
  'token_type_hint',
  'response_type',
  'code_challenge',
  'code_challenge_method',
  'state',
  'request',
  'action',
  'username',
  'nonce',
];

/** A query or form: known and random names, repeated at will, hostile values. */
export const params = fc.array(fc.tuple(fc.oneof(fc.constantFrom(...OAUTH_PARAMS), text), text), { maxLength: 12 }).map((pairs) => {
  const search = new URLSearchParams();
  for (const [name, value] of pairs) search.append(name, value);
  return search;
});

export const contentType = fc.constantFrom(
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

export const body = fc.oneof(
  params.map((p) => p.toString()),
  jsonValue.map((v) => (typeof v === 'string' ? v : JSON.stringify(v))),
  fc
    .record(
      {
        redirect_uris: fc.oneof(fc.array(text, { maxLength: 3 }), jsonValue),
        token_endpoint_auth_method: fc.oneof(text, jsonValue),
        grant_types: fc.oneof(fc.array(text, { maxLength: 3 }), jsonValue),
        client_name: fc.oneof(text, jsonValue),
        scope: fc.oneof(text, jsonValue),
      },
      { requiredKeys: [] },
    )
    .map((v) => JSON.stringify(v)),
  fc.uint8Array({ maxLength: 64 }).map((bytes) => new TextDecoder('latin1').decode(bytes)),
  fc.constantFrom('', '%', '=', '&&&', 'a=%zz', '\u0000=\u0000', 'x'.repeat(17 * 1024)),
);

export const authorizationHeader = fc.option(
  fc.oneof(
    fc.constantFrom('Basic', 'Basic ', 'Basic ====', 'Basic Og==', 'Bearer x', 'Basic %%%', `Basic ${btoa('a:b')}`, `Basic ${btoa('%zz:%zz')}`),
    text.map((t) => `Basic ${t}`),
  ),
  { nil: undefined },
);

/** Headers are ByteStrings: keep only characters a client can actually send. */
export const headerSafe = (value: string) => value.replace(/[^\x20-\x7e]/g, '');

interface Checked {
  status: number;
  location: string | null;
}

/** The invariants every answer keeps, whatever was sent. */
export async function checkAnswer(res: Response, registered: RegisteredClient, method = 'GET'): Promise<Checked> {
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

// Fuzzing the endpoints that read a body. See fuzz-helpers.ts.
import { beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { registerClient, type RegisteredClient } from './helpers';
import { authorizationHeader, body, checkAnswer, contentType, headerSafe, hostileStrings, OAUTH_PARAMS, RUNS, SEED, send, TIMEOUT_MS } from './fuzz-helpers';

describe('fuzzing the endpoints that read a body: never a 5xx, always a well-formed RFC error, never an open redirect', () => {
  let registered: RegisteredClient;
  beforeAll(async () => {
    registered = await registerClient();
  });

  it.each(['/token', '/introspect', '/revoke', '/register', '/authorize'])(
    'POST %s with random bodies, content types and client credentials',
    async (path) => {
      await fc.assert(
        fc.asyncProperty(body, contentType, authorizationHeader, async (payload, type, authorization) => {
          const headers: Record<string, string> = {};
          if (type) headers['Content-Type'] = type;
          if (authorization) headers.Authorization = headerSafe(authorization);
          const { status } = await checkAnswer(await send(path, { method: 'POST', body: payload, headers }), registered);
          // Random input never yields tokens.
          if (path === '/token') expect(status).not.toBe(200);
        }),
        { numRuns: RUNS, seed: SEED },
      );
    },
    TIMEOUT_MS,
  );

  it.each(['/token', '/introspect', '/revoke', '/authorize'])(
    'POST %s with every OAuth parameter set to each hostile value of the corpus',
    async (path) => {
      for (const value of hostileStrings) {
        const form = new URLSearchParams(OAUTH_PARAMS.map((name) => [name, value]));
        await checkAnswer(await send(path, { method: 'POST', body: form, headers: { 'Content-Type': 'application/x-www-form-urlencoded' } }), registered);
        const json = JSON.stringify(Object.fromEntries(OAUTH_PARAMS.map((name) => [name, value])));
        await checkAnswer(await send(path, { method: 'POST', body: json, headers: { 'Content-Type': 'application/json' } }), registered);
      }
    },
    TIMEOUT_MS,
  );
});

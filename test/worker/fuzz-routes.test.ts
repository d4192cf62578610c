// Fuzzing every route with every method and hostile headers. See fuzz-helpers.ts.
import { beforeAll, describe, it } from 'vitest';
import fc from 'fast-check';
import { registerClient, type RegisteredClient } from './helpers';
import { checkAnswer, headerSafe, RUNS, SEED, send, text, TIMEOUT_MS } from './fuzz-helpers';

const PATHS = [
  '/.well-known/oauth-authorization-server',
  '/.well-known/oauth-protected-resource/mcp',
  '/.well-known/oauth-protected-resource',
  '/.well-known/openid-configuration',
  '/.well-known/jwks.json',
  '/register',
  '/authorize',
  '/token',
  '/introspect',
  '/revoke',
  '/grantex/callback',
  '/nope',
];

describe('fuzzing every route: never a 5xx, always a well-formed RFC error', () => {
  let registered: RegisteredClient;
  beforeAll(async () => {
    registered = await registerClient();
  });

  it(
    'every route with every method and random headers',
    async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom(...PATHS),
          fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD'),
          fc.dictionary(fc.constantFrom('Origin', 'Sec-Fetch-Site', 'Cookie', 'Accept', 'MCP-Protocol-Version', 'X-Forwarded-Host', 'Host'), text, {
            maxKeys: 4,
          }),
          async (path, method, extra) => {
            const headers: Record<string, string> = {};
            for (const [name, value] of Object.entries(extra)) headers[name] = headerSafe(value);
            const init: RequestInit = { method, headers };
            if (method !== 'GET' && method !== 'HEAD') init.body = 'a=b';
            await checkAnswer(await send(path, init), registered, method);
          },
        ),
        { numRuns: RUNS * 2, seed: SEED },
      );
    },
    TIMEOUT_MS,
  );
});

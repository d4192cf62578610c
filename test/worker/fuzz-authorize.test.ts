// Fuzzing GET /authorize. See fuzz-helpers.ts.
import { beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { pkce, REDIRECT, registerClient, type RegisteredClient } from './helpers';
import { checkAnswer, hostileStrings, OAUTH_PARAMS, params, RUNS, SEED, send, TIMEOUT_MS } from './fuzz-helpers';

/** The parameters GET /authorize reads. */
const AUTHORIZE_PARAMS = ['response_type', 'client_id', 'redirect_uri', 'code_challenge', 'code_challenge_method', 'scope', 'resource', 'state'];

describe('fuzzing GET /authorize: never a 5xx, never a code without consent, never an open redirect', () => {
  let registered: RegisteredClient;
  let challenge: string;
  beforeAll(async () => {
    registered = await registerClient();
    challenge = (await pkce()).challenge;
  });

  it(
    'GET /authorize with every OAuth parameter set to each hostile value of the corpus, alone and around a registered client',
    async () => {
      for (const value of hostileStrings) {
        await checkAnswer(await send(`/authorize?${new URLSearchParams(OAUTH_PARAMS.map((name) => [name, value]))}`), registered);
        for (const name of AUTHORIZE_PARAMS) {
          const query = new URLSearchParams({
            response_type: 'code',
            client_id: registered.client_id,
            code_challenge: challenge,
            code_challenge_method: 'S256',
            redirect_uri: REDIRECT,
          });
          query.set(name, value);
          const { location } = await checkAnswer(await send(`/authorize?${query}`), registered);
          if (location) expect(new URL(location).searchParams.has('code')).toBe(false);
        }
      }
    },
    TIMEOUT_MS,
  );

  it(
    'GET /authorize with random query strings, some around a registered client',
    async () => {
      await fc.assert(
        fc.asyncProperty(params, fc.boolean(), async (query, aroundClient) => {
          if (aroundClient) {
            for (const [name, value] of Object.entries({
              response_type: 'code',
              client_id: registered.client_id,
              code_challenge: challenge,
              code_challenge_method: 'S256',
            }))
              if (!query.has(name)) query.set(name, value);
          }
          const { status, location } = await checkAnswer(await send(`/authorize?${query}`), registered);
          // A code is only ever sent after consent: never straight from GET /authorize.
          if (location) expect(new URL(location).searchParams.has('code')).toBe(false);
          expect([200, 302, 400, 403]).toContain(status);
        }),
        { numRuns: RUNS * 2, seed: SEED },
      );
    },
    TIMEOUT_MS,
  );
});

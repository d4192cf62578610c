import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as oauth from 'oauth4webapi';
import { approveHeadlessly } from '../../scripts/lib/headless-consent.mjs';
import { startWorker, type RunningWorker } from './worker-server';

// oauth4webapi is a strict client: it checks issuer identity, RFC 9207 `iss`, PKCE, RFC 9068.
let worker: RunningWorker;
let as: oauth.AuthorizationServer;
const allowInsecureRequests = true; // http://127.0.0.1 only
const redirectUri = 'http://127.0.0.1:53682/callback';

beforeAll(async () => {
  worker = await startWorker();
  const issuer = new URL(worker.url);
  as = await oauth.processDiscoveryResponse(
    issuer,
    await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', [oauth.allowInsecureRequests]: allowInsecureRequests }),
  );
});
afterAll(() => worker?.dispose());

async function register(metadata: Partial<oauth.Client>) {
  const res = await oauth.dynamicClientRegistrationRequest(
    as,
    { redirect_uris: [redirectUri], grant_types: ['authorization_code', 'refresh_token'], ...metadata },
    { [oauth.allowInsecureRequests]: allowInsecureRequests },
  );
  expect(res.status).toBe(201); // oauth4webapi expects 201 (RFC 7591 §3.2.1)
  return oauth.processDynamicClientRegistrationResponse(res);
}

async function authorize(client: oauth.Client) {
  const codeVerifier = oauth.generateRandomCodeVerifier();
  const state = oauth.generateRandomState();
  const url = new URL(as.authorization_endpoint!);
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: client.client_id,
    redirect_uri: redirectUri,
    scope: 'mcp:tools:read offline_access',
    state,
    resource: `${worker.url}/mcp`,
    code_challenge: await oauth.calculatePKCECodeChallenge(codeVerifier),
    code_challenge_method: 'S256',
  }).toString();
  const callback = await approveHeadlessly(url.href, { username: 'oauth4webapi-user' });
  return { callbackParams: oauth.validateAuthResponse(as, client, callback, state), codeVerifier };
}

describe('oauth4webapi (strict client) against the worker over HTTP', () => {
  it('AS-2/AS-3: discovery with algorithm oauth2 accepts the byte-identical issuer and S256', () => {
    expect(as.issuer).toBe(worker.url);
    expect(as.code_challenge_methods_supported).toContain('S256');
    expect(as.authorization_response_iss_parameter_supported).toBe(true);
  });

  for (const method of ['none', 'client_secret_basic', 'client_secret_post'] as const) {
    it(`AS-11/AS-12: DCR → authorize (iss validated, RFC 9207) → code grant with resource → validateJwtAccessToken (RFC 9068) → refresh → introspect → revoke [${method}]`, async () => {
      const client = await register({ token_endpoint_auth_method: method });
      const clientAuth =
        method === 'none'
          ? oauth.None()
          : method === 'client_secret_basic'
            ? oauth.ClientSecretBasic(client.client_secret as string)
            : oauth.ClientSecretPost(client.client_secret as string);
      const { callbackParams, codeVerifier } = await authorize(client);
      const tokenRes = await oauth.authorizationCodeGrantRequest(as, client, clientAuth, callbackParams, redirectUri, codeVerifier, {
        additionalParameters: { resource: `${worker.url}/mcp` },
        [oauth.allowInsecureRequests]: allowInsecureRequests,
      });
      expect(tokenRes.headers.get('cache-control')).toBe('no-store'); // oauth4webapi does not check it
      const tokens = await oauth.processAuthorizationCodeResponse(as, client, tokenRes);
      expect(tokens.token_type).toBe('bearer'); // normalised by oauth4webapi
      expect(tokens.refresh_token).toBeTruthy();

      const claims = await oauth.validateJwtAccessToken(
        as,
        new Request(`${worker.url}/mcp`, { headers: { Authorization: `Bearer ${tokens.access_token}` } }),
        `${worker.url}/mcp`,
        {
          [oauth.allowInsecureRequests]: allowInsecureRequests,
        },
      );
      expect(claims).toMatchObject({ iss: worker.url, sub: 'oauth4webapi-user', client_id: client.client_id, aud: `${worker.url}/mcp` });

      const refreshed = await oauth.processRefreshTokenResponse(
        as,
        client,
        await oauth.refreshTokenGrantRequest(as, client, clientAuth, tokens.refresh_token!, { [oauth.allowInsecureRequests]: allowInsecureRequests }),
      );
      expect(refreshed.refresh_token).not.toBe(tokens.refresh_token);
      expect(refreshed.scope).toBe('mcp:tools:read offline_access');

      const active = await oauth.processIntrospectionResponse(
        as,
        client,
        await oauth.introspectionRequest(as, client, clientAuth, refreshed.access_token, { [oauth.allowInsecureRequests]: allowInsecureRequests }),
      );
      expect(active).toMatchObject({ active: true, client_id: client.client_id, sub: 'oauth4webapi-user' });

      await oauth.processRevocationResponse(
        await oauth.revocationRequest(as, client, clientAuth, refreshed.refresh_token!, { [oauth.allowInsecureRequests]: allowInsecureRequests }),
      );
      const inactive = await oauth.processIntrospectionResponse(
        as,
        client,
        await oauth.introspectionRequest(as, client, clientAuth, refreshed.access_token, { [oauth.allowInsecureRequests]: allowInsecureRequests }),
      );
      expect(inactive).toEqual({ active: false });
    });
  }

  it('AS-7: validateAuthResponse sees iss on an error response too (access_denied)', async () => {
    const client = await register({ token_endpoint_auth_method: 'none' });
    const state = oauth.generateRandomState();
    const url = new URL(as.authorization_endpoint!);
    url.search = new URLSearchParams({
      response_type: 'code',
      client_id: client.client_id,
      redirect_uri: redirectUri,
      state,
      code_challenge: await oauth.calculatePKCECodeChallenge(oauth.generateRandomCodeVerifier()),
      code_challenge_method: 'S256',
    }).toString();
    const callback = await approveHeadlessly(url.href, { action: 'deny' });
    expect(() => oauth.validateAuthResponse(as, client, callback, state)).toThrowError(oauth.AuthorizationResponseError);
    expect(callback.searchParams.get('iss')).toBe(worker.url);
  });
});

import { describe, expect, it } from 'vitest';
import { decodeJwt, decodeProtectedHeader, createLocalJWKSet, jwtVerify } from 'jose';
import { ISSUER, RESOURCE, basic, call, codeFor, exchangeCode, postForm, refresh, registerClient, tokensFor, type TokenResponse } from './helpers';

async function json(res: Response) {
  return res.json() as Promise<Record<string, unknown>>;
}

async function expectError(res: Response, status: number, error: string) {
  expect(res.status).toBe(status);
  expect(res.headers.get('Cache-Control')).toBe('no-store');
  expect((await json(res)).error).toBe(error);
}

describe('POST /token: authorization_code grant', () => {
  it('AS-12: answers access_token, token_type Bearer, expires_in, scope, refresh_token with Cache-Control no-store', async () => {
    const flow = await codeFor();
    const res = await exchangeCode(flow);
    expect(res.status).toBe(200);
    expect(res.headers.get('Cache-Control')).toBe('no-store');
    const body = (await res.json()) as TokenResponse;
    expect(body.token_type).toBe('Bearer');
    expect(body.expires_in).toBe(900);
    expect(body.scope).toBe('mcp:tools:read mcp:tools:write');
    expect(body.refresh_token).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/);
    expect(Object.values(body)).not.toContain(null);
  });

  it('RFC 9068 §2: the access token is an at+jwt with iss, sub, aud, client_id, scope, jti, iat, exp, scp and grnt', async () => {
    const { flow, tokens } = await tokensFor({ scope: 'mcp:tools:read' });
    const header = decodeProtectedHeader(tokens.access_token);
    expect(header).toMatchObject({ typ: 'at+jwt', alg: 'ES256' });
    expect(header.kid).toBeTruthy();
    const claims = decodeJwt(tokens.access_token);
    expect(claims).toMatchObject({
      iss: ISSUER,
      sub: 'alice',
      aud: RESOURCE,
      client_id: flow.client.client_id,
      scope: 'mcp:tools:read',
      scp: ['mcp:tools:read'],
    });
    expect(claims.exp! - claims.iat!).toBe(900);
    expect(claims.jti).toBeTruthy();
    expect(claims.grnt).toBeTruthy();
    const jwks = await (await call('/.well-known/jwks.json')).json();
    await expect(jwtVerify(tokens.access_token, createLocalJWKSet(jwks as never), { issuer: ISSUER, audience: RESOURCE, typ: 'at+jwt' })).resolves.toBeTruthy();
  });

  it('AS-5 (RFC 7636 §4.6): a wrong code_verifier is invalid_grant and leaves the code usable by the rightful client', async () => {
    const flow = await codeFor();
    await expectError(await exchangeCode(flow, { code_verifier: 'a'.repeat(43) }), 400, 'invalid_grant');
    expect((await exchangeCode(flow)).status).toBe(200);
  });

  it('AS-5: a missing code_verifier is invalid_grant', async () => {
    const flow = await codeFor();
    await expectError(await exchangeCode(flow, { code_verifier: undefined }), 400, 'invalid_grant');
  });

  const badVerifiers: [string, string][] = [
    ['42 characters', 'a'.repeat(42)],
    ['129 characters', 'a'.repeat(129)],
    ['a character outside [A-Za-z0-9-._~]', `${'a'.repeat(42)}+`],
  ];
  for (const [what, verifier] of badVerifiers) {
    it(`AS-5 (RFC 7636 §4.1): a code_verifier of ${what} is rejected`, async () => {
      const flow = await codeFor();
      await expectError(await exchangeCode(flow, { code_verifier: verifier }), 400, 'invalid_grant');
    });
  }

  it('AS-12: a redirect_uri that differs from the authorization request is invalid_grant', async () => {
    const flow = await codeFor();
    await expectError(await exchangeCode(flow, { redirect_uri: 'http://127.0.0.1:9999/other' }), 400, 'invalid_grant');
  });

  it('AS-12: redirect_uri may be omitted at the token endpoint', async () => {
    const flow = await codeFor();
    expect((await exchangeCode(flow, { redirect_uri: undefined })).status).toBe(200);
  });

  it('AS-8 (RFC 8707 §2.2): the token request may not change the resource', async () => {
    const flow = await codeFor();
    await expectError(await exchangeCode(flow, { resource: 'https://other.example/mcp' }), 400, 'invalid_target');
  });

  it('AS-8: without resource at the token endpoint the authorized resource is kept', async () => {
    const flow = await codeFor();
    const body = (await (await exchangeCode(flow, { resource: undefined })).json()) as TokenResponse;
    expect(decodeJwt(body.access_token).aud).toBe(RESOURCE);
  });

  it('RFC 6749 §4.1.3: a code issued to another client is invalid_grant', async () => {
    const flow = await codeFor();
    const other = await registerClient();
    await expectError(await exchangeCode({ ...flow, client: other }), 400, 'invalid_grant');
  });

  it('AS-13: a code is single use; a replay is refused and revokes the tokens issued from it', async () => {
    const flow = await codeFor();
    const first = (await (await exchangeCode(flow)).json()) as TokenResponse;
    await expectError(await exchangeCode(flow), 400, 'invalid_grant');
    // the refresh token of the first exchange is dead, and so is the access token
    await expectError(await refresh(flow.client, first.refresh_token!), 400, 'invalid_grant');
    const introspection = await postForm('/introspect', { token: first.access_token, client_id: flow.client.client_id });
    expect(await introspection.json()).toEqual({ active: false });
  });

  it('AS-13: two concurrent exchanges of one code: exactly one succeeds', async () => {
    const flow = await codeFor();
    const results = await Promise.all(Array.from({ length: 8 }, () => exchangeCode(flow)));
    const statuses = results.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    expect(statuses.filter((s) => s === 400)).toHaveLength(7);
  });

  it('AS-13: an unknown or malformed code is invalid_grant', async () => {
    const flow = await codeFor();
    await expectError(await exchangeCode(flow, { code: 'not-a-code' }), 400, 'invalid_grant');
    await expectError(await exchangeCode(flow, { code: `${flow.code.split('.')[0]}.${'A'.repeat(43)}` }), 400, 'invalid_grant');
  });

  it('RFC 6749 §5.2: a missing grant_type is invalid_request and an unknown one unsupported_grant_type', async () => {
    const client = await registerClient();
    await expectError(await postForm('/token', { client_id: client.client_id }), 400, 'invalid_request');
    await expectError(await postForm('/token', { grant_type: 'client_credentials', client_id: client.client_id }), 400, 'unsupported_grant_type');
  });

  it('RFC 6749 §5.2: a client registered without refresh_token gets no refresh token and may not refresh', async () => {
    const client = await registerClient({ grant_types: ['authorization_code'] });
    const { tokens } = await tokensFor({ client });
    expect(tokens.refresh_token).toBeUndefined();
    await expectError(await refresh(client, 'x.y'), 400, 'unauthorized_client');
  });

  it('AS-12: the token endpoint accepts only form-encoded bodies', async () => {
    const flow = await codeFor();
    const res = await call('/token', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ grant_type: 'authorization_code', code: flow.code }),
    });
    await expectError(res, 400, 'invalid_request');
  });
});

describe('POST /token: client authentication (AS-12)', () => {
  it('client_secret_basic: the right secret works', async () => {
    const client = await registerClient({ token_endpoint_auth_method: 'client_secret_basic' });
    const { tokens } = await tokensFor({ client });
    expect(tokens.access_token).toBeTruthy();
  });

  it('client_secret_basic: a wrong secret is invalid_client 401 with WWW-Authenticate', async () => {
    const client = await registerClient({ token_endpoint_auth_method: 'client_secret_basic' });
    const flow = await codeFor({ client: { ...client } });
    const res = await exchangeCode({ ...flow, client: { ...client, client_secret: `${client.client_secret}x` } });
    await expectError(res, 401, 'invalid_client');
    expect(res.headers.get('WWW-Authenticate')).toMatch(/^Basic /);
  });

  it('client_secret_post: works in the body, and a wrong secret is invalid_client 401', async () => {
    const client = await registerClient({ token_endpoint_auth_method: 'client_secret_post' });
    expect((await tokensFor({ client })).tokens.access_token).toBeTruthy();
    const flow = await codeFor({ client });
    await expectError(await exchangeCode({ ...flow, client: { ...client, client_secret: 'wrong' } }), 401, 'invalid_client');
  });

  it('the registered method is enforced: a basic client may not authenticate with none or in the body', async () => {
    const client = await registerClient({ token_endpoint_auth_method: 'client_secret_basic' });
    const flow = await codeFor({ client });
    await expectError(await exchangeCode({ ...flow, client: { ...client, token_endpoint_auth_method: 'none' } }), 401, 'invalid_client');
    await expectError(await exchangeCode({ ...flow, client: { ...client, token_endpoint_auth_method: 'client_secret_post' } }), 401, 'invalid_client');
  });

  it('the registered method is enforced: a public client may not present a secret', async () => {
    const client = await registerClient();
    const flow = await codeFor({ client });
    const res = await postForm(
      '/token',
      { grant_type: 'authorization_code', code: flow.code, code_verifier: flow.verifier },
      { Authorization: basic(client.client_id, 'anything') },
    );
    await expectError(res, 401, 'invalid_client');
  });

  it('an unknown client is invalid_client 401', async () => {
    await expectError(await postForm('/token', { grant_type: 'authorization_code', code: 'a.b', client_id: 'nobody' }), 401, 'invalid_client');
  });

  it('RFC 6749 §2.3: using two authentication methods at once is invalid_request', async () => {
    const client = await registerClient({ token_endpoint_auth_method: 'client_secret_basic' });
    const res = await postForm(
      '/token',
      { grant_type: 'authorization_code', code: 'a.b', client_secret: client.client_secret! },
      { Authorization: basic(client.client_id, client.client_secret!) },
    );
    await expectError(res, 400, 'invalid_request');
  });
});

describe('POST /token: refresh_token grant', () => {
  it('AS-14: rotates the refresh token on every use and keeps the scope when none is asked', async () => {
    const { flow, tokens } = await tokensFor();
    const res = await refresh(flow.client, tokens.refresh_token!);
    expect(res.status).toBe(200);
    const next = (await res.json()) as TokenResponse;
    expect(next.refresh_token).toBeTruthy();
    expect(next.refresh_token).not.toBe(tokens.refresh_token);
    expect(next.scope).toBe(tokens.scope);
    expect(decodeJwt(next.access_token).jti).not.toBe(decodeJwt(tokens.access_token).jti);
  });

  it('AS-14: scope can narrow but never widen', async () => {
    const { flow, tokens } = await tokensFor({ scope: 'mcp:tools:read' });
    await expectError(await refresh(flow.client, tokens.refresh_token!, { scope: 'mcp:tools:read mcp:tools:write' }), 400, 'invalid_scope');
    const wide = await tokensFor();
    const narrowed = (await (await refresh(wide.flow.client, wide.tokens.refresh_token!, { scope: 'mcp:tools:read' })).json()) as TokenResponse;
    expect(narrowed.scope).toBe('mcp:tools:read');
    // the grant keeps its scope: a later refresh without scope gets all of it back
    const again = (await (await refresh(wide.flow.client, narrowed.refresh_token!)).json()) as TokenResponse;
    expect(again.scope).toBe('mcp:tools:read mcp:tools:write');
  });

  it('AS-14 (RFC 9700 §4.14.2): presenting a rotated refresh token revokes the whole grant', async () => {
    const { flow, tokens } = await tokensFor();
    const rotated = (await (await refresh(flow.client, tokens.refresh_token!)).json()) as TokenResponse;
    await expectError(await refresh(flow.client, tokens.refresh_token!), 400, 'invalid_grant');
    // the family is dead: the newest refresh token and the newest access token too
    await expectError(await refresh(flow.client, rotated.refresh_token!), 400, 'invalid_grant');
    const introspection = await postForm('/introspect', { token: rotated.access_token, client_id: flow.client.client_id });
    expect(await introspection.json()).toEqual({ active: false });
  });

  it('AS-14: parallel refreshes of one token: exactly one succeeds', async () => {
    const { flow, tokens } = await tokensFor();
    const results = await Promise.all(Array.from({ length: 6 }, () => refresh(flow.client, tokens.refresh_token!)));
    expect(results.filter((r) => r.status === 200)).toHaveLength(1);
  });

  it('RFC 6749 §6: a refresh token is bound to its client', async () => {
    const { tokens } = await tokensFor();
    const other = await registerClient();
    await expectError(await refresh(other, tokens.refresh_token!), 400, 'invalid_grant');
  });

  it('AS-8: a refresh may not change the resource', async () => {
    const { flow, tokens } = await tokensFor();
    await expectError(await refresh(flow.client, tokens.refresh_token!, { resource: 'https://other.example/mcp' }), 400, 'invalid_target');
  });

  it('an unknown refresh token is invalid_grant', async () => {
    const client = await registerClient();
    await expectError(await refresh(client, 'AAAAAAAAAAAAAAAAAAAAAA.BBBB'), 400, 'invalid_grant');
    await expectError(await refresh(client, 'garbage'), 400, 'invalid_grant');
  });
});

import { describe, expect, it } from 'vitest';
import { decodeJwt } from 'jose';
import { requireMcpAuth } from '../../src/middleware/hono';
import { createTokenVerifier, verifyAccessToken, type McpGrant } from '../../src/verify/index';
import { grantex } from '../../src/authority/grantex/config';
import { FAKE_GRANTEX_API_KEY } from '../fixtures/fake-grantex/app';
import { RESOURCE, authorizeUrl, pkce, registerClient } from './helpers';
import { GRANTEX, STRANGER_API_KEY, grantexSetup as sharedGrantexSetup, type GrantexSetup } from './grantex-setup';

/**
 * One Grantex service signs every developer's grant tokens with one key and one `iss`, and
 * `audience` and `principalId` at `/v1/authorize` are free-form (docs/grantex.md, "Grant tokens and trust"):
 * a valid signature, issuer and audience say nothing about whose grant it is.
 */
function setup() {
  const s = sharedGrantexSetup({ sandbox: true, principal: 'known' });
  s.host.get('/mcp', s.auth.protect({ scopes: ['mcp:tools:read'] }), (c) => c.json(c.get('mcpGrant')));
  const options = {
    profile: 'grantex' as const,
    issuer: s.fake.control.issuer,
    audience: RESOURCE,
    jwksUri: `${GRANTEX}/.well-known/jwks.json`,
    fetch: s.fakeFetch,
    agent: s.agent.did,
    developer: s.fake.control.developerId(),
  };
  s.host.get('/rs', requireMcpAuth({ ...options, scopes: ['mcp:tools:read'] }), (c) => c.json(c.get('mcpGrant')));
  return { ...s, verifyOptions: options };
}

/** A grant token minted straight at Grantex with `apiKey` for `agentId`, naming our resource and alice. */
async function mintAtGrantex(s: GrantexSetup, apiKey: string, agentId: string): Promise<string> {
  const call = async (path: string, body: unknown) => {
    const res = await s.fakeFetch(`${GRANTEX}${path}`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${apiKey}`, 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify(body),
    });
    expect(res.status).toBe(201);
    return (await res.json()) as Record<string, string>;
  };
  const { code } = await call('/v1/authorize', { agentId, principalId: 'alice', scopes: ['mcp:tools:read'], audience: RESOURCE });
  return (await call('/v1/token', { code, agentId })).grantToken!;
}

/** A token obtained the proper way: through this server's /authorize and /token. */
async function ourToken(s: GrantexSetup): Promise<string> {
  const client = await registerClient();
  const { verifier, challenge } = await pkce();
  const back = new URL((await s.request(authorizeUrl(client, challenge))).headers.get('Location')!);
  const res = await s.postForm('/token', {
    grant_type: 'authorization_code',
    code: back.searchParams.get('code')!,
    code_verifier: verifier,
    client_id: client.client_id,
    redirect_uri: client.redirect_uris[0],
    resource: RESOURCE,
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { access_token: string }).access_token;
}

const bearer = (token: string) => ({ headers: { Authorization: `Bearer ${token}` } });

describe('Grantex contract (trust): only grants of our agent and developer are accepted', () => {
  it('Grantex contract (trust): a grant token another Grantex developer minted for our resource gets 401 at protect() and at requireMcpAuth; ours gets 200', async () => {
    const s = setup();
    const stranger = s.fake.control.registerAgent({ name: 'stranger', apiKey: STRANGER_API_KEY });
    const foreign = await mintAtGrantex(s, STRANGER_API_KEY, stranger.agentId);
    // Same issuer, same key, our resource as audience, alice as subject.
    expect(decodeJwt(foreign)).toMatchObject({ iss: s.fake.control.issuer, aud: RESOURCE, sub: 'alice' });
    for (const path of ['/mcp', '/rs']) {
      const res = await s.request(path, bearer(foreign));
      expect(res.status).toBe(401);
      expect(res.headers.get('WWW-Authenticate')).toContain('error="invalid_token"');
    }
    const own = await ourToken(s);
    for (const path of ['/mcp', '/rs']) expect((await s.request(path, bearer(own))).status).toBe(200);
  });

  it('Grantex contract (trust): a grant token of our developer but another agent gets 401 at protect() and at requireMcpAuth', async () => {
    const s = setup();
    const other = s.fake.control.registerAgent({ name: 'another agent' });
    const token = await mintAtGrantex(s, FAKE_GRANTEX_API_KEY, other.agentId);
    expect(decodeJwt(token).dev).toBe(s.fake.control.developerId());
    for (const path of ['/mcp', '/rs']) expect((await s.request(path, bearer(token))).status).toBe(401);
    await expect(verifyAccessToken(token, s.verifyOptions)).rejects.toMatchObject({ code: 'wrong_agent' });
  });

  it('Grantex contract (trust): a grant token of our agent and developer that was not issued through this server gets 401 at protect()', async () => {
    const s = setup();
    const token = await mintAtGrantex(s, FAKE_GRANTEX_API_KEY, s.agent.agentId);
    expect(decodeJwt(token)).toMatchObject({ agt: s.agent.did, dev: s.fake.control.developerId(), aud: RESOURCE });
    const res = await s.request('/mcp', bearer(token));
    expect(res.status).toBe(401);
    expect(res.headers.get('WWW-Authenticate')).toContain('error="invalid_token"');
    // Presented again (the remembered-token path), still refused.
    expect((await s.request('/mcp', bearer(token))).status).toBe(401);
  });

  it('Grantex contract (trust): requireMcpAuth and verifyAccessToken with profile grantex refuse to start without agent or developer', async () => {
    const base = { profile: 'grantex' as const, issuer: 'https://grantex.dev', audience: RESOURCE, jwksUri: `${GRANTEX}/.well-known/jwks.json` };
    expect(() => requireMcpAuth({ ...base, developer: 'dev_1' })).toThrow(TypeError);
    expect(() => requireMcpAuth({ ...base, developer: 'dev_1' })).toThrow(/agent/);
    expect(() => requireMcpAuth({ ...base, agent: 'did:grantex:ag_1' })).toThrow(/developer/);
    await expect(verifyAccessToken('x.y.z', { ...base, agent: 'did:grantex:ag_1' })).rejects.toThrow(/developer/);
    expect(() => requireMcpAuth({ ...base, agent: 'did:grantex:ag_1', developer: 'dev_1' })).not.toThrow();
    // protect() takes both from the authority: its configuration needs the developer id.
    expect(() => grantex({ baseUrl: GRANTEX, apiKey: FAKE_GRANTEX_API_KEY, agentId: 'ag_1' } as Parameters<typeof grantex>[0])).toThrow(/developerId/);
  });

  it('Grantex contract (trust): the grant check runs once per token, its answer remembered with the verified token; a refused grant is never remembered', async () => {
    const s = setup();
    const own = await ourToken(s);
    const foreign = await mintAtGrantex(s, FAKE_GRANTEX_API_KEY, s.agent.agentId);
    await verifyAccessToken(own, s.verifyOptions); // the isolate's copy of Grantex's key set is loaded
    const checked: string[] = [];
    const verify = createTokenVerifier({
      ...s.verifyOptions,
      verifiedTokenCacheSize: 1000, // a remote set's tokens are remembered only when asked
      checkGrant: async (grant: McpGrant) => {
        checked.push(grant.jti);
        return grant.raw === own;
      },
    });
    for (let i = 0; i < 3; i++) expect((await verify(own)).sub).toBe('carol');
    for (let i = 0; i < 2; i++) await expect(verify(foreign)).rejects.toMatchObject({ code: 'unknown_grant' });
    expect(checked).toEqual([decodeJwt(own).jti, decodeJwt(foreign).jti, decodeJwt(foreign).jti]);
  });
});

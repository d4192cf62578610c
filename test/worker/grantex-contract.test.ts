/**
 * The fake Grantex against what the reference service really does (contract cases in
 * test/fixtures/fake-grantex/contract.ts), plus the fake's own fault injection.
 *
 * The cases take a `ContractTarget` ({baseUrl, publicBaseUrl, fetch, apiKey, agentId, …}). Here
 * `contractTarget()` builds one on a fresh fake per case. A real service is checked with the same
 * cases from node (the worker pool cannot reach loopback): `node scripts/grantex-contract-run.mjs`.
 */
import { describe, expect, it } from 'vitest';
import { FAKE_GRANTEX_API_KEY, createFakeGrantex, fakeGrantexFetch, type FakeGrantex, type FakeGrantexOptions } from '../fixtures/fake-grantex/app';
import { contractCases, type ContractTarget } from '../fixtures/fake-grantex/contract';
import { decideAtConsent } from '../fixtures/fake-grantex/consent';

const API = 'https://api.grantex.test';
const PUBLIC = 'https://grantex.test';
const STRANGER_KEY = 'gx_test_contract_stranger_0002';
const SANDBOX_KEY = 'gx_test_contract_sandbox_00003';
const AGENT_SCOPES = ['mcp:tools:read', 'mcp:tools:write'];

/** A fresh fake as a contract target: API and consent pages on two origins, plus a sandbox developer. */
function contractTarget(options: FakeGrantexOptions = {}): ContractTarget & { fake: FakeGrantex } {
  const fake = createFakeGrantex({ apiKeys: [FAKE_GRANTEX_API_KEY, STRANGER_KEY], publicBaseUrl: PUBLIC, ...options });
  // The fake's sandbox mode is per instance: the sandbox developer lives on a second one, reached by its key.
  const sandbox = createFakeGrantex({ apiKeys: [SANDBOX_KEY], publicBaseUrl: PUBLIC, sandbox: true });
  const live = fakeGrantexFetch(fake);
  const sandboxFetch = fakeGrantexFetch(sandbox);
  const fetchFn = ((input: RequestInfo | URL, init?: RequestInit) => {
    const auth = new Headers(init?.headers).get('Authorization');
    return auth === `Bearer ${SANDBOX_KEY}` ? sandboxFetch(input, init) : live(input, init);
  }) as typeof fetch;
  return {
    fake,
    baseUrl: API,
    publicBaseUrl: PUBLIC,
    fetch: fetchFn,
    apiKey: FAKE_GRANTEX_API_KEY,
    agentId: fake.control.registerAgent({ name: 'Contract agent', scopes: AGENT_SCOPES }).agentId,
    agentScopes: AGENT_SCOPES,
    strangerApiKey: STRANGER_KEY,
    strangerAgentId: fake.control.registerAgent({ name: 'Stranger agent', scopes: AGENT_SCOPES, apiKey: STRANGER_KEY }).agentId,
    sandboxApiKey: SANDBOX_KEY,
    sandboxAgentId: sandbox.control.registerAgent({ name: 'Sandbox agent', scopes: AGENT_SCOPES, apiKey: SANDBOX_KEY }).agentId,
    advanceTime: (ms) => fake.control.advanceTime(ms),
  };
}

describe('contract: the fake Grantex does what the reference service does', () => {
  it.each(contractCases.map((c) => [c.name, c] as const))('%s', async (_name, contractCase) => {
    await contractCase.run(contractTarget());
  });
});

describe('fake Grantex: configurable limits', () => {
  it('at most maxActiveGrants active grants per developer: 402 PLAN_LIMIT_EXCEEDED at authorize and at the code exchange', async () => {
    const t = contractTarget({ maxActiveGrants: 1 });
    const post = (path: string, body: unknown, key = t.apiKey) =>
      t.fetch(`${API}${path}`, { method: 'POST', headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    const start = async () =>
      (await (await post('/v1/authorize', { agentId: t.agentId, principalId: 'u', scopes: ['a'], redirectUri: 'https://c.example/cb' })).json()) as {
        consentUrl: string;
      };
    const codeOf = async (consentUrl: string) => {
      const outcome = await decideAtConsent(t.fetch, consentUrl);
      if (outcome.kind !== 'redirect') throw new Error('no redirect');
      return outcome.location.searchParams.get('code')!;
    };
    const [a, b] = [await start(), await start()];
    const [codeA, codeB] = [await codeOf(a.consentUrl), await codeOf(b.consentUrl)];
    expect((await post('/v1/token', { code: codeA, agentId: t.agentId })).status).toBe(201);
    const second = await post('/v1/token', { code: codeB, agentId: t.agentId });
    expect(second.status).toBe(402);
    expect(await second.json()).toMatchObject({ code: 'PLAN_LIMIT_EXCEEDED' });
    const third = await post('/v1/authorize', { agentId: t.agentId, principalId: 'u', scopes: ['a'] });
    expect(third.status).toBe(402);
    // Another developer has its own allowance.
    expect((await post('/v1/authorize', { agentId: t.strangerAgentId, principalId: 'u', scopes: ['a'] }, t.strangerApiKey)).status).toBe(201);
  });

  it('limits can be raised for a test suite (rateLimits.planPerMinute: Infinity sends no X-RateLimit-*)', async () => {
    const t = contractTarget({ rateLimits: { planPerMinute: Infinity, authorizePerMinute: Infinity } });
    for (let i = 0; i < 120; i++) {
      const res = await t.fetch(`${API}/v1/authorize`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${t.apiKey}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ agentId: t.agentId, principalId: 'u', scopes: ['a'] }),
      });
      expect(res.status).toBe(201);
      if (i === 119) expect(res.headers.get('X-RateLimit-Limit')).toBe('5000'); // the per-IP default remains
    }
  });

  it('CORS as the reference service: allowed origins get credentials and the rate-limit headers exposed; others get nothing', async () => {
    const t = contractTarget();
    const preflight = await t.fetch(`${API}/v1/consent/areq_x/approve`, {
      method: 'OPTIONS',
      headers: { Origin: PUBLIC, 'Access-Control-Request-Method': 'POST' },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('Access-Control-Allow-Origin')).toBe(PUBLIC);
    expect(preflight.headers.get('Access-Control-Allow-Credentials')).toBe('true');
    const read = await t.fetch(`${API}/v1/grants`, { headers: { Origin: PUBLIC, Authorization: `Bearer ${t.apiKey}` } });
    expect(read.headers.get('Access-Control-Expose-Headers')).toContain('X-RateLimit-Remaining');
    const other = await t.fetch(`${API}/v1/grants`, { headers: { Origin: 'https://evil.example', Authorization: `Bearer ${t.apiKey}` } });
    expect(other.headers.get('Access-Control-Allow-Origin')).toBeNull();
  });
});

describe('fake Grantex: fault injection', () => {
  async function exchangeSetup() {
    const t = contractTarget();
    const auth = (await (
      await t.fetch(`${API}/v1/authorize`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${t.apiKey}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ agentId: t.agentId, principalId: 'u', scopes: ['a'], redirectUri: 'https://c.example/cb' }),
      })
    ).json()) as { consentUrl: string };
    const outcome = await decideAtConsent(t.fetch, auth.consentUrl);
    if (outcome.kind !== 'redirect') throw new Error('no redirect');
    const code = outcome.location.searchParams.get('code')!;
    const exchange = (init: RequestInit = {}) =>
      t.fetch(`${API}/v1/token`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${t.apiKey}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ code, agentId: t.agentId }),
        ...init,
      });
    return { t, code, exchange };
  }

  it('loseNextResponse network-error: the exchange happened (code spent, grant active) but fetch rejects with a TypeError', async () => {
    const { t, code, exchange } = await exchangeSetup();
    t.fake.control.loseNextResponse({ path: '/v1/token', as: 'network-error' });
    await expect(exchange()).rejects.toThrow(TypeError);
    expect(t.fake.control.authRequestByCode(code)?.status).toBe('consumed');
    expect(t.fake.control.calls.at(-1)).toMatchObject({ path: '/v1/token', status: 201, lost: 'network-error' });
    expect((await exchange()).status).toBe(400); // a retry finds the code spent
  });

  it('loseNextResponse timeout: never settles until the signal aborts, then rejects with its reason', async () => {
    const { t, code, exchange } = await exchangeSetup();
    t.fake.control.loseNextResponse({ path: '/v1/token', as: 'timeout' });
    const controller = new AbortController();
    const pending = exchange({ signal: controller.signal });
    let settled = false;
    void pending.then(
      () => (settled = true),
      () => (settled = true),
    );
    await new Promise((r) => setTimeout(r, 5));
    expect(settled).toBe(false);
    const reason = new Error('client timeout');
    controller.abort(reason);
    await expect(pending).rejects.toBe(reason);
    expect(t.fake.control.authRequestByCode(code)?.status).toBe('consumed');
  });

  it.each([502, 504] as const)('loseNextResponse %i: a proxy HTML page, after the state changed', async (as) => {
    const { t, code, exchange } = await exchangeSetup();
    t.fake.control.loseNextResponse({ path: /^\/v1\/token$/, method: 'POST', as });
    const res = await exchange();
    expect(res.status).toBe(as);
    expect(res.headers.get('Content-Type')).toContain('text/html');
    expect(t.fake.control.authRequestByCode(code)?.status).toBe('consumed');
    expect((await exchange()).status).toBe(400); // only the next one was lost
  });

  it('delayNext: beforeMs holds a request before it changes state, afterMs holds the answer after it did', async () => {
    const { t, code, exchange } = await exchangeSetup();
    t.fake.control.delayNext({ path: '/v1/token', beforeMs: 15 });
    const slow = exchange();
    const fast = exchange(); // overtakes the delayed one
    expect([(await fast).status, (await slow).status]).toEqual([201, 400]);

    const second = await exchangeSetup();
    second.t.fake.control.delayNext({ path: '/v1/token', afterMs: 15 });
    const answered = second.exchange();
    await new Promise((r) => setTimeout(r, 5));
    expect(second.t.fake.control.authRequestByCode(second.code)?.status).toBe('consumed'); // state changed, answer held
    expect((await answered).status).toBe(201);
    expect(t.fake.control.authRequestByCode(code)?.status).toBe('consumed');
  });
});

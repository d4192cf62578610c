import { describe, expect, it } from 'vitest';
import { env } from 'cloudflare:workers';
import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { decodeJwt } from 'jose';
import { stateObjectName, stateObjectNames } from '../../src/storage/keys';
import type { McpAuthState } from '../../src/storage/state-object';
import { ISSUER, RESOURCE, authorizeUrl, form, pkce, registerClient, type RegisteredClient } from './helpers';
import { GRANTEX, grantexSetup, type GrantexSetup } from './grantex-setup';
import { FAKE_GRANTEX_API_KEY } from '../fixtures/fake-grantex/app';

/**
 * Grantex contract ("Idempotency-Key", "lifetimes"): codes and refresh tokens are single-use and a
 * lost answer cannot be replayed. Whatever the interleaving of parallel /token calls and lost
 * answers, every Grantex grant created for a code is linked to a live grant of ours or revoked at
 * Grantex, and no client holds a live token for a grant we have ended.
 */

const namespace = (env as unknown as { MCP_AUTH_STATE: DurableObjectNamespace<McpAuthState> }).MCP_AUTH_STATE;
const stateObject = (name: string) => namespace.get(namespace.idFromName(stateObjectName(ISSUER, name)));

/** mulberry32: a small seeded generator, so every interleaving can be replayed from its seed. */
function seeded(seed: number): (max: number) => number {
  let a = seed >>> 0;
  return (max) => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * max);
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Sends a form to the server and waits for everything it deferred (waitUntil) to finish. */
async function post(s: GrantexSetup, path: string, values: Record<string, string | undefined>): Promise<Response> {
  const ctx = createExecutionContext();
  const res = await s.host.fetch(
    new Request(new URL(path, ISSUER), { method: 'POST', body: form(values), headers: { 'Content-Type': 'application/x-www-form-urlencoded' } }),
    env,
    ctx,
  );
  await res.clone().arrayBuffer();
  await waitOnExecutionContext(ctx);
  return res;
}

interface Authorized {
  client: RegisteredClient;
  code: string;
  verifier: string;
}

async function authorized(s: GrantexSetup): Promise<Authorized> {
  const client = await registerClient();
  const { verifier, challenge } = await pkce();
  const back = new URL((await s.request(authorizeUrl(client, challenge))).headers.get('Location')!);
  const code = back.searchParams.get('code');
  expect(code).toBeTruthy();
  return { client, code: code!, verifier };
}

const exchange = (s: GrantexSetup, a: Authorized) =>
  post(s, '/token', {
    grant_type: 'authorization_code',
    code: a.code,
    code_verifier: a.verifier,
    client_id: a.client.client_id,
    redirect_uri: a.client.redirect_uris[0],
    resource: RESOURCE,
  });

/** Every grant the fake Grantex holds for our developer (newest first), as its list endpoint answers. */
async function grantsAtGrantex(s: GrantexSetup): Promise<Array<{ grantId: string; status: string }>> {
  const res = await s.fakeFetch(`${GRANTEX}/v1/grants?agentId=${s.agent.agentId}`, {
    headers: { Authorization: `Bearer ${FAKE_GRANTEX_API_KEY}`, Accept: 'application/json' },
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { grants: Array<{ grantId: string; status: string }> }).grants;
}

/** Whether the Grantex grant is linked to a live grant of ours that answers for this token. */
async function liveHere(upstreamGrantId: string, jti: string): Promise<boolean> {
  const link = await stateObject(stateObjectNames.upstreamGrant(upstreamGrantId)).upstreamLink();
  if (!link) return false;
  return (await stateObject(stateObjectNames.grant(link.grantId)).accessTokenStatus(jti)).active;
}

/**
 * The invariant of the issue, checked once everything (deferred work included) has settled:
 * - each Grantex grant is revoked there, or is held by exactly one answered token whose grant of
 *   ours is live;
 * - each token handed out is live at Grantex exactly when its grant of ours is live.
 */
async function expectNoGrantOutlivesOurs(s: GrantexSetup, responses: Response[]): Promise<void> {
  const issued: Array<{ grnt: string; jti: string }> = [];
  for (const res of responses) {
    expect([200, 400]).toContain(res.status);
    const body = (await res.json()) as { access_token?: string; error?: string };
    if (res.status === 200) {
      const claims = decodeJwt(body.access_token!);
      issued.push({ grnt: String(claims.grnt), jti: String(claims.jti) });
    } else expect(body.error).toBe('invalid_grant');
  }
  for (const grant of await grantsAtGrantex(s)) {
    if (grant.status === 'revoked') continue;
    const holders = issued.filter((t) => t.grnt === grant.grantId);
    expect(holders, `active Grantex grant ${grant.grantId} was answered to no client`).toHaveLength(1);
    expect(await liveHere(grant.grantId, holders[0]!.jti), `active Grantex grant ${grant.grantId} has no live grant of ours`).toBe(true);
  }
  for (const token of issued) {
    const upstreamActive = s.fake.control.grant(token.grnt)?.status === 'active';
    expect(await liveHere(token.grnt, token.jti)).toBe(upstreamActive);
  }
}

/** A door a test opens: `reached` resolves when the held request arrives, `open` lets it go on. */
function door() {
  let arrive!: () => void;
  let open!: () => void;
  const reached = new Promise<void>((resolve) => (arrive = resolve));
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { reached, open, hold: () => (arrive(), opened) };
}

describe('Grantex: parallel redemptions of one code (issue: no Grantex grant outlives ours)', () => {
  // Where the replay (the same code, the same client, the right verifier) runs to its end, relative
  // to the first redemption's call to Grantex.
  it.each([
    ['before Grantex handles the exchange', 'beforeHandled', [400, 400]],
    ['after Grantex issued the grant, before its answer arrives', 'afterHandled', [400, 400]],
    ['after the first redemption answered', undefined, [200, 400]],
  ] as const)('a replay %s: every Grantex grant is revoked or held by a live grant of ours', async (_, point, statuses) => {
    const s = grantexSetup({ sandbox: true, principal: 'known' });
    const a = await authorized(s);
    const held = door();
    if (point) s.fake.control.delayNext({ path: '/v1/token', [point]: held.hold });
    const first = exchange(s, a);
    if (point) await held.reached;
    else await first;
    const replay = await exchange(s, a);
    held.open();
    const responses = [await first, replay];
    expect(responses.map((r) => r.status)).toEqual(statuses);
    expect((await grantsAtGrantex(s)).map((g) => g.status)).toEqual(['revoked']);
    await expectNoGrantOutlivesOurs(s, responses);
  });

  it('a replay while the first redemption revokes its Grantex grant, and a third call after both', async () => {
    const s = grantexSetup({ sandbox: true, principal: 'known' });
    const a = await authorized(s);
    const atGrantex = door();
    const revoking = door();
    s.fake.control.delayNext({ path: '/v1/token', afterHandled: atGrantex.hold });
    s.fake.control.delayNext({ path: /^\/v1\/grants\//, method: 'DELETE', beforeHandled: revoking.hold });
    const first = exchange(s, a);
    await atGrantex.reached;
    const second = await exchange(s, a);
    atGrantex.open();
    await revoking.reached;
    const third = await exchange(s, a);
    revoking.open();
    const responses = [await first, second, third];
    expect(responses.map((r) => r.status)).toEqual([400, 400, 400]);
    expect((await grantsAtGrantex(s)).map((g) => g.status)).toEqual(['revoked']);
    await expectNoGrantOutlivesOurs(s, responses);
  });

  it('seeded random delays at Grantex and between 2–3 parallel calls: the invariant holds in every round', async () => {
    for (let seed = 1; seed <= 12; seed++) {
      const random = seeded(seed);
      const s = grantexSetup({ sandbox: true, principal: 'known' });
      const a = await authorized(s);
      s.fake.control.delayNext({ path: '/v1/token', times: 3, beforeMs: random(12), afterMs: random(12) });
      s.fake.control.delayNext({ path: /^\/v1\/grants\//, method: 'DELETE', times: 3, beforeMs: random(8) });
      const responses = await Promise.all(
        Array.from({ length: 2 + random(2) }, async (_, i) => {
          await sleep(i === 0 ? 0 : random(20));
          return exchange(s, a);
        }),
      );
      expect(responses.filter((r) => r.status === 200).length).toBeLessThanOrEqual(1);
      await expectNoGrantOutlivesOurs(s, responses);
    }
  }, 30_000);
});

describe('Grantex: lost answers (issue: no blind retries; end an unknown outcome cleanly)', () => {
  it('a code exchange whose answer is lost (Grantex did it): asked once more, refused, the Grantex grant is found and revoked, the client gets invalid_grant', async () => {
    for (const as of ['network-error', 502, 504] as const) {
      const s = grantexSetup({ sandbox: true, principal: 'known' });
      const a = await authorized(s);
      s.fake.control.loseNextResponse({ path: '/v1/token', as });
      const res = await exchange(s, a);
      expect(res.status).toBe(400);
      expect(await res.clone().json()).toMatchObject({ error: 'invalid_grant', error_description: expect.stringContaining('Start a new authorization') });
      const grants = await grantsAtGrantex(s);
      expect(grants.map((g) => g.status)).toEqual(['revoked']);
      expect(s.fake.control.calls.filter((c) => c.path === '/v1/token')).toHaveLength(2);
      await expectNoGrantOutlivesOurs(s, [res]);
      // The code is spent: a retry is refused too.
      expect((await exchange(s, a)).status).toBe(400);
    }
  });

  it('a code exchange answered 502 by a gateway that never reached Grantex: asked once more, tokens issued, one Grantex grant', async () => {
    const s = grantexSetup({ sandbox: true, principal: 'known' });
    const a = await authorized(s);
    s.fake.control.failNext({ status: 502, path: '/v1/token' });
    const res = await exchange(s, a);
    expect(res.status).toBe(200);
    const grants = await grantsAtGrantex(s);
    expect(grants.map((g) => g.status)).toEqual(['active']);
    await expectNoGrantOutlivesOurs(s, [res]);
  });

  it('a lost exchange answer while Grantex stays down: 503 with Retry-After and the code kept; the retry finds the Grantex grant, revokes it and answers invalid_grant', async () => {
    const s = grantexSetup({ sandbox: true, principal: 'known' });
    const a = await authorized(s);
    s.fake.control.loseNextResponse({ path: '/v1/token', as: 'network-error' });
    // Grantex did the exchange; from then on it answers 503 (every retry of the transport included).
    s.fake.control.delayNext({
      path: '/v1/token',
      afterHandled: async () => s.fake.control.failNext({ status: 503, path: '/v1/token', times: 3, retryAfter: 7 }),
    });
    const first = await exchange(s, a);
    expect(first.status).toBe(503);
    expect(first.headers.get('Retry-After')).toBe('7');
    expect(await first.json()).toMatchObject({ error: 'temporarily_unavailable' });
    expect((await grantsAtGrantex(s)).map((g) => g.status)).toEqual(['active']); // not known yet

    const retry = await exchange(s, a);
    expect(retry.status).toBe(400);
    expect((await grantsAtGrantex(s)).map((g) => g.status)).toEqual(['revoked']);
    await expectNoGrantOutlivesOurs(s, [retry]);
  });

  it('a refresh whose answer is lost (Grantex rotated): asked once more, refused, our grant and the Grantex grant end, the client gets invalid_grant', async () => {
    for (const as of ['network-error', 504] as const) {
      const s = grantexSetup({ sandbox: true, principal: 'known' });
      const a = await authorized(s);
      const issued = (await (await exchange(s, a)).json()) as { access_token: string; refresh_token: string };
      s.fake.control.loseNextResponse({ path: '/v1/token/refresh', as });
      const res = await post(s, '/token', { grant_type: 'refresh_token', refresh_token: issued.refresh_token, client_id: a.client.client_id });
      expect(res.status).toBe(400);
      expect(await res.clone().json()).toMatchObject({ error: 'invalid_grant', error_description: expect.stringContaining('Start a new authorization') });
      expect((await grantsAtGrantex(s)).map((g) => g.status)).toEqual(['revoked']);
      const claims = decodeJwt(issued.access_token);
      expect(await liveHere(String(claims.grnt), String(claims.jti))).toBe(false);
    }
  });

  it('a refresh answered 503 (Grantex did not do it) is retried; a gateway 502 before Grantex is asked once more: the rotation goes through', async () => {
    const s = grantexSetup({ sandbox: true, principal: 'known' });
    const a = await authorized(s);
    let tokens = (await (await exchange(s, a)).json()) as { refresh_token: string };
    for (const status of [503, 502]) {
      s.fake.control.failNext({ status, path: '/v1/token/refresh' });
      const res = await post(s, '/token', { grant_type: 'refresh_token', refresh_token: tokens.refresh_token, client_id: a.client.client_id });
      expect(res.status).toBe(200);
      tokens = (await res.json()) as { refresh_token: string };
    }
    expect((await grantsAtGrantex(s)).map((g) => g.status)).toEqual(['active']);
  });

  it('parallel refreshes of one token: a reuse ends our grant and the Grantex grant, whatever the interleaving', async () => {
    for (let seed = 1; seed <= 12; seed++) {
      const random = seeded(seed);
      const s = grantexSetup({ sandbox: true, principal: 'known' });
      const a = await authorized(s);
      const issued = (await (await exchange(s, a)).json()) as { refresh_token: string };
      s.fake.control.delayNext({ path: '/v1/token/refresh', times: 2, beforeMs: random(12), afterMs: random(12) });
      const responses = await Promise.all(
        [0, 1].map(async (i) => {
          await sleep(i === 0 ? 0 : random(20));
          return post(s, '/token', { grant_type: 'refresh_token', refresh_token: issued.refresh_token, client_id: a.client.client_id });
        }),
      );
      expect(responses.map((r) => r.status)).toContain(400);
      await expectNoGrantOutlivesOurs(s, responses);
      expect((await grantsAtGrantex(s)).map((g) => g.status)).toEqual(['revoked']);
    }
  }, 30_000);
});

describe('Grantex: our storage fails after Grantex issued (issue: no Grantex grant outlives ours)', () => {
  it('the upstream link cannot be written: the Grantex grant is revoked, the client gets a 5xx and no token', async () => {
    const s = grantexSetup({ sandbox: true, principal: 'known' });
    const a = await authorized(s);
    const real = namespace;
    const failing = {
      idFromName: (name: string) => Object.assign(real.idFromName(name), { failing: name.includes(' upstream-grant:') }),
      get: (id: DurableObjectId & { failing?: boolean }) => {
        const stub = real.get(id);
        if (!id.failing) return stub;
        return new Proxy(stub, {
          get: (target, property) =>
            property === 'linkUpstreamGrant'
              ? () => Promise.reject(new Error('storage unavailable'))
              : (target as unknown as Record<PropertyKey, unknown>)[property],
        });
      },
    };
    const ctx = createExecutionContext();
    const body = form({
      grant_type: 'authorization_code',
      code: a.code,
      code_verifier: a.verifier,
      client_id: a.client.client_id,
      redirect_uri: a.client.redirect_uris[0],
      resource: RESOURCE,
    });
    const res = await s.host.fetch(
      new Request(new URL('/token', ISSUER), { method: 'POST', body, headers: { 'Content-Type': 'application/x-www-form-urlencoded' } }),
      { ...env, MCP_AUTH_STATE: failing },
      ctx,
    );
    await waitOnExecutionContext(ctx);
    expect(res.status).toBeGreaterThanOrEqual(500);
    expect(await res.json()).not.toHaveProperty('access_token');
    expect((await grantsAtGrantex(s)).map((g) => g.status)).toEqual(['revoked']);
  });
});

import { runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import type { McpAuthState } from '../../src/storage/state-object';
import { generateSigningKey, publicPart, toKeySet, type SigningAlgorithm, type StoredSigningKey } from '../../src/tokens/signing-keys';
import { bindings } from './foundation-helpers';

const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];
const RETAIN = 960; // access-token lifetime + 60 s, as the services use
const T0 = 1_700_000_000;

/**
 * The signing-keys Durable Object of one test. Each test gets its own instance (named after
 * `signing-keys-test`) so no test depends on another's rotations.
 */
function keysObject(name: string): DurableObjectStub<McpAuthState> {
  return bindings.MCP_AUTH_STATE.get(bindings.MCP_AUTH_STATE.idFromName(`signing-keys-test/${name}`));
}

function signingKeys(stub: DurableObjectStub<McpAuthState>, now: number, alg: SigningAlgorithm = 'ES256'): Promise<StoredSigningKey[]> {
  return runInDurableObject(stub, (instance: McpAuthState) => instance.signingKeys({ alg, now, retainSeconds: RETAIN }));
}

function rotate(stub: DurableObjectStub<McpAuthState>, now: number, alg: SigningAlgorithm = 'ES256'): Promise<StoredSigningKey[]> {
  return runInDurableObject(stub, (instance: McpAuthState) => instance.rotateSigningKeys({ alg, now, retainSeconds: RETAIN }));
}

const byStatus = (keys: StoredSigningKey[], status: StoredSigningKey['status']) => keys.filter((k) => k.status === status);
const one = (keys: StoredSigningKey[], status: StoredSigningKey['status']) => {
  const found = byStatus(keys, status);
  expect(found, status).toHaveLength(1);
  return found[0]!;
};

function expectPublicOnly(jwk: Record<string, unknown>): void {
  for (const member of PRIVATE_MEMBERS) expect(jwk, member).not.toHaveProperty(member);
  expect(jwk).not.toHaveProperty('key_ops');
  expect(jwk).not.toHaveProperty('ext');
}

describe('signing keys in the Durable Object (RFC 7517, RFC 8725 §3.1, design: rotation)', () => {
  it('first use creates exactly one current and one published next key, both ES256, with distinct kids', async () => {
    const keys = await signingKeys(keysObject('first-use'), T0);
    expect(keys).toHaveLength(2);
    const current = one(keys, 'current');
    const next = one(keys, 'next');
    expect(current.kid).not.toBe(next.kid);
    for (const key of keys) {
      expect(key.alg).toBe('ES256');
      expect(key.public_jwk).toMatchObject({ kid: key.kid, alg: 'ES256', use: 'sig', kty: 'EC', crv: 'P-256' });
      expect(key.retire_after).toBeNull();
    }
  });

  it('the keys persist: a later call returns the same kids without rotating', async () => {
    const stub = keysObject('persist');
    const first = await signingKeys(stub, T0);
    const later = await signingKeys(stub, T0 + 86_400);
    expect(later.map((k) => [k.kid, k.status])).toEqual(first.map((k) => [k.kid, k.status]));
  });

  it('rotateSigningKeys promotes next to current (same kid), retires the old current until now + retainSeconds, and publishes a new next', async () => {
    const stub = keysObject('rotate');
    const before = await signingKeys(stub, T0);
    const oldCurrent = one(before, 'current');
    const oldNext = one(before, 'next');

    const after = await rotate(stub, T0 + 100);
    expect(after).toHaveLength(3);
    const current = one(after, 'current');
    const retired = one(after, 'retired');
    const next = one(after, 'next');
    expect(current.kid).toBe(oldNext.kid);
    expect(current.public_jwk).toEqual(oldNext.public_jwk);
    expect(retired.kid).toBe(oldCurrent.kid);
    expect(retired.retire_after).toBe(T0 + 100 + RETAIN);
    expect(next.kid).not.toBe(oldCurrent.kid);
    expect(next.kid).not.toBe(oldNext.kid);
  });

  it('retired keys stay published until retire_after and disappear from then on', async () => {
    const stub = keysObject('retire');
    const oldCurrent = one(await signingKeys(stub, T0), 'current');
    await rotate(stub, T0 + 100);
    const retireAfter = T0 + 100 + RETAIN;

    const justBefore = await signingKeys(stub, retireAfter - 1);
    expect(justBefore.map((k) => k.kid)).toContain(oldCurrent.kid);
    const at = await signingKeys(stub, retireAfter);
    expect(at.map((k) => k.kid)).not.toContain(oldCurrent.kid);
    expect(at.map((k) => k.status).sort()).toEqual(['current', 'next']);
  });

  it('the JWKS built from the stored keys publishes current, next and still-valid retired keys, and signs with current', async () => {
    const stub = keysObject('jwks');
    await signingKeys(stub, T0);
    const keys = await rotate(stub, T0 + 100);
    const set = await toKeySet(keys);
    expect(set.kid).toBe(one(keys, 'current').kid);
    expect(set.alg).toBe('ES256');
    expect(set.jwks.keys.map((k) => k.kid).sort()).toEqual(keys.map((k) => k.kid).sort());
    for (const jwk of set.jwks.keys) expectPublicOnly(jwk as Record<string, unknown>);
  });

  it('changing the configured alg to EdDSA rotates so the current key is EdDSA; the old ES256 current is retired, not dropped', async () => {
    const stub = keysObject('alg-change');
    const es256 = one(await signingKeys(stub, T0), 'current');
    const keys = await signingKeys(stub, T0 + 200, 'EdDSA');
    const current = one(keys, 'current');
    expect(current.alg).toBe('EdDSA');
    expect(current.public_jwk).toMatchObject({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', use: 'sig', kid: current.kid });
    expect(one(keys, 'next').alg).toBe('EdDSA');
    const retired = one(keys, 'retired');
    expect(retired.kid).toBe(es256.kid);
    expect(retired.retire_after).toBe(T0 + 200 + RETAIN);
    // Asked again with the same alg, nothing rotates.
    expect((await signingKeys(stub, T0 + 300, 'EdDSA')).map((k) => k.kid)).toEqual(keys.map((k) => k.kid));
  });

  it('RFC 7517 §4: private material never appears in public_jwk (stored keys, every status)', async () => {
    const stub = keysObject('private-material');
    await signingKeys(stub, T0);
    await rotate(stub, T0 + 1);
    const keys = await signingKeys(stub, T0 + 2, 'EdDSA');
    expect(keys.map((k) => k.status).sort()).toEqual(['current', 'next', 'retired', 'retired']);
    for (const key of keys) {
      expectPublicOnly(key.public_jwk as Record<string, unknown>);
      expect(key.private_jwk).toHaveProperty('d');
    }
  });
});

describe('generateSigningKey / publicPart (RFC 7517 §4, RFC 7638)', () => {
  for (const alg of ['ES256', 'EdDSA', 'RS256'] as const) {
    it(`${alg}: the public JWK has no private members and carries kid (the RFC 7638 thumbprint), alg and use sig`, async () => {
      const key = await generateSigningKey(alg, 'current', T0);
      expectPublicOnly(key.public_jwk as Record<string, unknown>);
      expect(key.public_jwk).toMatchObject({ kid: key.kid, alg, use: 'sig' });
      expect(key.kid).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(key.private_jwk.d).toEqual(expect.any(String));
    });
  }

  it('RFC 7517 §4: publicPart strips d, p, q, dp, dq, qi, oth, k, key_ops and ext from any JWK', () => {
    const pub = publicPart(
      { kty: 'RSA', n: 'n', e: 'AQAB', d: 'd', p: 'p', q: 'q', dp: 'dp', dq: 'dq', qi: 'qi', oth: [], k: 'k', key_ops: ['sign'], ext: true },
      'kid-1',
      'RS256',
    );
    expect(pub).toEqual({ kty: 'RSA', n: 'n', e: 'AQAB', kid: 'kid-1', alg: 'RS256', use: 'sig' });
  });
});

import { describe, expect, it, beforeAll } from 'vitest';
import { base64url, exportJWK, exportSPKI, generateKeyPair, SignJWT, UnsecuredJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';
import {
  createTokenVerifier,
  introspectionRevocationCheck,
  TokenVerificationError,
  verifyAccessToken,
  type McpGrant,
  type VerifyErrorCode,
  type VerifyOptions,
} from '../../src/verify/index.js';
import { createVerifiedTokenCache, MAX_CACHED_TOKEN_LENGTH } from '../../src/verify/cache.js';

const ISSUER = 'https://as.example.com';
const RESOURCE = 'https://mcp.example.com/mcp';
const NOW = 1_800_000_000;
const now = () => NOW;

interface TestKey {
  alg: 'ES256' | 'RS256' | 'PS256' | 'EdDSA';
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

async function makeKey(alg: TestKey['alg'], kid: string): Promise<TestKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  return { alg, kid, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
}

type Claims = Record<string, unknown>;

/** Claims of a token issued by this project's local signer (RFC 9068 + scp/grnt). */
function localClaims(overrides: Claims = {}): Claims {
  return {
    iss: ISSUER,
    sub: 'user-1',
    aud: RESOURCE,
    client_id: 'client-1',
    scope: 'mcp:tools:read mcp:tools:write',
    scp: ['mcp:tools:read', 'mcp:tools:write'],
    grnt: 'grnt_01',
    jti: 'jti-1',
    iat: NOW - 10,
    exp: NOW + 300,
    ...overrides,
  };
}

/** Claims of a Grantex grant token (grantex-contract.md). */
function grantexClaims(overrides: Claims = {}): Claims {
  return {
    iss: ISSUER,
    sub: 'principal-1',
    aud: RESOURCE,
    agt: 'did:grantex:ag_01',
    dev: 'dev_01',
    grnt: 'grnt_01',
    scp: ['mcp:tools:read'],
    jti: 'tok_01',
    iat: NOW - 10,
    exp: NOW + 3600,
    ...overrides,
  };
}

async function sign(key: TestKey, claims: Claims, header: Record<string, unknown> = {}): Promise<string> {
  const payload = Object.fromEntries(Object.entries(claims).filter(([, v]) => v !== undefined)) as JWTPayload;
  const protectedHeader = Object.fromEntries(Object.entries({ alg: key.alg, typ: 'at+jwt', kid: key.kid, ...header }).filter(([, v]) => v !== undefined)) as {
    alg: string;
  };
  return new SignJWT(payload).setProtectedHeader(protectedHeader).sign(key.privateKey);
}

async function rejection(promise: Promise<unknown>): Promise<TokenVerificationError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(TokenVerificationError);
  return err as TokenVerificationError;
}

async function expectCode(promise: Promise<unknown>, code: VerifyErrorCode): Promise<void> {
  expect((await rejection(promise)).code).toBe(code);
}

/** A JWKS endpoint as a custom `fetch`, counting requests; `jwks` may be swapped (rotation). */
function jwksServer(keys: JWK[]) {
  const server = {
    jwks: { keys },
    requests: [] as string[],
    fetch: (async (input: RequestInfo | URL) => {
      server.requests.push(String(input instanceof Request ? input.url : input));
      return Response.json(server.jwks);
    }) as typeof fetch,
  };
  return server;
}

let es: TestKey;
let rs: TestKey;
let ps: TestKey;
let ed: TestKey;
let other: TestKey; // a different ES256 key pair with the same kid as `es`
let base: VerifyOptions;

beforeAll(async () => {
  [es, rs, ps, ed] = await Promise.all([makeKey('ES256', 'es-1'), makeKey('RS256', 'rs-1'), makeKey('PS256', 'ps-1'), makeKey('EdDSA', 'ed-1')]);
  other = await makeKey('ES256', 'es-1');
  base = { issuer: ISSUER, audience: RESOURCE, keys: { keys: [es.publicJwk, rs.publicJwk, ps.publicJwk, ed.publicJwk] }, now };
});

describe('verifyAccessToken: local tokens (RFC 9068 profile)', () => {
  it('PR-4 RFC 9068 §2: accepts an ES256 at+jwt and maps every claim to McpGrant', async () => {
    const token = await sign(es, localClaims());
    const grant = await verifyAccessToken(token, base);
    const expected: Omit<McpGrant, 'claims'> = {
      sub: 'user-1',
      iss: ISSUER,
      jti: 'jti-1',
      scopes: ['mcp:tools:read', 'mcp:tools:write'],
      clientId: 'client-1',
      grantId: 'grnt_01',
      exp: NOW + 300,
      iat: NOW - 10,
      raw: token,
    };
    expect(grant).toEqual({ ...expected, claims: localClaims() });
    expect(grant.agentDid).toBeUndefined();
    expect(grant.delegationDepth).toBeUndefined();
  });

  it.each(['RS256', 'PS256', 'EdDSA'] as const)('PR-4 RFC 8725 §3.1: accepts the asymmetric algorithm %s', async (alg) => {
    const key = { RS256: rs, PS256: ps, EdDSA: ed }[alg];
    const grant = await verifyAccessToken(await sign(key, localClaims()), base);
    expect(grant.sub).toBe('user-1');
  });

  it('PR-4 RFC 9068 §4: accepts typ application/at+jwt and is case-insensitive on the media type', async () => {
    for (const typ of ['application/at+jwt', 'AT+JWT', 'Application/At+Jwt']) {
      const grant = await verifyAccessToken(await sign(es, localClaims(), { typ }), base);
      expect(grant.jti).toBe('jti-1');
    }
  });

  it('PR-4: scopes come from `scope` when `scp` is absent', async () => {
    const grant = await verifyAccessToken(await sign(es, localClaims({ scp: undefined, scope: 'a  b c' })), base);
    expect(grant.scopes).toEqual(['a', 'b', 'c']);
  });

  it('PR-4: `scp` wins over `scope`; no scope claims gives no scopes', async () => {
    const both = await verifyAccessToken(await sign(es, localClaims({ scp: ['x'], scope: 'y' })), base);
    expect(both.scopes).toEqual(['x']);
    const none = await verifyAccessToken(await sign(es, localClaims({ scp: undefined, scope: undefined })), base);
    expect(none.scopes).toEqual([]);
  });

  it('PR-4 RFC 8707 §2: aud compared as a resource (case-insensitive host, array aud)', async () => {
    const upper = await verifyAccessToken(await sign(es, localClaims({ aud: 'HTTPS://MCP.EXAMPLE.COM/mcp' })), base);
    expect(upper.sub).toBe('user-1');
    const list = await verifyAccessToken(await sign(es, localClaims({ aud: ['https://other.example', RESOURCE] })), base);
    expect(list.sub).toBe('user-1');
    const origin = await verifyAccessToken(await sign(es, localClaims({ aud: 'https://mcp.example.com/' })), {
      ...base,
      audience: ['https://elsewhere.example/x', 'https://mcp.example.com'],
    });
    expect(origin.sub).toBe('user-1');
  });

  it('PR-4: exp and nbf/iat within the default 30 s clock tolerance are accepted', async () => {
    const grant = await verifyAccessToken(await sign(es, localClaims({ exp: NOW - 20, iat: NOW + 20, nbf: NOW + 20 })), base);
    expect(grant.exp).toBe(NOW - 20);
  });

  it('PR-4: createTokenVerifier verifies repeatedly with one configuration', async () => {
    const verify = createTokenVerifier(base);
    for (const jti of ['a', 'b', 'c']) expect((await verify(await sign(es, localClaims({ jti })))).jti).toBe(jti);
  });

  it('PR-4: extra requiredClaims are enforced', async () => {
    await expectCode(verifyAccessToken(await sign(es, localClaims({ grnt: undefined })), { ...base, requiredClaims: ['grnt'] }), 'missing_claim');
  });
});

describe('verifyAccessToken: every rejection path', () => {
  type Case = { name: string; token: () => Promise<string>; code: VerifyErrorCode; options?: Partial<VerifyOptions> };
  const cases: Case[] = [
    {
      name: 'PR-4 RFC 8725 §3.1: rejects alg none (unsecured JWT)',
      token: async () => new UnsecuredJWT(localClaims() as JWTPayload).encode(),
      code: 'unsupported_algorithm',
    },
    {
      name: 'PR-4 RFC 8725 §3.1: rejects alg none even with typ at+jwt and a kid',
      token: async () => {
        const [, payload] = new UnsecuredJWT(localClaims() as JWTPayload).encode().split('.');
        return `${base64url.encode(JSON.stringify({ alg: 'none', typ: 'at+jwt', kid: 'es-1' }))}.${payload}.`;
      },
      code: 'unsupported_algorithm',
    },
    {
      name: 'PR-4 RFC 8725 §2.1: rejects HS256 signed with the public key bytes as HMAC secret',
      token: async () => (await hmacWithPublicKey()).token,
      code: 'unsupported_algorithm',
    },
    {
      name: 'PR-4 RFC 8725 §3.1: HS256 stays rejected even when listed in `algorithms`',
      token: async () => (await hmacWithPublicKey()).token,
      code: 'unsupported_algorithm',
      options: { algorithms: ['HS256', 'ES256'] as never },
    },
    {
      name: 'PR-4: rejects an algorithm outside the configured allowlist',
      token: () => sign(rs, localClaims()),
      code: 'unsupported_algorithm',
      options: { algorithms: ['ES256'] },
    },
    { name: 'PR-4 RFC 9068 §4: rejects typ JWT', token: () => sign(es, localClaims(), { typ: 'JWT' }), code: 'wrong_type' },
    { name: 'PR-4 RFC 9068 §4: rejects a missing typ', token: () => sign(es, localClaims(), { typ: undefined }), code: 'wrong_type' },
    { name: 'PR-4 RFC 8725 §3.11: rejects another explicit type (dpop+jwt)', token: () => sign(es, localClaims(), { typ: 'dpop+jwt' }), code: 'wrong_type' },
    { name: 'PR-4 RFC 9068 §4: rejects a wrong iss', token: () => sign(es, localClaims({ iss: 'https://evil.example' })), code: 'wrong_issuer' },
    { name: 'PR-4: iss is compared exactly (trailing slash differs)', token: () => sign(es, localClaims({ iss: `${ISSUER}/` })), code: 'wrong_issuer' },
    {
      name: 'PR-4 RFC 8707: rejects a token for another resource',
      token: () => sign(es, localClaims({ aud: 'https://other.example.com/mcp' })),
      code: 'wrong_audience',
    },
    {
      name: 'PR-4 RFC 8707: rejects a token for a sibling path',
      token: () => sign(es, localClaims({ aud: 'https://mcp.example.com/mcp2' })),
      code: 'wrong_audience',
    },
    { name: 'PR-4 RFC 9068 §2.2: rejects a missing aud', token: () => sign(es, localClaims({ aud: undefined })), code: 'missing_claim' },
    { name: 'PR-4 RFC 7519 §4.1.4: rejects an expired token (beyond tolerance)', token: () => sign(es, localClaims({ exp: NOW - 31 })), code: 'expired' },
    {
      name: 'PR-4: clockToleranceSeconds 0 rejects a token expired 1 s ago',
      token: () => sign(es, localClaims({ exp: NOW - 1 })),
      code: 'expired',
      options: { clockToleranceSeconds: 0 },
    },
    { name: 'PR-4 RFC 7519 §4.1.5: rejects nbf in the future', token: () => sign(es, localClaims({ nbf: NOW + 60 })), code: 'not_yet_valid' },
    { name: 'PR-4: rejects iat in the future beyond tolerance', token: () => sign(es, localClaims({ iat: NOW + 60 })), code: 'not_yet_valid' },
    { name: 'PR-4: rejects an unknown kid', token: () => sign({ ...es, kid: 'nope' }, localClaims()), code: 'unknown_key' },
    { name: 'PR-4: rejects a signature by another key with the same kid', token: () => sign(other, localClaims()), code: 'invalid_signature' },
    { name: 'PR-4: rejects a tampered payload', token: () => tamper(), code: 'invalid_signature' },
    { name: 'PR-4: rejects garbage', token: async () => 'not-a-jwt', code: 'malformed' },
    {
      name: 'PR-4: rejects a JWT with an empty signature segment',
      token: async () => (await sign(es, localClaims())).replace(/\.[^.]+$/, '.'),
      code: 'invalid_signature',
    },
    { name: 'PR-4: rejects a non-string sub', token: () => sign(es, localClaims({ sub: 42 })), code: 'malformed' },
    { name: 'PR-4: rejects a non-array, non-string scp', token: () => sign(es, localClaims({ scp: [1, 2] })), code: 'malformed' },
    { name: 'PR-4: rejects a non-numeric exp', token: () => sign(es, localClaims({ exp: 'later' })), code: 'malformed' },
    ...(['iss', 'sub', 'aud', 'exp', 'iat', 'jti', 'client_id'] as const).map((claim): Case => ({
      name: `PR-4 RFC 9068 §2.2: rejects a token without ${claim}`,
      token: () => sign(es, localClaims({ [claim]: undefined })),
      code: 'missing_claim',
    })),
  ];

  /** The classic key-confusion attack: HMAC keyed with the issuer's public key (PEM bytes). */
  async function hmacWithPublicKey(): Promise<{ token: string; keys: { keys: JWK[] } }> {
    const { publicKey } = await generateKeyPair('RS256', { extractable: true });
    const publicJwk = { ...(await exportJWK(publicKey)), kid: 'rs-hmac', use: 'sig' };
    const secret = new TextEncoder().encode(await exportSPKI(publicKey));
    const token = await new SignJWT(localClaims() as JWTPayload).setProtectedHeader({ alg: 'HS256', typ: 'at+jwt', kid: 'rs-hmac' }).sign(secret);
    return { token, keys: { keys: [publicJwk] } };
  }

  async function tamper(): Promise<string> {
    const [header, , signature] = (await sign(es, localClaims())).split('.');
    const forged = base64url.encode(JSON.stringify(localClaims({ scp: ['mcp:admin'], scope: 'mcp:admin' })));
    return `${header}.${forged}.${signature}`;
  }

  for (const { name, token, code, options } of cases) {
    it(name, async () => {
      const err = await rejection(verifyAccessToken(await token(), { ...base, ...options }));
      expect(err.code).toBe(code);
      // RFC 6750 §3: the message becomes error_description: printable ASCII without " or \.
      expect(err.message).toMatch(/^[\x20\x21\x23-\x5B\x5D-\x7E]+$/);
    });
  }

  it('PR-4 RFC 8725 §2.1: HS256 is rejected even when the JWKS holds the matching public key', async () => {
    const { token, keys } = await hmacWithPublicKey();
    await expectCode(verifyAccessToken(token, { ...base, keys }), 'unsupported_algorithm');
    await expectCode(verifyAccessToken(token, { ...base, keys, algorithms: ['HS256', 'RS256'] as never }), 'unsupported_algorithm');
  });
});

describe('verifyAccessToken: option validation (reject by default)', () => {
  it('PR-4: audience is required unless requireAudience is false', async () => {
    expect(() => createTokenVerifier({ issuer: ISSUER, keys: base.keys })).toThrow(TypeError);
    const verify = createTokenVerifier({ issuer: ISSUER, keys: base.keys, requireAudience: false, now });
    expect((await verify(await sign(es, localClaims({ aud: 'https://anything.example' })))).sub).toBe('user-1');
  });

  it('PR-4 RFC 8725 §3.1: an allowlist of only HS256/none is refused at configuration time', async () => {
    expect(() => createTokenVerifier({ ...base, algorithms: ['HS256', 'none'] as never })).toThrow(TypeError);
    await expect(verifyAccessToken('x.y.z', { ...base, algorithms: ['none'] as never })).rejects.toThrow(TypeError);
  });

  it('PR-4: issuer is required and audiences must be absolute URIs', () => {
    expect(() => createTokenVerifier({ ...base, issuer: '' })).toThrow(TypeError);
    expect(() => createTokenVerifier({ ...base, audience: 'mcp' })).toThrow(TypeError);
  });
});

describe('verifyAccessToken: Grantex grant tokens (grantex profile)', () => {
  const grantex = (): VerifyOptions => ({ ...base, profile: 'grantex', agent: 'did:grantex:ag_01', developer: 'dev_01' });

  it('Grantex contract: accepts an RS256 grant token without typ and maps agt/dev/grnt, dev is NOT clientId', async () => {
    const token = await sign(rs, grantexClaims(), { typ: undefined });
    const grant = await verifyAccessToken(token, grantex());
    expect(grant).toEqual({
      sub: 'principal-1',
      iss: ISSUER,
      jti: 'tok_01',
      scopes: ['mcp:tools:read'],
      agentDid: 'did:grantex:ag_01',
      developerId: 'dev_01',
      grantId: 'grnt_01',
      delegationDepth: 0,
      exp: NOW + 3600,
      iat: NOW - 10,
      raw: token,
      claims: grantexClaims(),
    });
    expect(grant.clientId).toBeUndefined();
  });

  it('Grantex contract: delegated grants keep delegationDepth', async () => {
    const token = await sign(rs, grantexClaims({ delegationDepth: 2, parentAgt: 'did:grantex:ag_00', parentGrnt: 'grnt_00' }), { typ: undefined });
    expect((await verifyAccessToken(token, grantex())).delegationDepth).toBe(2);
  });

  it('Grantex contract: typ JWT is accepted under the grantex profile, a grant token is rejected under rfc9068', async () => {
    const token = await sign(rs, grantexClaims(), { typ: 'JWT' });
    expect((await verifyAccessToken(token, grantex())).sub).toBe('principal-1');
    await expectCode(verifyAccessToken(token, base), 'wrong_type');
  });

  it.each(['jti', 'sub', 'agt', 'dev', 'scp', 'iat', 'exp', 'iss'])('Grantex contract: rejects a grant token without %s', async (claim) => {
    await expectCode(verifyAccessToken(await sign(rs, grantexClaims({ [claim]: undefined }), { typ: undefined }), grantex()), 'missing_claim');
  });

  it('PR-4 RFC 8707: a grant token without aud is rejected when the resource server has an audience', async () => {
    await expectCode(verifyAccessToken(await sign(rs, grantexClaims({ aud: undefined }), { typ: undefined }), grantex()), 'missing_claim');
  });

  it('PR-4 RFC 8707: a grant token for another audience is rejected', async () => {
    await expectCode(verifyAccessToken(await sign(rs, grantexClaims({ aud: 'https://other.example/mcp' }), { typ: undefined }), grantex()), 'wrong_audience');
  });

  it('Grantex contract: rejects a negative or fractional delegationDepth', async () => {
    for (const delegationDepth of [-1, 1.5, '1'])
      await expectCode(verifyAccessToken(await sign(rs, grantexClaims({ delegationDepth }), { typ: undefined }), grantex()), 'malformed');
  });
});

describe('verifyAccessToken: remote JWKS', () => {
  const remote = (server: ReturnType<typeof jwksServer>, extra: Partial<VerifyOptions> = {}): VerifyOptions => ({
    issuer: ISSUER,
    audience: RESOURCE,
    fetch: server.fetch,
    now,
    ...extra,
  });

  it('PR-4 RFC 8414 §2: fetches `${issuer}/.well-known/jwks.json` once and caches it', async () => {
    const server = jwksServer([es.publicJwk]);
    const verify = createTokenVerifier(remote(server));
    for (const jti of ['1', '2', '3']) expect((await verify(await sign(es, localClaims({ jti })))).jti).toBe(jti);
    expect(server.requests).toEqual([`${ISSUER}/.well-known/jwks.json`]);
  });

  it('PR-4: verifyAccessToken shares one cache per JWKS URL across calls', async () => {
    const server = jwksServer([es.publicJwk]);
    await verifyAccessToken(await sign(es, localClaims()), remote(server, { jwksUri: 'https://keys.example/jwks' }));
    await verifyAccessToken(await sign(es, localClaims()), remote(server, { jwksUri: 'https://keys.example/jwks' }));
    expect(server.requests).toEqual(['https://keys.example/jwks']);
  });

  it('PR-4 key rotation: a token with a new kid is accepted after one refetch', async () => {
    const server = jwksServer([es.publicJwk]);
    const verify = createTokenVerifier(remote(server, { jwksCooldownSeconds: 0 }));
    await verify(await sign(es, localClaims()));
    const next = await makeKey('ES256', 'es-2');
    server.jwks = { keys: [es.publicJwk, next.publicJwk] };
    expect((await verify(await sign(next, localClaims()))).sub).toBe('user-1');
    expect(server.requests).toHaveLength(2);
  });

  it('PR-4: an unknown kid refetches at most once per cooldown (default 30 s)', async () => {
    const server = jwksServer([es.publicJwk]);
    const verify = createTokenVerifier(remote(server));
    await verify(await sign(es, localClaims()));
    const stranger = await makeKey('ES256', 'es-unknown');
    for (let i = 0; i < 3; i++) await expectCode(verify(await sign(stranger, localClaims())), 'unknown_key');
    expect(server.requests).toHaveLength(1);
  });

  it('Grantex contract: a regenerated key with the same kid is accepted after a refetch on signature failure', async () => {
    const server = jwksServer([rs.publicJwk]);
    const verify = createTokenVerifier(remote(server, { profile: 'grantex', agent: 'did:grantex:ag_01', developer: 'dev_01', jwksCooldownSeconds: 0 }));
    await verify(await sign(rs, grantexClaims(), { typ: undefined }));
    const regenerated = await makeKey('RS256', rs.kid);
    server.jwks = { keys: [regenerated.publicJwk] };
    expect((await verify(await sign(regenerated, grantexClaims(), { typ: undefined }))).agentDid).toBe('did:grantex:ag_01');
    expect(server.requests).toHaveLength(2);
  });

  it('Grantex contract: signature failures under a cached key refetch at most once per cooldown', async () => {
    const server = jwksServer([es.publicJwk]);
    const verify = createTokenVerifier(remote(server));
    await verify(await sign(es, localClaims()));
    for (let i = 0; i < 3; i++) await expectCode(verify(await sign(other, localClaims())), 'invalid_signature');
    expect(server.requests).toHaveLength(1);
  });

  it('PR-4: a kid-less token is tried against every matching key', async () => {
    const second = await makeKey('ES256', 'es-3');
    const server = jwksServer([es.publicJwk, second.publicJwk]);
    const verify = createTokenVerifier(remote(server));
    expect((await verify(await sign(second, localClaims(), { kid: undefined }))).sub).toBe('user-1');
    await expectCode(verify(await sign(other, localClaims(), { kid: undefined })), 'invalid_signature');
  });

  it.each([
    ['network error', (async () => Promise.reject(new TypeError('fetch failed'))) as typeof fetch],
    ['HTTP 500', (async () => new Response('oops', { status: 500 })) as typeof fetch],
    ['not JSON', (async () => new Response('<html>', { status: 200 })) as typeof fetch],
    ['not a JWK Set', (async () => Response.json({ hello: 'world' })) as typeof fetch],
  ])('PR-4: an unreachable or broken JWKS (%s) is jwks_unavailable, not a token error', async (_, fetchImpl) => {
    await expectCode(verifyAccessToken(await sign(es, localClaims()), { issuer: ISSUER, audience: RESOURCE, fetch: fetchImpl, now }), 'jwks_unavailable');
  });

  it('PR-4 RFC 8725 §3.11: a token of the wrong type never triggers a JWKS fetch', async () => {
    const server = jwksServer([es.publicJwk]);
    await expectCode(verifyAccessToken(await sign(es, localClaims(), { typ: 'JWT' }), remote(server)), 'wrong_type');
    await expectCode(verifyAccessToken(new UnsecuredJWT({}).encode(), remote(server)), 'unsupported_algorithm');
    expect(server.requests).toHaveLength(0);
  });
});

describe('createTokenVerifier: remembered verifications', () => {
  it('a token presented again is answered from memory: the same frozen grant', async () => {
    const verify = createTokenVerifier(base);
    const token = await sign(es, localClaims());
    const first = await verify(token);
    expect(await verify(token)).toBe(first);
    expect(Object.isFrozen(first) && Object.isFrozen(first.claims) && Object.isFrozen(first.scopes)).toBe(true);
    expect(() => first.scopes.push('admin')).toThrow(TypeError);
  });

  it('verifiedTokenCacheSize 0 and verifyAccessToken verify every time (equal grants, never the same object)', async () => {
    const token = await sign(es, localClaims());
    const verify = createTokenVerifier({ ...base, verifiedTokenCacheSize: 0 });
    const first = await verify(token);
    expect(await verify(token)).not.toBe(first);
    expect(await verify(token)).toEqual(first);
    expect(Object.isFrozen(first)).toBe(false); // shared with nobody
    expect(await verifyAccessToken(token, base)).not.toBe(await verifyAccessToken(token, base));
  });

  it('a remote JWKS verifier remembers tokens only when verifiedTokenCacheSize is given; local keys by default', async () => {
    const server = jwksServer([es.publicJwk]);
    const token = await sign(es, localClaims());
    const options: VerifyOptions = { issuer: ISSUER, audience: RESOURCE, fetch: server.fetch, now, jwksUri: 'https://keys.example/opt-in' };
    const unasked = createTokenVerifier(options);
    await unasked(token); // fetches the set
    const first = await unasked(token);
    expect(await unasked(token)).not.toBe(first);
    expect(await unasked(token)).toEqual(first);
    expect(Object.isFrozen(first)).toBe(false); // never remembered, so shared with nobody
    const asked = createTokenVerifier({ ...options, verifiedTokenCacheSize: 10 });
    const remembered = await asked(token);
    expect(await asked(token)).toBe(remembered);
    expect(server.requests).toHaveLength(1);
    const local = createTokenVerifier(base);
    expect(await local(token)).toBe(await local(token));
  });

  it('a key function is never remembered: its keys may change without notice', async () => {
    const verify = createTokenVerifier({
      ...base,
      keys: async () => crypto.subtle.importKey('jwk', es.publicJwk, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['verify']),
    });
    const token = await sign(es, localClaims());
    expect(await verify(token)).not.toBe(await verify(token));
  });

  it('PR-4 RFC 7519 §4.1.4: expiry is checked again on every hit, with the same clock tolerance', async () => {
    let clock = NOW;
    const verify = createTokenVerifier({ ...base, now: () => clock });
    const token = await sign(es, localClaims({ exp: NOW + 300 }));
    const first = await verify(token);
    clock = NOW + 329; // exp + tolerance (30 s) not reached yet
    expect(await verify(token)).toBe(first);
    clock = NOW + 330;
    await expectCode(verify(token), 'expired');
  });

  it('PR-4 RFC 7519 §4.1.5: a clock that moves back re-verifies (nbf checked again)', async () => {
    let clock = NOW;
    const verify = createTokenVerifier({ ...base, now: () => clock });
    const token = await sign(es, localClaims({ nbf: NOW }));
    await verify(token);
    clock = NOW - 31;
    await expectCode(verify(token), 'not_yet_valid');
  });

  it('PR-4 key rotation: once the remote key set is reloaded without its key, a remembered token is refused', async () => {
    const server = jwksServer([es.publicJwk]);
    const verify = createTokenVerifier({
      issuer: ISSUER,
      audience: RESOURCE,
      fetch: server.fetch,
      now,
      jwksCooldownSeconds: 0,
      jwksUri: 'https://keys.example/rotating',
      verifiedTokenCacheSize: 1000, // a remote set's tokens are remembered only when asked
    });
    const token = await sign(es, localClaims());
    await verify(token); // fetches the set: remembered from the next verification on, under that set
    const second = await verify(token);
    expect(await verify(token)).toBe(second);
    const next = await makeKey('ES256', 'es-next');
    server.jwks = { keys: [next.publicJwk] }; // es removed
    expect((await verify(await sign(next, localClaims()))).sub).toBe('user-1'); // unknown kid: the set is reloaded
    await expectCode(verify(token), 'unknown_key');
    expect(server.requests).toHaveLength(3);
  });

  it('PR-4: checkRevocation runs on every request, remembered or not', async () => {
    let revoked = false;
    const seen: McpGrant[] = [];
    const verify = createTokenVerifier({ ...base, checkRevocation: async (grant) => (seen.push(grant), revoked) });
    const token = await sign(es, localClaims());
    await verify(token);
    await verify(token);
    revoked = true;
    await expectCode(verify(token), 'revoked');
    expect(seen).toHaveLength(3);
    expect(seen[1]).toBe(seen[0]);
  });

  it('refused tokens are never remembered: a rejection stays a rejection', async () => {
    const verify = createTokenVerifier(base);
    const forged = await sign(other, localClaims());
    for (let i = 0; i < 2; i++) await expectCode(verify(forged), 'invalid_signature');
  });

  it('verifiedTokenCacheSize must be a whole number >= 0', () => {
    for (const size of [-1, 1.5, Number.NaN]) expect(() => createTokenVerifier({ ...base, verifiedTokenCacheSize: size })).toThrow(/verifiedTokenCacheSize/);
  });
});

describe('createVerifiedTokenCache', () => {
  const keySet = {};
  const grant = (exp: number) => ({ exp }) as McpGrant;

  it('keeps at most maxEntries, the oldest leaving first', () => {
    const cache = createVerifiedTokenCache(2);
    for (const token of ['a', 'b', 'c']) cache.set(token, grant(NOW + 60), keySet, NOW);
    expect(cache.get('a', keySet, NOW, 0)).toBeUndefined();
    expect(cache.get('b', keySet, NOW, 0)?.exp).toBe(NOW + 60);
    expect(cache.get('c', keySet, NOW, 0)?.exp).toBe(NOW + 60);
  });

  it('answers only under the key set that verified the token, and forgets it otherwise', () => {
    const cache = createVerifiedTokenCache(10);
    cache.set('a', grant(NOW + 60), keySet, NOW);
    expect(cache.get('a', {}, NOW, 0)).toBeUndefined();
    expect(cache.get('a', keySet, NOW, 0)).toBeUndefined();
    expect(cache.get('a', undefined, NOW, 0)).toBeUndefined();
  });

  it('stores nothing without a known key set or for a token over MAX_CACHED_TOKEN_LENGTH', () => {
    const cache = createVerifiedTokenCache(10);
    cache.set('a', grant(NOW + 60), undefined, NOW);
    const long = 'x'.repeat(MAX_CACHED_TOKEN_LENGTH + 1);
    cache.set(long, grant(NOW + 60), keySet, NOW);
    cache.set('x'.repeat(MAX_CACHED_TOKEN_LENGTH), grant(NOW + 60), keySet, NOW);
    expect(cache.get('a', keySet, NOW, 0)).toBeUndefined();
    expect(cache.get(long, keySet, NOW, 0)).toBeUndefined();
    expect(cache.get('x'.repeat(MAX_CACHED_TOKEN_LENGTH), keySet, NOW, 0)).toBeDefined();
  });

  it('RFC 7519 §4.1.4: an entry is valid while exp > now - tolerance, like jose', () => {
    const cache = createVerifiedTokenCache(10);
    cache.set('a', grant(NOW), keySet, NOW - 10);
    expect(cache.get('a', keySet, NOW + 4, 5)).toBeDefined();
    expect(cache.get('a', keySet, NOW + 5, 5)).toBeUndefined();
    expect(cache.get('a', keySet, NOW, 5)).toBeUndefined(); // forgotten once expired
  });
});

describe('introspectionRevocationCheck (RFC 7662)', () => {
  /** A fake introspection endpoint; `active` can change between calls. */
  function introspectionServer(status = 200) {
    const server = {
      active: true,
      status,
      calls: [] as { authorization: string | null; contentType: string | null; form: URLSearchParams }[],
      fetch: (async (input: RequestInfo | URL, init?: RequestInit) => {
        const request = new Request(input, init);
        server.calls.push({
          authorization: request.headers.get('authorization'),
          contentType: request.headers.get('content-type'),
          form: new URLSearchParams(new TextDecoder().decode(await request.arrayBuffer())),
        });
        if (server.status !== 200) return new Response('down', { status: server.status });
        return Response.json(server.active ? { active: true, scope: 'mcp:tools:read' } : { active: false });
      }) as typeof fetch,
    };
    return server;
  }

  it('PR-4 RFC 7662 §2.1: POSTs the token form-encoded with client_secret_basic; caches within the TTL, refetches after', async () => {
    const server = introspectionServer();
    let clock = NOW;
    const checkRevocation = introspectionRevocationCheck({
      introspectionEndpoint: `${ISSUER}/introspect`,
      clientId: 'rs client',
      clientSecret: 's3cr:t',
      cacheTtlSeconds: 60,
      fetch: server.fetch,
      now: () => clock,
    });
    const verify = createTokenVerifier({ ...base, checkRevocation, now: () => clock });
    const token = await sign(es, localClaims({ exp: NOW + 3600 }));

    await verify(token);
    expect(server.calls).toHaveLength(1);
    const [call] = server.calls;
    expect(call!.contentType).toBe('application/x-www-form-urlencoded');
    // RFC 6749 §2.3.1: id and secret are form-encoded before base64.
    expect(call!.authorization).toBe(`Basic ${btoa('rs+client:s3cr%3At')}`);
    expect(call!.form.get('token')).toBe(token);
    expect(call!.form.get('token_type_hint')).toBe('access_token');
    expect(call!.form.has('client_id')).toBe(false);

    clock += 59;
    await verify(token);
    expect(server.calls).toHaveLength(1); // cache hit within the TTL

    clock += 2;
    server.active = false;
    await expectCode(verify(token), 'revoked'); // refetched after the TTL
    expect(server.calls).toHaveLength(2);

    clock += 600;
    await expectCode(verify(token), 'revoked'); // a revocation is final: cached until exp
    expect(server.calls).toHaveLength(2);
  });

  it('PR-4 RFC 7662 §2.2: active false means revoked', async () => {
    const server = introspectionServer();
    server.active = false;
    const checkRevocation = introspectionRevocationCheck({ introspectionEndpoint: `${ISSUER}/introspect`, clientId: 'rs', fetch: server.fetch });
    const err = await rejection(verifyAccessToken(await sign(es, localClaims()), { ...base, checkRevocation }));
    expect(err.code).toBe('revoked');
    expect(err.message).toBe('The access token has been revoked');
  });

  it('PR-4 RFC 7662 §2.1: without a secret the client_id goes in the body and no Authorization header is sent', async () => {
    const server = introspectionServer();
    const checkRevocation = introspectionRevocationCheck({ introspectionEndpoint: `${ISSUER}/introspect`, clientId: 'public-rs', fetch: server.fetch });
    await verifyAccessToken(await sign(es, localClaims()), { ...base, checkRevocation });
    expect(server.calls[0]!.authorization).toBeNull();
    expect(server.calls[0]!.form.get('client_id')).toBe('public-rs');
  });

  it.each([500, 401, 302])('PR-4: introspection HTTP %i is revocation_unavailable and is not cached', async (status) => {
    const server = introspectionServer(status);
    const checkRevocation = introspectionRevocationCheck({ introspectionEndpoint: `${ISSUER}/introspect`, clientId: 'rs', fetch: server.fetch });
    const token = await sign(es, localClaims());
    await expectCode(verifyAccessToken(token, { ...base, checkRevocation }), 'revocation_unavailable');
    server.status = 200;
    expect((await verifyAccessToken(token, { ...base, checkRevocation })).sub).toBe('user-1');
    expect(server.calls).toHaveLength(2);
  });

  it('PR-4: an introspection network error or a body without boolean active is revocation_unavailable', async () => {
    const down = introspectionRevocationCheck({
      introspectionEndpoint: `${ISSUER}/introspect`,
      clientId: 'rs',
      fetch: (async () => Promise.reject(new TypeError('fetch failed'))) as typeof fetch,
    });
    await expectCode(verifyAccessToken(await sign(es, localClaims()), { ...base, checkRevocation: down }), 'revocation_unavailable');
    const odd = introspectionRevocationCheck({
      introspectionEndpoint: `${ISSUER}/introspect`,
      clientId: 'rs',
      fetch: (async () => Response.json({ active: 'yes' })) as typeof fetch,
    });
    await expectCode(verifyAccessToken(await sign(es, localClaims()), { ...base, checkRevocation: odd }), 'revocation_unavailable');
  });

  it('PR-4: maxEntries bounds the cache (oldest answer evicted first)', async () => {
    const server = introspectionServer();
    const checkRevocation = introspectionRevocationCheck({
      introspectionEndpoint: `${ISSUER}/introspect`,
      clientId: 'rs',
      maxEntries: 2,
      fetch: server.fetch,
      now,
    });
    const tokens = await Promise.all(['a', 'b', 'c'].map((jti) => sign(es, localClaims({ jti }))));
    for (const token of tokens) await verifyAccessToken(token, { ...base, checkRevocation });
    expect(server.calls).toHaveLength(3);
    await verifyAccessToken(tokens[2]!, { ...base, checkRevocation }); // newest: cached
    expect(server.calls).toHaveLength(3);
    await verifyAccessToken(tokens[0]!, { ...base, checkRevocation }); // oldest: evicted
    expect(server.calls).toHaveLength(4);
  });

  it('PR-4: a custom checkRevocation that throws is revocation_unavailable; resolving true is revoked', async () => {
    const token = await sign(es, localClaims());
    await expectCode(verifyAccessToken(token, { ...base, checkRevocation: async () => Promise.reject(new Error('db down')) }), 'revocation_unavailable');
    await expectCode(verifyAccessToken(token, { ...base, checkRevocation: async (grant) => grant.jti === 'jti-1' }), 'revoked');
  });
});

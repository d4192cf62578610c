import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync, readdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { createTokenVerifier, introspectionRevocationCheck, TokenVerificationError, verifyAccessToken } from '../../src/verify/index.js';

const RESOURCE = 'https://mcp.example.com/mcp';

interface Key {
  kid: string;
  alg: 'ES256' | 'RS256';
  privateKey: CryptoKey;
  jwk: JWK;
}

async function makeKey(alg: Key['alg'], kid: string): Promise<Key> {
  const pair = await generateKeyPair(alg, { extractable: true });
  return { kid, alg, privateKey: pair.privateKey, jwk: { ...(await exportJWK(pair.publicKey)), kid, alg, use: 'sig' } };
}

/** A real issuer on 127.0.0.1: JWKS + an RFC 7662 introspection endpoint requiring client_secret_basic. */
let server: Server;
let issuer: string;
let served: { keys: JWK[] } = { keys: [] };
const jwksRequests: string[] = [];
const revokedJtis = new Set<string>();
let introspections = 0;

async function readBody(req: IncomingMessage): Promise<string> {
  let body = '';
  for await (const chunk of req) body += chunk;
  return body;
}

function token(key: Key, claims: Record<string, unknown> = {}, header: Record<string, unknown> = { typ: 'at+jwt' }): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({
    iss: issuer,
    sub: 'user-1',
    aud: RESOURCE,
    client_id: 'client-1',
    scp: ['mcp:tools:read'],
    jti: crypto.randomUUID(),
    iat: now,
    exp: now + 300,
    ...claims,
  })
    .setProtectedHeader({ alg: key.alg, kid: key.kid, ...header })
    .sign(key.privateKey);
}

let es: Key;
let rs: Key;

beforeAll(async () => {
  [es, rs] = await Promise.all([makeKey('ES256', 'node-es-1'), makeKey('RS256', 'grantex-2026-07')]);
  served = { keys: [es.jwk, rs.jwk] };
  server = createServer((req, res) => void answer(req, res));
  async function answer(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method === 'GET' && req.url === '/.well-known/jwks.json') {
      jwksRequests.push(req.url);
      res.writeHead(200, { 'Content-Type': 'application/jwk-set+json' }).end(JSON.stringify(served));
      return;
    }
    if (req.method === 'POST' && req.url === '/introspect') {
      introspections++;
      const form = new URLSearchParams(await readBody(req));
      if (req.headers.authorization !== `Basic ${Buffer.from('rs:secret').toString('base64')}`) {
        res.writeHead(401, { 'WWW-Authenticate': 'Basic' }).end();
        return;
      }
      const jti = JSON.parse(Buffer.from(form.get('token')!.split('.')[1]!, 'base64url').toString()).jti as string;
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ active: !revokedJtis.has(jti) }));
      return;
    }
    res.writeHead(404).end();
  }
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe('verify module on Node 20 (no Worker globals)', () => {
  it('PR-4: verifies against a remote JWKS served by node:http with the global fetch', async () => {
    const before = jwksRequests.length;
    const verify = createTokenVerifier({ issuer, audience: RESOURCE });
    const grant = await verify(await token(es));
    expect(grant).toMatchObject({ iss: issuer, sub: 'user-1', clientId: 'client-1', scopes: ['mcp:tools:read'] });
    await verify(await token(es));
    expect(jwksRequests.length - before).toBe(1);
    expect(process.versions.node.split('.')[0]).toMatch(/^(20|2[1-9])$/);
  });

  it('PR-4 key rotation: a new kid published by the issuer is accepted after a refetch', async () => {
    const verify = createTokenVerifier({ issuer, audience: RESOURCE, jwksCooldownSeconds: 0 });
    await verify(await token(es));
    const next = await makeKey('ES256', 'node-es-2');
    served = { keys: [es.jwk, rs.jwk, next.jwk] };
    expect((await verify(await token(next))).sub).toBe('user-1');
  });

  it('Grantex contract: an RS256 grant token (no typ) verifies under the grantex profile', async () => {
    const grant = await verifyAccessToken(await token(rs, { agt: 'did:grantex:ag_1', dev: 'dev_1', grnt: 'grnt_1', client_id: undefined }, {}), {
      issuer,
      audience: RESOURCE,
      profile: 'grantex',
      agent: 'did:grantex:ag_1',
      developer: 'dev_1',
    });
    expect(grant).toMatchObject({ agentDid: 'did:grantex:ag_1', developerId: 'dev_1', grantId: 'grnt_1', delegationDepth: 0 });
    expect(grant.clientId).toBeUndefined();
  });

  it('PR-4: an unreachable JWKS is jwks_unavailable', async () => {
    const err = await verifyAccessToken(await token(es), { issuer: 'http://127.0.0.1:1', audience: RESOURCE }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TokenVerificationError);
    expect((err as TokenVerificationError).code).toBe('jwks_unavailable');
  });

  it('PR-4 RFC 7662: introspectionRevocationCheck against a real endpoint (client_secret_basic), cached within the TTL', async () => {
    const checkRevocation = introspectionRevocationCheck({ introspectionEndpoint: `${issuer}/introspect`, clientId: 'rs', clientSecret: 'secret' });
    const verify = createTokenVerifier({ issuer, audience: RESOURCE, checkRevocation });
    const jti = crypto.randomUUID();
    const jwt = await token(es, { jti });
    const before = introspections;
    expect((await verify(jwt)).jti).toBe(jti);
    expect((await verify(jwt)).jti).toBe(jti);
    expect(introspections - before).toBe(1);

    revokedJtis.add(jti);
    const fresh = createTokenVerifier({
      issuer,
      audience: RESOURCE,
      checkRevocation: introspectionRevocationCheck({ introspectionEndpoint: `${issuer}/introspect`, clientId: 'rs', clientSecret: 'secret' }),
    });
    const err = await fresh(jwt).catch((e: unknown) => e);
    expect((err as TokenVerificationError).code).toBe('revoked');
  });

  it('PR-4: wrong introspection credentials are revocation_unavailable, not "active"', async () => {
    const checkRevocation = introspectionRevocationCheck({ introspectionEndpoint: `${issuer}/introspect`, clientId: 'rs', clientSecret: 'wrong' });
    const err = await verifyAccessToken(await token(es), { issuer, audience: RESOURCE, checkRevocation }).catch((e: unknown) => e);
    expect((err as TokenVerificationError).code).toBe('revocation_unavailable');
  });

  it('design §4: src/verify imports only jose and project modules (no node:, cloudflare:, hono, express)', () => {
    const dir = new URL('../../src/verify/', import.meta.url);
    const files = readdirSync(dir).filter((f) => f.endsWith('.ts'));
    expect(files).toContain('index.ts');
    for (const file of files) {
      const source = readFileSync(new URL(file, dir), 'utf8');
      const imports = [...source.matchAll(/from '([^']+)'/g)].map((m) => m[1]!);
      for (const specifier of imports) expect(specifier === 'jose' || specifier.startsWith('.')).toBe(true);
    }
  });
});

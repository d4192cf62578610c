// In-isolate microbenchmark for `npm run bench`: GET /run?variant=NAME&n=N runs N verifications of
// one ES256 access token back to back and answers when done. Timing is taken by the caller
// (scripts/bench.mjs): timers inside a Worker are coarse (and frozen during compute in
// production), so the caller times n=N against n=0 requests over loopback.
//
// Variants, cheapest first:
//   jose-key        jwtVerify(token, CryptoKey, {issuer, audience, algorithms})
//   jose-jwks       jwtVerify(token, createLocalJWKSet(jwks), {issuer, audience, algorithms})
//                   the same key source our verifier uses: the baseline for the overhead target
//   verifier        createTokenVerifier({issuer, audience, algorithms, keys: jwks}), verifying every
//                   time (verifiedTokenCacheSize: 0), like every variant below unless "remembered"
//   verifier-protect  the verifier as auth.protect() builds it (clock, tolerance 0)
//   verifyAccessToken one-shot: options resolved on every call
//   authenticator   createRequestAuthenticator: Bearer parsing + verification + scope check
//   hono-floor      a Hono app answering GET /x, no auth (Request construction + routing; the
//                   request carries the same Authorization header, unread)
//   hono-jose       the same with the least a Hono middleware can do: read the header, jwtVerify
//                   (JWKS), set a variable; what any verifying Hono middleware costs at minimum
//   hono-protect    the same with requireMcpAuth in front: the whole middleware
//   mcp-auth-protect  the same with createMcpAuth(...).protect() in front, as bench/ours mounts it
//                   (services and cached signing keys looked up per request)
//   verifier-remembered, mcp-auth-protect-remembered  the default configuration: the token,
//                   presented again, is answered from the verifier's memory (no signature check)
import { Hono } from 'hono';
import { createMcpAuth, customPrincipal, McpAuthState } from 'mcp-auth-edge';
import { createLocalJWKSet, exportJWK, generateKeyPair, jwtVerify, SignJWT, type CryptoKey, type JWK } from 'jose';
import { createTokenVerifier, verifyAccessToken, type VerifyOptions } from 'mcp-auth-edge/verify';
import { requireMcpAuth } from 'mcp-auth-edge/hono';
import { createRequestAuthenticator } from '../../../src/middleware/challenge.js';

const ISSUER = 'https://auth.example.com';
const AUDIENCE = 'https://mcp.example.com/mcp';
const METADATA = 'https://mcp.example.com/.well-known/oauth-protected-resource/mcp';

type Run = () => Promise<unknown>;

async function setup(env: Record<string, unknown>): Promise<Record<string, Run>> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
  const privateJwk: JWK = { ...(await exportJWK(privateKey)), kid: 'k1', alg: 'ES256' };
  const jwks = { keys: [jwk] };
  const now = Math.floor(Date.now() / 1000);
  const token = await new SignJWT({
    client_id: 'client-1',
    scope: 'mcp:tools:read mcp:tools:write',
    scp: ['mcp:tools:read', 'mcp:tools:write'],
    grnt: 'g'.repeat(22),
  })
    .setProtectedHeader({ alg: 'ES256', kid: 'k1', typ: 'at+jwt' })
    .setIssuer(ISSUER)
    .setSubject('alice')
    .setAudience(AUDIENCE)
    .setJti('j'.repeat(22))
    .setIssuedAt(now)
    .setExpirationTime(now + 86_400)
    .sign(privateKey as CryptoKey);

  const getKey = createLocalJWKSet(jwks);
  const joseOptions = { issuer: ISSUER, audience: AUDIENCE, algorithms: ['ES256'] };
  const verifyOptions: VerifyOptions = { issuer: ISSUER, audience: AUDIENCE, algorithms: ['ES256'], keys: jwks };
  const verifier = createTokenVerifier({ ...verifyOptions, verifiedTokenCacheSize: 0 });
  const remembering = createTokenVerifier(verifyOptions);
  const protectVerifier = createTokenVerifier({
    ...verifyOptions,
    now: () => Math.floor(Date.now() / 1000),
    clockToleranceSeconds: 0,
    verifiedTokenCacheSize: 0,
  });
  const authenticate = createRequestAuthenticator({ verifier: protectVerifier, scopes: ['mcp:tools:read'], resourceMetadataUrl: METADATA });
  const bearer = `Bearer ${token}`;

  const floor = new Hono().get('/x', (c) => c.text('pong'));
  const guarded = new Hono().get('/x', requireMcpAuth({ verifier: protectVerifier, scopes: ['mcp:tools:read'], resourceMetadataUrl: METADATA }), (c) =>
    c.text('pong'),
  );
  const minimal = new Hono().get(
    '/x',
    async (c, next) => {
      const { payload } = await jwtVerify(c.req.header('Authorization')!.slice(7), getKey, joseOptions);
      c.set('claims' as never, payload as never);
      await next();
    },
    (c) => c.text('pong'),
  );
  const auth = createMcpAuth({
    issuer: ISSUER,
    resources: [AUDIENCE],
    scopes: ['mcp:tools:read', 'mcp:tools:write'],
    signing: { algorithm: 'ES256', privateJwk: privateJwk as JsonWebKey },
    principal: customPrincipal(async () => undefined), // never asked: no /authorize here
    rateLimits: { enabled: false },
    log: false,
  });
  const colocated = new Hono().get('/x', auth.protect({ scopes: ['mcp:tools:read'], verifiedTokenCacheSize: 0 }), (c) => c.text('pong'));
  const colocatedRemembering = new Hono().get('/x', auth.protect({ scopes: ['mcp:tools:read'] }), (c) => c.text('pong'));
  const request = () => new Request('https://mcp.example.com/x', { headers: { Authorization: bearer } });
  const expectOk = (res: Response | Promise<Response>) =>
    Promise.resolve(res).then((r) => {
      if (r.status !== 200) throw new Error(`status ${r.status}`);
      return r;
    });

  return {
    'jose-key': () => jwtVerify(token, publicKey, joseOptions),
    'jose-jwks': () => jwtVerify(token, getKey, joseOptions),
    verifier: () => verifier(token),
    'verifier-protect': () => protectVerifier(token),
    verifyAccessToken: () => verifyAccessToken(token, verifyOptions),
    authenticator: () =>
      authenticate(bearer).then((r) => {
        if (!r.ok) throw new Error(`rejected ${r.failure.status}`);
      }),
    'hono-floor': () => expectOk(floor.fetch(request())),
    'hono-jose': () => expectOk(minimal.fetch(request())),
    'hono-protect': () => expectOk(guarded.fetch(request())),
    'mcp-auth-protect': () => expectOk(colocated.fetch(request(), env)),
    'verifier-remembered': () => remembering(token),
    'mcp-auth-protect-remembered': () => expectOk(colocatedRemembering.fetch(request(), env)),
  };
}

let variants: Promise<Record<string, Run>> | undefined;

export default {
  async fetch(request: Request, env: Record<string, unknown>): Promise<Response> {
    variants ??= setup(env);
    const runs = await variants;
    const url = new URL(request.url);
    if (url.pathname === '/variants') return Response.json(Object.keys(runs));
    const run = runs[url.searchParams.get('variant') ?? ''];
    const n = Number(url.searchParams.get('n') ?? '0');
    if (!run || !Number.isInteger(n) || n < 0) return new Response('bad request', { status: 400 });
    for (let i = 0; i < n; i++) await run();
    return new Response('ok');
  },
};
export { McpAuthState };

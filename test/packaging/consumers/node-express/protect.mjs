// Plain Node (no bundler, no TypeScript): /verify and /express from the installed tarball protect
// an Express route end to end, with the issuer's JWKS served over HTTP like a real issuer's.
import assert from 'node:assert/strict';
import express from 'express';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { createTokenVerifier, TokenVerificationError } from 'mcp-auth-edge/verify';
import { getMcpGrant, mcpCors, protectedResourceMetadata, requireMcpAuth } from 'mcp-auth-edge/express';

const { privateKey, publicKey } = await generateKeyPair('ES256');
const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };

const app = express();
const server = await new Promise((resolve) => {
  const s = app.listen(0, '127.0.0.1', () => resolve(s));
});
const origin = `http://127.0.0.1:${server.address().port}`;
const resource = `${origin}/mcp`;

app.get('/.well-known/jwks.json', (_req, res) => res.json({ keys: [jwk] }));
app.get('/.well-known/oauth-protected-resource/mcp', protectedResourceMetadata({ resource, authorizationServers: [origin] }));
app.use('/mcp', mcpCors({ origins: ['https://app.example'] }));
app.post('/mcp', requireMcpAuth({ issuer: origin, audience: resource, scopes: ['mcp:tools:read'] }), (req, res) => {
  res.json({ sub: getMcpGrant(req).sub, scopes: req.mcpGrant.scopes });
});

const mint = (scope) =>
  new SignJWT({ scope, client_id: 'client-1' })
    .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: 'k1' })
    .setIssuer(origin)
    .setSubject('user-1')
    .setAudience(resource)
    .setIssuedAt()
    .setExpirationTime('5m')
    .setJti(crypto.randomUUID())
    .sign(privateKey);
const post = (token) => fetch(resource, { method: 'POST', headers: token ? { authorization: `Bearer ${token}` } : {} });
const checked = [];

try {
  const anonymous = await post();
  assert.equal(anonymous.status, 401);
  assert.equal(
    anonymous.headers.get('www-authenticate'),
    `Bearer resource_metadata="${origin}/.well-known/oauth-protected-resource/mcp", scope="mcp:tools:read"`,
  );
  checked.push('no token → 401 with the RFC 9728 challenge');

  const preflight = await fetch(resource, {
    method: 'OPTIONS',
    headers: { origin: 'https://app.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization' },
  });
  assert.equal(preflight.status, 204);
  assert.equal(preflight.headers.get('access-control-allow-origin'), 'https://app.example');
  assert.match(preflight.headers.get('access-control-allow-headers'), /Authorization/);
  const crossOrigin = await fetch(resource, { method: 'POST', headers: { origin: 'https://app.example' } });
  assert.equal(crossOrigin.status, 401);
  assert.match(crossOrigin.headers.get('access-control-expose-headers'), /WWW-Authenticate/);
  checked.push('mcpCors: preflight → 204 allowing Authorization; the 401 exposes WWW-Authenticate');

  const token = await mint('mcp:tools:read');
  const ok = await post(token);
  assert.equal(ok.status, 200);
  assert.deepEqual(await ok.json(), { sub: 'user-1', scopes: ['mcp:tools:read'] });
  checked.push('ES256 token (JWKS over HTTP) → 200 with the grant');

  const narrow = await post(await mint('other'));
  assert.equal(narrow.status, 403);
  assert.match(narrow.headers.get('www-authenticate'), /error="insufficient_scope"/);
  checked.push('token without the scope → 403 insufficient_scope');

  const forged = await post(`${token.slice(0, -4)}AAAA`);
  assert.equal(forged.status, 401);
  assert.match(forged.headers.get('www-authenticate'), /error="invalid_token"/);
  checked.push('altered signature → 401 invalid_token');

  const metadata = await (await fetch(`${origin}/.well-known/oauth-protected-resource/mcp`)).json();
  assert.equal(metadata.resource, resource);
  checked.push('protected-resource metadata served');

  const verify = createTokenVerifier({ issuer: origin, audience: resource });
  assert.equal((await verify(token)).sub, 'user-1');
  await assert.rejects(verify('not-a-jwt'), (error) => error instanceof TokenVerificationError && error.code === 'malformed');
  checked.push('/verify: createTokenVerifier accepts the token, TokenVerificationError on garbage');

  // Where each entry runs: /hono needs only Hono and jose; the package root exports the
  // Durable Object class and imports cloudflare:workers, which only a Workers runtime has.
  const hono = await import('mcp-auth-edge/hono');
  assert.equal(typeof hono.requireMcpAuth, 'function');
  checked.push('/hono imports on plain Node');
  await assert.rejects(import('mcp-auth-edge'), (error) => error.code === 'ERR_UNSUPPORTED_ESM_URL_SCHEME' && /cloudflare:/.test(error.message));
  checked.push('the package root refuses plain Node (cloudflare:workers), as documented');
} finally {
  server.close();
}
console.log(checked.map((line) => `    ${line}`).join('\n'));

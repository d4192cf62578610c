// Runs mcp-auth-edge in Grantex mode against a running Grantex service and checks what the fake
// cannot prove: the code flow, the refusal of a foreign developer's token, parallel redemptions of
// one code, and a code exchange whose answer is lost. Results: docs/conformance-runs.md.
//
//   node scripts/grantex-reference-run.mjs --grantex http://127.0.0.1:8830 --api-key <sandbox key>
//
// The example MCP server (examples/mcp-server) is bundled as `wrangler deploy --dry-run` would
// upload it and served by Miniflare on loopback. Between it and Grantex sits a small proxy that
// can lose one answer (the request reaches Grantex, the reply never comes back).
import { execFileSync } from 'node:child_process';
import { createServer, request as httpRequest } from 'node:http';
import { createHash, randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Miniflare } from 'miniflare';
import { decodeJwt } from 'jose';
import { approveHeadlessly } from './lib/headless-consent.mjs';

const { values: args } = parseArgs({ options: { grantex: { type: 'string' }, 'api-key': { type: 'string' }, rounds: { type: 'string', default: '12' } } });
if (!args.grantex || !args['api-key']) throw new Error('usage: --grantex <base URL> --api-key <sandbox API key> [--rounds N]');
const GRANTEX = args.grantex.replace(/\/+$/, '');
const API_KEY = args['api-key'];
const results = [];
const check = (name, ok, detail = '') => {
  results.push({ name, ok });
  console.log(`${ok ? 'PASS' : 'FAIL'} ${name}${detail ? ` — ${detail}` : ''}`);
};

async function grantex(path, { method = 'GET', body, apiKey = API_KEY } = {}) {
  const res = await fetch(`${GRANTEX}${path}`, {
    method,
    headers: { Authorization: `Bearer ${apiKey}`, Accept: 'application/json', ...(body ? { 'Content-Type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

function freePort() {
  return new Promise((done) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => done(port));
    });
  });
}

/** Forwards to Grantex; `loseNext(path)` lets the next such request through but drops its answer. */
async function startProxy() {
  const lose = new Set();
  const target = new URL(GRANTEX);
  const port = await freePort();
  const server = createServer((req, res) => {
    const path = req.url.split('?')[0];
    const dropping = req.method === 'POST' && lose.delete(path);
    const upstream = httpRequest(
      { host: target.hostname, port: target.port, path: req.url, method: req.method, headers: { ...req.headers, host: target.host } },
      (answer) => {
        if (dropping) {
          answer.resume();
          answer.on('end', () => req.socket.destroy()); // Grantex did the work; its reply is lost
          return;
        }
        res.writeHead(answer.statusCode, answer.headers);
        answer.pipe(res);
      },
    );
    req.pipe(upstream);
  });
  await new Promise((done) => server.listen(port, '127.0.0.1', done));
  return { url: `http://127.0.0.1:${port}`, loseNext: (path) => lose.add(path), close: () => server.close() };
}

async function startExample(vars) {
  const env = { ...process.env, WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false' };
  execFileSync('npx', ['wrangler', 'deploy', '--dry-run', '-c', 'examples/mcp-server/wrangler.toml', '--outdir', resolve('.test-dist/example')], {
    stdio: 'pipe',
    env,
  });
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const mf = new Miniflare({
    modules: true,
    scriptPath: '.test-dist/example/index.js',
    compatibilityDate: '2026-04-01',
    host: '127.0.0.1',
    port,
    kvNamespaces: ['MCP_AUTH_CLIENTS'],
    durableObjects: { MCP_AUTH_STATE: { className: 'McpAuthState', useSQLite: true } },
    bindings: { ISSUER: url, RATE_LIMITS: 'off', ...vars },
    cf: false,
  });
  await mf.ready;
  return { url, dispose: () => mf.dispose() };
}

/** Grantex allows 10 authorizations a minute per developer: keep under it. */
const authorizations = [];
async function paced() {
  const windowStart = Date.now() - 61_000;
  while (authorizations.length && authorizations[0] < windowStart) authorizations.shift();
  if (authorizations.length >= 8) await new Promise((done) => setTimeout(done, authorizations[0] - windowStart));
  authorizations.push(Date.now());
}

const form = (values) => ({ method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(values) });

// ---- set-up at Grantex: our agent, and a stranger (public sign-up) with an agent of its own
const agent = await grantex('/v1/agents', { method: 'POST', body: { name: `mcp-auth-edge ${Date.now()}`, scopes: ['mcp:tools:read', 'mcp:tools:write'] } });
if (agent.status !== 201) throw new Error(`creating an agent answered ${agent.status}`);
const { agentId, developerId } = agent.body;
const jwks = await fetch(`${GRANTEX}/.well-known/jwks.json`);
await paced();
const issuer = decodeJwt(
  (
    await grantex('/v1/token', {
      method: 'POST',
      body: {
        code: (await grantex('/v1/authorize', { method: 'POST', body: { agentId, principalId: 'probe', scopes: ['mcp:tools:read'] } })).body.code,
        agentId,
      },
    })
  ).body.grantToken,
).iss;
console.log(`Grantex ${GRANTEX} (iss ${issuer}, JWKS ${jwks.status}); our agent ${agentId}, developer ${developerId}`);

const proxy = await startProxy();
const server = await startExample({
  GRANTEX_BASE_URL: proxy.url,
  GRANTEX_API_KEY: API_KEY,
  GRANTEX_AGENT_ID: agentId,
  GRANTEX_DEVELOPER_ID: developerId,
  GRANTEX_TOKEN_ISSUER: issuer,
});
const resource = `${server.url}/mcp`;
const redirectUri = 'http://127.0.0.1:53999/callback';
const client = await (
  await fetch(`${server.url}/register`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({
      client_name: 'reference run',
      redirect_uris: [redirectUri],
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code', 'refresh_token'],
      scope: 'mcp:tools:read mcp:tools:write offline_access',
    }),
  })
).json();

/** Our /authorize with the development sign-in as `username`; sandbox keys approve at once. */
async function codeFor(username) {
  await paced();
  const verifier = randomBytes(32).toString('base64url');
  const url = new URL(`${server.url}/authorize`);
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: client.client_id,
    redirect_uri: redirectUri,
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
    state: 's',
    resource,
    scope: 'mcp:tools:read offline_access',
  }).toString();
  const back = await approveHeadlessly(url.href, { username });
  const code = back.searchParams.get('code');
  if (!code) throw new Error(`no code: ${back.href}`);
  return { code, verifier };
}
const exchange = ({ code, verifier }) =>
  fetch(
    `${server.url}/token`,
    form({ grant_type: 'authorization_code', code, code_verifier: verifier, client_id: client.client_id, redirect_uri: redirectUri, resource }),
  );
const mcp = (token, tool = 'whoami') =>
  fetch(resource, {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: tool, arguments: {} } }),
  });
const introspect = async (token) => (await (await fetch(`${server.url}/introspect`, form({ token, client_id: client.client_id }))).json()).active === true;

try {
  // 1. The flow
  const tokens = await (await exchange(await codeFor('grace'))).json();
  const claims = decodeJwt(tokens.access_token);
  check(
    'flow: /token returns the Grantex grant token and a refresh token of ours',
    claims.iss === issuer && claims.sub === 'grace' && claims.aud === resource && typeof tokens.refresh_token === 'string',
    `grnt ${claims.grnt}`,
  );
  check('flow: a protected MCP tool call with it', (await mcp(tokens.access_token)).status === 200);
  const refreshed = await (
    await fetch(`${server.url}/token`, form({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token, client_id: client.client_id }))
  ).json();
  check(
    'flow: refresh rotates through Grantex (same grnt, new jti)',
    decodeJwt(refreshed.access_token).grnt === claims.grnt && decodeJwt(refreshed.access_token).jti !== claims.jti,
  );
  await fetch(`${server.url}/revoke`, form({ token: refreshed.refresh_token, client_id: client.client_id }));
  const upstream = await grantex(`/v1/grants/${claims.grnt}`);
  check(
    'flow: /revoke revokes the grant at Grantex and introspection says inactive',
    upstream.body?.status === 'revoked' && !(await introspect(refreshed.access_token)),
    `GET /v1/grants/{id} → ${upstream.body?.status}`,
  );

  // 2. A stranger's token for our resource and "alice"
  const signup = await fetch(`${GRANTEX}/v1/signup`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ name: `stranger ${Date.now()}`, mode: 'sandbox' }),
  });
  const stranger = await signup.json();
  const strangerAgent = (await grantex('/v1/agents', { method: 'POST', apiKey: stranger.apiKey, body: { name: 'stranger', scopes: ['mcp:tools:read'] } })).body;
  const strangerCode = (
    await grantex('/v1/authorize', {
      method: 'POST',
      apiKey: stranger.apiKey,
      body: { agentId: strangerAgent.agentId, principalId: 'alice', scopes: ['mcp:tools:read', 'mcp:tools:write'], audience: resource },
    })
  ).body.code;
  const foreign = (await grantex('/v1/token', { method: 'POST', apiKey: stranger.apiKey, body: { code: strangerCode, agentId: strangerAgent.agentId } })).body
    .grantToken;
  const foreignAnswer = await mcp(foreign, 'create_ticket');
  check(
    "foreign token: another developer's grant token for our resource and alice is refused",
    foreignAnswer.status === 401,
    `${foreignAnswer.status} ${foreignAnswer.headers.get('www-authenticate')}`,
  );

  // 3. Parallel redemptions of one code
  const rounds = Number(args.rounds);
  let violations = 0;
  const outcomes = {};
  for (let round = 0; round < rounds; round++) {
    const user = `race-${Date.now()}-${round}`;
    const issued = await codeFor(user);
    const answers = await Promise.all(
      Array.from({ length: 3 }, (_, i) =>
        new Promise((done) => setTimeout(done, i === 0 ? 0 : ((round * 53 + i * 29) % 240) * i)).then(() => exchange(issued)),
      ),
    );
    const bodies = await Promise.all(answers.map((a) => a.json()));
    const key = answers
      .map((a) => a.status)
      .sort()
      .join(',');
    outcomes[key] = (outcomes[key] ?? 0) + 1;
    const held = bodies.filter((b) => b.access_token).map((b) => b.access_token);
    const listed = (await grantex(`/v1/grants?agentId=${agentId}&principalId=${encodeURIComponent(user)}`)).body.grants;
    for (const grant of listed) {
      if (grant.status === 'revoked') continue;
      const holders = held.filter((t) => decodeJwt(t).grnt === grant.grantId);
      if (holders.length !== 1 || !(await introspect(holders[0]))) violations++;
    }
    for (const token of held) {
      const status = (await grantex(`/v1/grants/${decodeJwt(token).grnt}`)).body.status;
      if ((status === 'active') !== (await introspect(token))) violations++;
    }
  }
  check(
    `race: ${rounds} rounds of 3 parallel /token calls with one code leave no Grantex grant outside a live grant of ours`,
    violations === 0,
    `outcomes ${JSON.stringify(outcomes)}, violations ${violations}`,
  );

  // 4. A code exchange whose answer is lost on the way back
  const lostUser = `lost-${Date.now()}`;
  const lostCode = await codeFor(lostUser);
  proxy.loseNext('/v1/token');
  const lost = await exchange(lostCode);
  const lostBody = await lost.json();
  const left = (await grantex(`/v1/grants?agentId=${agentId}&principalId=${lostUser}`)).body.grants;
  check(
    'lost answer: the exchange ends with invalid_grant and the Grantex grant it created is revoked',
    lost.status === 400 && lostBody.error === 'invalid_grant' && left.length === 1 && left[0].status === 'revoked',
    `${lost.status} ${lostBody.error}: ${lostBody.error_description}; Grantex grants ${JSON.stringify(left.map((g) => g.status))}`,
  );
} finally {
  await server.dispose();
  proxy.close();
}

const failed = results.filter((r) => !r.ok).length;
console.log(`grantex reference run: ${results.length - failed} passed, ${failed} failed`);
process.exitCode = failed ? 1 : 0;

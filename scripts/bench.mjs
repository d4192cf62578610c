#!/usr/bin/env node
// `npm run bench`: mcp-auth-edge side by side with @cloudflare/workers-oauth-provider.
//
// Builds the fixture workers under bench/ with `wrangler deploy --dry-run`, serves each bundle
// from one Miniflare instance on 127.0.0.1 (KV and SQLite Durable Objects on tmpfs), drives both
// with autocannon over loopback, and runs an in-isolate microbenchmark of token verification.
// Prints the table and the targets, writes bench/results.json and the generated section of
// docs/performance.md. Every load run is bounded in time and in requests; nothing leaves 127.0.0.1.
//
//   npm run bench                 the full run (about three minutes)
//   npm run bench -- --quick      one short round per scenario, to try the harness
//   npm run bench -- --no-write   print only; leave bench/results.json and the docs alone
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import os from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundle, sizes } from './lib/bench-build.mjs';
import { load } from './lib/bench-load.mjs';
import { runMicro } from './lib/bench-micro.mjs';
import { exchange, prepareCodes, refreshBody, registerClient, registrationBody, tokenBody } from './lib/bench-prepare.mjs';
import { serve } from './lib/bench-servers.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const args = new Set(process.argv.slice(2));
const QUICK = args.has('--quick');
const WRITE = !args.has('--no-write');

const CONFIG = {
  connections: 32,
  warmupSeconds: QUICK ? 0.5 : 1,
  seconds: QUICK ? 1 : 2,
  rounds: QUICK ? 1 : 3,
  microRounds: QUICK ? 3 : 9,
};

const TARGETS = {
  middlewareOverheadMax: 0.1, // in-isolate: middleware cost ≤ 1.10 × jose.jwtVerify
  protectedExtraPerVerifyMax: 1.5, // protected − floor ≤ 1.5 × one verification
  protectedRatioMin: 1.5, // protected rps ≥ 1.5 × theirs
  parityRatioMin: 1.0, // every other shared scenario
  bundleGzipMaxBytes: 64 * 1024,
};

const log = (...parts) => console.log(...parts);
const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

// ---- machine ---------------------------------------------------------------------------

function machine() {
  let cpuModel = os.cpus()[0]?.model ?? 'unknown';
  try {
    cpuModel = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? cpuModel;
  } catch {
    // not Linux: keep os.cpus()
  }
  const version = (name) => JSON.parse(readFileSync(resolve(ROOT, 'node_modules', name, 'package.json'), 'utf8')).version;
  return {
    nproc: os.availableParallelism?.() ?? os.cpus().length,
    cpuModel,
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    platform: `${os.type()} ${os.release()} ${os.arch()}`,
    miniflare: version('miniflare'),
    workerd: version('workerd'),
    autocannon: version('autocannon'),
    workersOauthProvider: version('@cloudflare/workers-oauth-provider'),
  };
}

// ---- build -----------------------------------------------------------------------------

function build() {
  log('building: wrangler deploy --dry-run (bench/ours, bench/theirs, bench/micro, the stand-alone worker)');
  const paths = {};
  for (const name of ['ours', 'theirs', 'micro', 'standalone']) paths[name] = bundle(ROOT, name);
  const bundleSizes = {};
  for (const name of ['standalone', 'ours', 'theirs']) {
    bundleSizes[name] = { ...sizes(paths[name]), minified: sizes(bundle(ROOT, name, { minify: true })) };
  }
  return { paths, bundleSizes };
}

// ---- scenarios -------------------------------------------------------------------------

/** A queue of single-use values (codes, refresh tokens). */
function queue(values = []) {
  let head = 0;
  return {
    push: (value) => values.push(value),
    next: () => (head < values.length ? values[head++] : undefined),
    get size() {
      return values.length - head;
    },
  };
}

const FORM = { 'Content-Type': 'application/x-www-form-urlencoded' };

/**
 * Each scenario: for one side, `prepare(seconds)` (optional) makes what a run of that length
 * consumes, and `spec()` describes the requests. `sides` lists who has it.
 */
function scenarios(sides) {
  const fixed = (id, title, request, only) => ({ id, title, only, spec: (side) => request(side) });
  const list = [
    fixed('floor', 'no-auth floor: GET /ping', (s) => ({ path: '/ping', headers: { Authorization: `Bearer ${s.accessToken}` } })),
    fixed('protected', 'protected: GET /mcp-ping (Bearer)', (s) => ({ path: '/mcp-ping', headers: { Authorization: `Bearer ${s.accessToken}` } })),
    fixed('metadata', 'metadata: GET /.well-known/oauth-authorization-server', () => ({ path: '/.well-known/oauth-authorization-server' })),
    fixed('register', 'DCR: POST /register', () => ({ path: '/register', method: 'POST', headers: { 'Content-Type': 'application/json' }, body: registrationBody })),
    fixed(
      'introspect',
      'introspection: POST /introspect (access token)',
      (s) => ({
        path: '/introspect',
        method: 'POST',
        headers: FORM,
        body: new URLSearchParams({ token: s.accessToken, token_type_hint: 'access_token', client_id: s.clientId }).toString(),
      }),
      'ours',
    ),
    codeExchange('token', 'code exchange: POST /token (authorization_code)', (s) => s),
    {
      id: 'refresh',
      title: 'refresh: POST /token (refresh_token, rotating)',
      // Every request presents a refresh token never presented before; each answer's new
      // refresh token joins the back of the queue, so the pool never runs dry.
      spec: (side) => ({
        path: '/token',
        method: 'POST',
        headers: FORM,
        nextValue: () => side.refreshTokens.next(),
        bodyFor: (token) => refreshBody(side, token),
        onResponse: (status, body) => {
          if (status === 200) side.refreshTokens.push(JSON.parse(body).refresh_token);
        },
      }),
    },
    codeExchange('token-rl', 'code exchange with the /token rate limit ON (ours only)', (s) => s.rateLimited, 'ours'),
  ];
  return list.filter((scenario) => !scenario.only || sides.includes(scenario.only));
}

/** The code exchange: codes prepared beforehand through each side's own /authorize flow. */
function codeExchange(id, title, target, only) {
  return {
    id,
    title,
    only,
    async prepare(side, count) {
      const system = target(side);
      const codes = await prepareCodes(system, count);
      system.codes = queue(codes);
    },
    spec: (side, roundsLeft) => {
      const system = target(side);
      return {
        path: `${system.issuerPath ?? ''}/token`,
        method: 'POST',
        headers: FORM,
        nextValue: () => system.codes.next(),
        bodyFor: (code) => tokenBody(system, code),
        // This run's share of the prepared codes, less a reserve: autocannon builds one request
        // per connection ahead, and those codes are lost.
        maxRequests: Math.max(CONFIG.connections, Math.floor(system.codes.size / roundsLeft) - 2 * CONFIG.connections),
        onResponse: (status, body) => {
          if (status === 200 && side.refreshTokens.size < 2000) side.refreshTokens.push(JSON.parse(body).refresh_token);
        },
      };
    },
  };
}

async function runOnce(side, scenario, seconds, roundsLeft = 1) {
  const result = await load({ url: side.base, connections: CONFIG.connections, seconds, ...scenario.spec(side, roundsLeft) });
  const clean = result.non2xx === 0 && result.errors === 0 && result.exhausted === 0;
  if (!clean) log(`  ! ${side.kind} ${scenario.id}: ${result.non2xx} non-2xx, ${result.errors} errors, ${result.exhausted} without a prepared value`);
  return { ...result, clean };
}

/** Warm-up for each side, then `rounds` measured runs alternating which side goes first. */
async function measure(scenario, sides) {
  const present = sides.filter((side) => !scenario.only || scenario.only === side.kind);
  const runs = Object.fromEntries(present.map((side) => [side.kind, []]));
  if (scenario.prepare) {
    // Size the codes from a warm-up run: enough for every round at 1.5× the warm-up rate.
    for (const side of present) await scenario.prepare(side, 20 * CONFIG.connections);
    const warm = {};
    for (const side of present) warm[side.kind] = await runOnce(side, scenario, CONFIG.warmupSeconds);
    for (const side of present) {
      const perRound = Math.ceil(Math.max(warm[side.kind].rps, 100) * CONFIG.seconds * 1.5) + 2 * CONFIG.connections;
      await scenario.prepare(side, Math.min(perRound * CONFIG.rounds, 20_000));
    }
  } else {
    for (const side of present) await runOnce(side, scenario, CONFIG.warmupSeconds);
  }
  for (let round = 0; round < CONFIG.rounds; round++) {
    const order = round % 2 === 0 ? present : [...present].reverse();
    for (const side of order) runs[side.kind].push(await runOnce(side, scenario, CONFIG.seconds, CONFIG.rounds - round));
  }
  const summary = {};
  for (const [kind, list] of Object.entries(runs)) {
    summary[kind] = {
      rps: median(list.map((r) => r.rps)),
      p50: median(list.map((r) => r.p50)),
      p99: median(list.map((r) => r.p99)),
      rounds: list.map((r) => Math.round(r.rps)),
      requests: list.reduce((n, r) => n + r.requests, 0),
      clean: list.every((r) => r.clean),
    };
  }
  const ratio = summary.ours && summary.theirs ? summary.ours.rps / summary.theirs.rps : null;
  return { id: scenario.id, title: scenario.title, ours: summary.ours ?? null, theirs: summary.theirs ?? null, ratio };
}

// ---- setup of each side ----------------------------------------------------------------

async function setUpSide(kind, base) {
  const side = { kind, base, resource: `${base}/mcp-ping`, refreshTokens: queue() };
  side.clientId = await registerClient(base);
  const [code] = await prepareCodes(side, 1, 1);
  side.accessToken = (await exchange(side, code)).access_token;
  const check = await fetch(`${base}/mcp-ping`, { headers: { Authorization: `Bearer ${side.accessToken}` } });
  if (check.status !== 200) throw new Error(`${kind}: the protected route answered ${check.status} to a fresh token`);
  if (kind === 'ours') {
    // The second issuer of bench/ours (BASE_URL/rl): same client store, /token rate limited.
    side.rateLimited = { kind, base, issuerPath: '/rl', resource: `${base}/rl/mcp-ping`, clientId: side.clientId };
  }
  return side;
}

// ---- report ----------------------------------------------------------------------------

const fmt = {
  rps: (v) => (v == null ? '—' : Math.round(v).toLocaleString('en-US')),
  ms: (v) => (v == null || Number.isNaN(v) ? '—' : v < 10 ? v.toFixed(2) : v.toFixed(1)),
  ratio: (v) => (v == null ? '—' : `${v.toFixed(2)}×`),
  kib: (bytes) => `${(bytes / 1024).toFixed(1)} KiB`,
};

function evaluate(results, micro, bundleSizes) {
  const byId = Object.fromEntries(results.map((r) => [r.id, r]));
  const v = micro.variants;
  const jose = v['jose-jwks'].usPerOp;
  const middlewareUs = v['hono-protect'].usPerOp - v['hono-floor'].usPerOp;
  const middlewareOverhead = middlewareUs / jose - 1;
  const verifyMs = 1000 / v['jose-jwks'].opsPerSec;
  const extraMs = 1000 / byId.protected.ours.rps - 1000 / byId.floor.ours.rps;
  const parity = results.filter((r) => r.ratio != null && r.id !== 'protected');
  const targets = [
    {
      id: 'middleware-overhead',
      target: `verification middleware ≤ ${(1 + TARGETS.middlewareOverheadMax).toFixed(2)}× jose.jwtVerify (in-isolate)`,
      measured:
        `requireMcpAuth ${middlewareUs.toFixed(1)} µs vs jwtVerify ${jose.toFixed(1)} µs: +${(middlewareOverhead * 100).toFixed(1)}%` +
        ` (createTokenVerifier +${((v.verifier.usPerOp / jose - 1) * 100).toFixed(1)}%, authenticator +${((v.authenticator.usPerOp / jose - 1) * 100).toFixed(1)}%)`,
      pass: middlewareOverhead <= TARGETS.middlewareOverheadMax,
    },
    {
      id: 'protected-extra-cost',
      target: `protected − floor ≤ ${TARGETS.protectedExtraPerVerifyMax}× one verification`,
      measured: `${(extraMs * 1000).toFixed(0)} µs extra per request vs ${(verifyMs * 1000).toFixed(1)} µs per verification: ${(extraMs / verifyMs).toFixed(2)}×`,
      pass: extraMs <= TARGETS.protectedExtraPerVerifyMax * verifyMs,
    },
    {
      id: 'protected-ratio',
      target: `protected throughput ≥ ${TARGETS.protectedRatioMin}× workers-oauth-provider`,
      measured: `${fmt.rps(byId.protected.ours.rps)} vs ${fmt.rps(byId.protected.theirs.rps)} req/s: ${fmt.ratio(byId.protected.ratio)}`,
      pass: byId.protected.ratio >= TARGETS.protectedRatioMin,
    },
    ...parity.map((r) => ({
      id: `parity-${r.id}`,
      target: `${r.id}: ours/theirs ≥ ${TARGETS.parityRatioMin.toFixed(1)}`,
      measured: `${fmt.rps(r.ours.rps)} vs ${fmt.rps(r.theirs.rps)} req/s: ${fmt.ratio(r.ratio)}`,
      pass: r.ratio >= TARGETS.parityRatioMin,
    })),
    {
      id: 'bundle-size',
      target: `stand-alone worker bundle ≤ ${fmt.kib(TARGETS.bundleGzipMaxBytes)} gzipped`,
      measured: `${fmt.kib(bundleSizes.standalone.gzipBytes)} gzipped (${fmt.kib(bundleSizes.standalone.minified.gzipBytes)} minified)`,
      pass: bundleSizes.standalone.gzipBytes <= TARGETS.bundleGzipMaxBytes,
    },
  ];
  const rateLimitCost =
    byId['token-rl'] && byId.token
      ? { msPerRequest: 1000 / byId['token-rl'].ours.rps - 1000 / byId.token.ours.rps, share: 1 - byId['token-rl'].ours.rps / byId.token.ours.rps }
      : null;
  return { targets, rateLimitCost, derived: { verifyMs, extraMs, middlewareUs } };
}

function loadTable(results) {
  const lines = [
    '| scenario | ours req/s | ours p50 ms | ours p99 ms | theirs req/s | theirs p50 ms | theirs p99 ms | ours/theirs |',
    '|---|--:|--:|--:|--:|--:|--:|--:|',
  ];
  for (const r of results) {
    const flag = (s) => (s && !s.clean ? ' ⚠' : '');
    lines.push(
      `| ${r.title} | ${fmt.rps(r.ours?.rps)}${flag(r.ours)} | ${fmt.ms(r.ours?.p50)} | ${fmt.ms(r.ours?.p99)} | ` +
        `${r.theirs ? fmt.rps(r.theirs.rps) + flag(r.theirs) : 'n/a'} | ${fmt.ms(r.theirs?.p50)} | ${fmt.ms(r.theirs?.p99)} | ${fmt.ratio(r.ratio)} |`,
    );
  }
  return lines.join('\n');
}

function microTable(micro) {
  const jose = micro.variants['jose-jwks'].usPerOp;
  const lines = ['| variant (in workerd) | µs / op | ops/s | vs jose.jwtVerify (JWKS) | spread |', '|---|--:|--:|--:|--:|'];
  for (const [name, v] of Object.entries(micro.variants)) {
    const rel = name.startsWith('hono') || name === 'mcp-auth-protect' ? '' : `${v.usPerOp >= jose ? '+' : ''}${((v.usPerOp / jose - 1) * 100).toFixed(1)}%`;
    lines.push(`| ${name} | ${v.usPerOp.toFixed(1)} | ${fmt.rps(v.opsPerSec)} | ${rel} | ±${(v.spreadPct / 2).toFixed(0)}% |`);
  }
  const net = (name) => micro.variants[name].usPerOp - micro.variants['hono-floor'].usPerOp;
  lines.push(`| requireMcpAuth net (hono-protect − hono-floor) | ${net('hono-protect').toFixed(1)} | | +${((net('hono-protect') / jose - 1) * 100).toFixed(1)}% | |`);
  lines.push(`| auth.protect() net (mcp-auth-protect − hono-floor) | ${net('mcp-auth-protect').toFixed(1)} | | +${((net('mcp-auth-protect') / jose - 1) * 100).toFixed(1)}% | |`);
  return lines.join('\n');
}

function report(run) {
  const { machine: m, config, results, micro, bundleSizes, evaluation } = run;
  const out = [];
  out.push(`Run ${run.date} on ${m.nproc} × ${m.cpuModel}, ${m.memoryGiB} GiB, Node ${m.node}, workerd ${m.workerd} (Miniflare ${m.miniflare}), autocannon ${m.autocannon}, workers-oauth-provider ${m.workersOauthProvider}.`);
  out.push(
    `Load: ${config.connections} connections over 127.0.0.1, ${config.warmupSeconds} s warm-up, then ${config.rounds} × ${config.seconds} s per side alternating; ` +
      'medians of the rounds. Our rate limits OFF except in the `token-rl` row; audit log off on our side.',
  );
  out.push('');
  out.push(loadTable(results));
  out.push('');
  out.push('Their library has no token introspection endpoint (RFC 7662): that row is ours only.');
  if (evaluation.rateLimitCost) {
    const c = evaluation.rateLimitCost;
    out.push(`Rate limit on /token (one Durable Object round trip per request, all from one address): +${(c.msPerRequest * 1000).toFixed(0)} µs per request, ${(c.share * 100).toFixed(0)}% fewer requests/s.`);
  }
  out.push('');
  out.push(`In-isolate verification (one ES256 token, ${micro.rounds} rounds × ${micro.n} verifications per variant, medians; empty request ${micro.emptyRequestMs.toFixed(2)} ms subtracted):`);
  out.push('');
  out.push(microTable(micro));
  out.push('');
  out.push('| bundle (wrangler deploy --dry-run) | raw | gzip | minified + gzip |', '|---|--:|--:|--:|');
  const labels = { standalone: 'mcp-auth-edge stand-alone worker (src/index.ts)', ours: 'bench/ours (createMcpAuth + 2 routes)', theirs: 'bench/theirs (OAuthProvider + 2 routes)' };
  for (const [name, s] of Object.entries(bundleSizes)) out.push(`| ${labels[name]} | ${fmt.kib(s.bytes)} | ${fmt.kib(s.gzipBytes)} | ${fmt.kib(s.minified.gzipBytes)} |`);
  out.push('');
  out.push('| target | measured | result |', '|---|---|---|');
  for (const t of evaluation.targets) out.push(`| ${t.target} | ${t.measured} | ${t.pass ? 'PASS' : 'FAIL'} |`);
  return out.join('\n');
}

function writeDocs(text) {
  const path = resolve(ROOT, 'docs/performance.md');
  const begin = '<!-- bench:begin (generated by npm run bench; edit outside these markers) -->';
  const end = '<!-- bench:end -->';
  const block = `${begin}\n${text}\n${end}`;
  let doc = existsSync(path) ? readFileSync(path, 'utf8') : `# Performance\n\n## Latest run\n\n${begin}\n${end}\n`;
  const from = doc.indexOf(begin);
  const to = doc.indexOf(end);
  doc = from >= 0 && to > from ? doc.slice(0, from) + block + doc.slice(to + end.length) : `${doc.trimEnd()}\n\n${block}\n`;
  writeFileSync(path, doc);
}

// ---- main ------------------------------------------------------------------------------

async function main() {
  const started = Date.now();
  const info = machine();
  const { paths, bundleSizes } = build();

  log('microbenchmark: token verification inside workerd');
  const microServer = await serve('micro', paths.micro);
  let micro;
  try {
    micro = await runMicro(microServer.url, { rounds: CONFIG.microRounds });
  } finally {
    await microServer.dispose();
  }

  const servers = [];
  const results = [];
  try {
    servers.push(await serve('ours', paths.ours), await serve('theirs', paths.theirs));
    const sides = [await setUpSide('ours', servers[0].url), await setUpSide('theirs', servers[1].url)];
    for (const scenario of scenarios(sides.map((s) => s.kind))) {
      log(`load: ${scenario.title}`);
      const result = await measure(scenario, sides);
      results.push(result);
      log(`  ours ${fmt.rps(result.ours?.rps)} req/s ${JSON.stringify(result.ours?.rounds)}` + (result.theirs ? `, theirs ${fmt.rps(result.theirs.rps)} req/s ${JSON.stringify(result.theirs.rounds)}, ratio ${fmt.ratio(result.ratio)}` : ''));
    }
  } finally {
    for (const server of servers) await server.dispose();
  }

  const evaluation = evaluate(results, micro, bundleSizes);
  const run = { date: new Date().toISOString(), durationSeconds: Math.round((Date.now() - started) / 1000), machine: info, config: CONFIG, results, micro, bundleSizes, evaluation };
  const text = report(run);
  log(`\n${text}\n`);
  log(`(${run.durationSeconds} s)`);
  if (WRITE && !QUICK) {
    writeFileSync(resolve(ROOT, 'bench/results.json'), `${JSON.stringify(run, null, 2)}\n`);
    writeDocs(text);
    log('wrote bench/results.json and docs/performance.md');
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});

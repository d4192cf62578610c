#!/usr/bin/env node
// `npm run bench`: mcp-auth-edge side by side with @cloudflare/workers-oauth-provider.
//
// Builds the fixture workers under bench/ with `wrangler deploy --dry-run`, serves each bundle
// from one Miniflare instance on 127.0.0.1 (KV and SQLite Durable Objects on tmpfs), drives both
// with autocannon over loopback, and runs an in-isolate microbenchmark of token verification.
// Prints the table and the targets, writes bench/results.json and the generated section of
// docs/performance.md. Every load run is bounded in time and in requests; nothing leaves 127.0.0.1.
//
//   npm run bench                 the full run (three to four minutes)
//   npm run bench -- --quick      one short round per scenario, to try the harness (writes nothing)
//   npm run bench -- --no-write   print only; leave bench/results.json and the docs alone
//   npm run bench -- --ours-bundle=PATH
//                                 measure a prebuilt bundle of bench/ours instead (a patch to try);
//                                 printed only
//   BENCH_DEBUG=1 npm run bench   also print every single run
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import os from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

// A fresh clone: install the locked dependencies first (the libraries below need them).
if (
  !['autocannon', 'miniflare', 'wrangler', '@cloudflare/workers-oauth-provider'].every((name) =>
    existsSync(resolve(ROOT, 'node_modules', name, 'package.json')),
  )
) {
  console.log('installing dependencies: npm ci');
  execFileSync('npm', ['ci'], { cwd: ROOT, stdio: 'inherit' });
}
const { bundle, sizes } = await import('./lib/bench-build.mjs');
const { load } = await import('./lib/bench-load.mjs');
const { pairedMedian, runMicro } = await import('./lib/bench-micro.mjs');
const { exchange, prepareCodes, refreshBody, registerClient, registrationBody, tokenBody } = await import('./lib/bench-prepare.mjs');
const { serve } = await import('./lib/bench-servers.mjs');

const args = new Set(process.argv.slice(2));
const QUICK = args.has('--quick');
const OURS_BUNDLE = [...args].find((a) => a.startsWith('--ours-bundle='))?.slice('--ours-bundle='.length);
// A run of a patched bundle is an experiment, never the committed record.
const WRITE = !args.has('--no-write') && !OURS_BUNDLE;

const CONFIG = {
  connections: 32,
  warmupSeconds: QUICK ? 0.5 : 1,
  seconds: QUICK ? 1 : 2,
  settleSeconds: QUICK ? 0 : 0.5, // idle before each measured run
  rounds: QUICK ? 1 : 5, // groups of stateless scenarios
  codeRounds: QUICK ? 1 : 3, // code exchange and refresh: each round prepares fresh codes
  microRounds: QUICK ? 3 : 11,
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
  let commit = 'unknown';
  try {
    const git = (...a) =>
      execFileSync('git', a, { cwd: ROOT, stdio: ['ignore', 'pipe', 'ignore'] })
        .toString()
        .trim();
    commit = git('rev-parse', '--short', 'HEAD') + (git('status', '--porcelain', '--', 'src', 'bench', 'scripts') ? ' + uncommitted changes' : '');
  } catch {
    // not a git checkout
  }
  return {
    commit,
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
  if (OURS_BUNDLE) paths.ours = resolve(OURS_BUNDLE);
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

/** Refresh tokens kept from the code exchange: distinct grants that the refresh run rotates. */
const REFRESH_POOL = 1000;

const FORM = { 'Content-Type': 'application/x-www-form-urlencoded' };

/**
 * Each scenario: `spec(side)` describes the requests of one run; `prepare(side, count)`, when
 * present, makes `count` single-use values before each run; `only` names the one side that has it.
 */
function scenarioGroups(sides) {
  const fixed = (id, title, request, only) => ({ id, title, only, spec: (side) => request(side) });
  const list = [
    fixed('floor', 'no-auth floor: GET /ping', (s) => ({ path: '/ping', headers: { Authorization: `Bearer ${s.accessToken}` } })),
    fixed('protected', 'protected: GET /mcp-ping (Bearer, the same token every request)', (s) => ({
      path: '/mcp-ping',
      headers: { Authorization: `Bearer ${s.accessToken}` },
    })),
    fixed(
      'protected-every-time',
      'protected, verifying every request: GET /mcp-ping-every-time (verifiedTokenCacheSize 0; ours only)',
      (s) => ({ path: '/mcp-ping-every-time', headers: { Authorization: `Bearer ${s.accessToken}` } }),
      'ours',
    ),
    fixed(
      'protected-jose',
      'reference: GET /mcp-jose, a bare jwtVerify Hono middleware (ours only)',
      (s) => ({ path: '/mcp-jose', headers: { Authorization: `Bearer ${s.accessToken}` } }),
      'ours',
    ),
    fixed('metadata', 'metadata: GET /.well-known/oauth-authorization-server', () => ({ path: '/.well-known/oauth-authorization-server' })),
    fixed('register', 'DCR: POST /register', () => ({
      path: '/register',
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: registrationBody,
    })),
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
      opensGrants: REFRESH_POOL,
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
  const byId = Object.fromEntries(list.filter((scenario) => !scenario.only || sides.includes(scenario.only)).map((sc) => [sc.id, sc]));
  // Scenarios measured in the same rounds; the code exchange and refresh consume state, alone.
  return [['floor', 'protected', 'protected-every-time', 'protected-jose'], ['metadata', 'register', 'introspect'], ['token'], ['refresh'], ['token-rl']]
    .map((ids) => ids.map((id) => byId[id]).filter(Boolean))
    .filter((group) => group.length > 0);
}

/** ms a protected request costs over the floor, per round (both ran in each round), median. */
function pairedExtraCost(results) {
  const floor = results.find((r) => r.id === 'floor');
  const guarded = results.find((r) => r.id === 'protected');
  const extra = (kind, route = guarded) => median(route[kind].rounds.map((rps, i) => 1000 / rps - 1000 / floor[kind].rounds[i]));
  const ours = (id) => {
    const route = results.find((r) => r.id === id);
    return route ? extra('ours', route) : null;
  };
  return { ours: extra('ours'), theirs: extra('theirs'), everyTime: ours('protected-every-time'), bareJose: ours('protected-jose') };
}

/** The code exchange: codes prepared beforehand through each side's own /authorize flow. */
function codeExchange(id, title, target, only) {
  return {
    id,
    title,
    only,
    async prepare(side, count) {
      const system = target(side);
      const batch = await side.grants?.reserve(count);
      system.codes = queue(await prepareCodes(system, count));
      system.batch = batch;
    },
    done: (side) => side.grants?.release(target(side).batch),
    spec: (side) => {
      const system = target(side);
      return {
        path: `${system.issuerPath ?? ''}/token`,
        method: 'POST',
        headers: FORM,
        nextValue: () => system.codes.next(),
        bodyFor: (code) => tokenBody(system, code),
        // Less a reserve: autocannon builds one request per connection ahead, and those codes are lost.
        maxRequests: Math.max(CONFIG.connections, system.codes.size - 2 * CONFIG.connections),
        onResponse: (status, body) => {
          if (status === 200 && side.refreshTokens.size < REFRESH_POOL) side.refreshTokens.push(JSON.parse(body).refresh_token);
        },
      };
    },
  };
}

async function runOnce(side, scenario, seconds) {
  const result = await load({ url: side.base, connections: CONFIG.connections, seconds, ...scenario.spec(side) });
  scenario.done?.(side);
  const clean = result.non2xx === 0 && result.errors === 0 && result.exhausted === 0;
  if (process.env.BENCH_DEBUG) log(`    ${side.kind} ${scenario.id}: ${JSON.stringify(result)}`);
  if (!clean) log(`  ! ${side.kind} ${scenario.id}: ${result.non2xx} non-2xx, ${result.errors} errors, ${result.exhausted} without a prepared value`);
  return { ...result, clean };
}

/**
 * Locally, workerd keeps each Durable Object's SQLite database open until the object has been
 * idle for about 10 s, and past roughly 2,900 open databases in the one process SQLite fails with
 * SQLITE_NOMEM. Each of our codes is its own grant object, so on our side the harness counts the
 * grants it opened recently and waits for old ones to close before preparing more; one run
 * prepares at most CODES_PER_RUN_MAX codes (a run stops early when they are used up, and its rate
 * is taken over its actual length). Production has no such limit: the objects are spread out.
 */
const CODES_PER_RUN_MAX = 1100;
const OPEN_GRANTS_MAX = 2400;
const GRANT_IDLE_CLOSE_SECONDS = 11;
const sleep = (seconds) => new Promise((resolve) => setTimeout(resolve, seconds * 1000));

function grantBudget() {
  let batches = [];
  return {
    /** Waits until `count` more grant objects may be opened; returns the batch to `release`. */
    async reserve(count) {
      for (;;) {
        const now = Date.now();
        batches = batches.filter((b) => b.closesAt > now);
        const open = batches.reduce((n, b) => n + b.count, 0);
        const firstClose = Math.min(...batches.map((b) => b.closesAt));
        // Nothing will close while its run is going on (closesAt Infinity): go ahead.
        if (open + count <= OPEN_GRANTS_MAX || !Number.isFinite(firstClose)) break;
        await sleep((firstClose - now) / 1000 + 0.1);
      }
      const batch = { count, closesAt: Infinity };
      batches.push(batch);
      return batch;
    },
    /** The batch's objects were last used now. */
    release(batch) {
      if (batch) batch.closesAt = Date.now() + GRANT_IDLE_CLOSE_SECONDS * 1000;
    },
  };
}

/**
 * Measures a group of scenarios: a warm-up run of each (scenario, side), then `rounds` rounds in
 * which every (scenario, side) runs once, the scenarios rotating and the sides alternating. Runs that
 * share a round ran within seconds of each other, so ratios are taken within a round (paired)
 * and their median kept: steadier than a ratio of medians when the machine drifts.
 */
async function measureGroup(group, sides) {
  const cells = [];
  for (const scenario of group) for (const side of sides) if (!scenario.only || scenario.only === side.kind) cells.push({ scenario, side, runs: [] });
  // Grant objects a scenario keeps using throughout (the refresh pool), counted once.
  const held = [];
  for (const { scenario, side } of cells) if (scenario.opensGrants && side.grants) held.push([side, await side.grants.reserve(scenario.opensGrants)]);
  for (const cell of cells) {
    const { scenario, side } = cell;
    if (scenario.prepare) await scenario.prepare(side, 12 * CONFIG.connections);
    const warm = await runOnce(side, scenario, CONFIG.warmupSeconds);
    // Codes for one run at 1.3× the warm-up rate, prepared just before each run.
    cell.perRun = Math.min(Math.ceil(Math.max(warm.rps, 100) * CONFIG.seconds * 1.3) + 2 * CONFIG.connections, CODES_PER_RUN_MAX);
  }
  const rounds = group.some((scenario) => scenario.prepare || scenario.opensGrants) ? CONFIG.codeRounds : CONFIG.rounds;
  for (let round = 0; round < rounds; round++) {
    // The scenarios in rotating order; the two sides of one scenario back to back, the side that
    // goes first alternating from round to round (ABBA), after a pause that lets the previous
    // run's leftover work (garbage collection, storage flushes) finish in either process.
    const shift = round % group.length;
    for (const scenario of [...group.slice(shift), ...group.slice(0, shift)]) {
      const pair = cells.filter((cell) => cell.scenario === scenario);
      if (round % 2 === 1) pair.reverse();
      for (const cell of pair) {
        if (cell.scenario.prepare) await cell.scenario.prepare(cell.side, cell.perRun);
        await sleep(CONFIG.settleSeconds);
        cell.runs.push(await runOnce(cell.side, cell.scenario, CONFIG.seconds));
      }
    }
  }
  for (const [side, batch] of held) side.grants.release(batch);

  const summarize = (runs) => ({
    rps: median(runs.map((r) => r.rps)),
    p50: median(runs.map((r) => r.p50)),
    p99: median(runs.map((r) => r.p99)),
    rounds: runs.map((r) => Math.round(r.rps)),
    requests: runs.reduce((n, r) => n + r.requests, 0),
    clean: runs.every((r) => r.clean),
  });
  return group.map((scenario) => {
    const ours = cells.find((c) => c.scenario === scenario && c.side.kind === 'ours');
    const theirs = cells.find((c) => c.scenario === scenario && c.side.kind === 'theirs');
    const pairs = ours && theirs ? ours.runs.map((r, i) => r.rps / theirs.runs[i].rps) : null;
    return {
      id: scenario.id,
      title: scenario.title,
      ours: ours ? summarize(ours.runs) : null,
      theirs: theirs ? summarize(theirs.runs) : null,
      ratio: pairs ? median(pairs) : null,
      ratioRange: pairs ? [Math.min(...pairs), Math.max(...pairs)] : null,
    };
  });
}

// ---- setup of each side ----------------------------------------------------------------

async function setUpSide(kind, base) {
  const side = { kind, base, resource: `${base}/mcp-ping`, refreshTokens: queue(), grants: kind === 'ours' ? grantBudget() : undefined };
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

function evaluate(results, micro, bundleSizes, extraCost) {
  const byId = Object.fromEntries(results.map((r) => [r.id, r]));
  const v = micro.variants;
  const pct = (x) => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)}%`;
  const range = (r) => (r.ratioRange ? ` (rounds ${r.ratioRange[0].toFixed(2)}–${r.ratioRange[1].toFixed(2)})` : '');
  // In-isolate, paired within each round (see pairedMedian).
  const over = (f) => pairedMedian(micro, (us) => f(us) / us('jose-jwks') - 1);
  const middlewareOverhead = over((us) => us('hono-protect') - us('hono-floor'));
  const minimalOverhead = over((us) => us('hono-jose') - us('hono-floor'));
  const oursOverMinimal = pairedMedian(micro, (us) => (us('hono-protect') - us('hono-jose')) / us('jose-jwks'));
  const verifierOverhead = over((us) => us('verifier'));
  const authenticatorOverhead = over((us) => us('authenticator'));
  const verifyMs = v['jose-jwks'].usPerOp / 1000;
  const extraMs = extraCost.ours;
  const parity = results.filter((r) => r.ratio != null && r.id !== 'protected');
  const bare = extraCost.bareJose;
  const everyTime = extraCost.everyTime;
  const times = (ms) => `${(ms * 1000).toFixed(0)} µs, ${(ms / verifyMs).toFixed(2)}×`;
  const targets = [
    {
      id: 'middleware-overhead',
      target: `verification middleware ≤ ${(1 + TARGETS.middlewareOverheadMax).toFixed(2)}× jose.jwtVerify (in-isolate)`,
      measured:
        `requireMcpAuth in Hono ${pct(middlewareOverhead)} over jwtVerify (${v['jose-jwks'].usPerOp.toFixed(1)} µs); of which a minimal ` +
        `header-read + jwtVerify Hono middleware ${pct(minimalOverhead)}, ours on top ${pct(oursOverMinimal)}; ` +
        `createTokenVerifier ${pct(verifierOverhead)}, authenticator ${pct(authenticatorOverhead)}`,
      pass: middlewareOverhead <= TARGETS.middlewareOverheadMax,
    },
    {
      id: 'protected-extra-cost',
      target: `protected − floor ≤ ${TARGETS.protectedExtraPerVerifyMax}× one verification`,
      measured:
        `the same token every request (remembered): ${times(extraMs)} of one jwtVerify (${(verifyMs * 1000).toFixed(1)} µs), median of rounds` +
        (everyTime != null ? `; verifying every request: ${times(everyTime)}` : '') +
        (bare != null ? `; a bare jwtVerify middleware: ${times(bare)}` : ''),
      pass: extraMs <= TARGETS.protectedExtraPerVerifyMax * verifyMs,
    },
    {
      id: 'protected-ratio',
      target: `protected throughput ≥ ${TARGETS.protectedRatioMin}× workers-oauth-provider`,
      measured: `${fmt.rps(byId.protected.ours.rps)} vs ${fmt.rps(byId.protected.theirs.rps)} req/s: ${byId.protected.ratio.toFixed(3)}×${range(byId.protected)}`,
      pass: byId.protected.ratio >= TARGETS.protectedRatioMin,
    },
    ...parity.map((r) => ({
      id: `parity-${r.id}`,
      target: `${r.id}: ours/theirs ≥ ${TARGETS.parityRatioMin.toFixed(1)}`,
      measured: `${fmt.rps(r.ours.rps)} vs ${fmt.rps(r.theirs.rps)} req/s: ${r.ratio.toFixed(3)}×${range(r)}`,
      pass: r.ratio >= TARGETS.parityRatioMin,
    })),
    {
      id: 'bundle-size',
      target: `stand-alone worker bundle ≤ ${fmt.kib(TARGETS.bundleGzipMaxBytes)} gzipped`,
      measured: `${fmt.kib(bundleSizes.standalone.gzipBytes)} gzipped as wrangler emits it (${fmt.kib(bundleSizes.standalone.minified.gzipBytes)} with --minify)`,
      pass: bundleSizes.standalone.gzipBytes <= TARGETS.bundleGzipMaxBytes,
    },
  ];
  const rateLimitCost =
    byId['token-rl'] && byId.token
      ? { msPerRequest: 1000 / byId['token-rl'].ours.rps - 1000 / byId.token.ours.rps, share: 1 - byId['token-rl'].ours.rps / byId.token.ours.rps }
      : null;
  return {
    targets,
    rateLimitCost,
    derived: {
      verifyMs,
      extraMs,
      theirExtraMs: extraCost.theirs,
      everyTimeExtraMs: everyTime,
      bareJoseExtraMs: bare,
      middlewareOverhead,
      minimalOverhead,
      oursOverMinimal,
      verifierOverhead,
      authenticatorOverhead,
    },
  };
}

function loadTable(results, previous) {
  const prev = previous ? ` previous run (${previous.date.slice(0, 16).replace('T', ' ')}) |` : '';
  const lines = [
    `| scenario | ours req/s | ours p50 ms | ours p99 ms | theirs req/s | theirs p50 ms | theirs p99 ms | ours/theirs |${prev}`,
    `|---|--:|--:|--:|--:|--:|--:|--:|${previous ? '--:|' : ''}`,
  ];
  for (const r of results) {
    const flag = (s) => (s && !s.clean ? ' ⚠' : '');
    const before = previous?.results.find((p) => p.id === r.id);
    const was = previous ? ` ${before ? (before.ratio != null ? fmt.ratio(before.ratio) : `${fmt.rps(before.ours?.rps)} req/s`) : '—'} |` : '';
    lines.push(
      `| ${r.title} | ${fmt.rps(r.ours?.rps)}${flag(r.ours)} | ${fmt.ms(r.ours?.p50)} | ${fmt.ms(r.ours?.p99)} | ` +
        `${r.theirs ? fmt.rps(r.theirs.rps) + flag(r.theirs) : 'n/a'} | ${fmt.ms(r.theirs?.p50)} | ${fmt.ms(r.theirs?.p99)} | ${fmt.ratio(r.ratio)} |${was}`,
    );
  }
  return lines.join('\n');
}

function microTable(micro) {
  const lines = ['| variant (in workerd) | µs / op | ops/s | vs jose.jwtVerify (JWKS) | spread |', '|---|--:|--:|--:|--:|'];
  for (const [name, v] of Object.entries(micro.variants)) {
    const rel =
      name.startsWith('hono') || name.startsWith('mcp-auth-protect')
        ? ''
        : (() => {
            const x = pairedMedian(micro, (us) => us(name) / us('jose-jwks') - 1);
            return `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)}% (paired)`;
          })();
    lines.push(`| ${name} | ${v.usPerOp.toFixed(1)} | ${fmt.rps(v.opsPerSec)} | ${rel} | ±${(v.spreadPct / 2).toFixed(0)}% |`);
  }
  const net = (name) => micro.variants[name].usPerOp - micro.variants['hono-floor'].usPerOp;
  const paired = (name) => pairedMedian(micro, (us) => (us(name) - us('hono-floor')) / us('jose-jwks') - 1);
  const row = (label, name) =>
    lines.push(`| ${label} | ${net(name).toFixed(1)} | | ${paired(name) >= 0 ? '+' : ''}${(paired(name) * 100).toFixed(1)}% (paired) | |`);
  row('minimal Hono middleware net (hono-jose − hono-floor)', 'hono-jose');
  row('requireMcpAuth net (hono-protect − hono-floor)', 'hono-protect');
  row('auth.protect() net (mcp-auth-protect − hono-floor)', 'mcp-auth-protect');
  row('auth.protect() net, token remembered (mcp-auth-protect-remembered − hono-floor)', 'mcp-auth-protect-remembered');
  return lines.join('\n');
}

function report(run) {
  const { machine: m, config, results, micro, bundleSizes, evaluation } = run;
  const out = [];
  out.push(
    `Run ${run.date} (commit ${m.commit}) on ${m.nproc} × ${m.cpuModel} (nproc ${m.nproc}, model name from /proc/cpuinfo), ${m.memoryGiB} GiB, ${m.platform}, Node ${m.node}, ` +
      `workerd ${m.workerd} (Miniflare ${m.miniflare}), autocannon ${m.autocannon}, @cloudflare/workers-oauth-provider ${m.workersOauthProvider}; ${run.durationSeconds} s.`,
  );
  out.push(
    `Load: autocannon, ${config.connections} connections over 127.0.0.1; per group of scenarios a ${config.warmupSeconds} s warm-up of each, then ${config.rounds} rounds ` +
      `(${config.codeRounds} for the code exchange and refresh) in which every scenario of the group runs ${config.seconds} s on each side: scenarios in rotating order, the two sides back to back, the first side alternating, ${config.settleSeconds} s idle before each run. ` +
      'req/s and latencies: medians of the rounds; ours/theirs: median of the per-round ratios. Our rate limits OFF except in the `token-rl` row; our audit log off.',
  );
  out.push('');
  out.push(loadTable(results, run.previous));
  out.push('');
  out.push('⚠ marks a side whose runs had non-2xx answers or errors (none expected).');
  out.push('');
  out.push('Their library has no token introspection endpoint (RFC 7662): that row is ours only.');
  out.push(
    `Protected route over the floor (per round, median): ours +${(evaluation.derived.extraMs * 1000).toFixed(0)} µs per request (token remembered), ` +
      (evaluation.derived.everyTimeExtraMs != null ? `+${(evaluation.derived.everyTimeExtraMs * 1000).toFixed(0)} µs verifying every request, ` : '') +
      `theirs +${(evaluation.derived.theirExtraMs * 1000).toFixed(0)} µs (a KV read and an AES-GCM unwrap per request)` +
      (evaluation.derived.bareJoseExtraMs != null ? `; the bare jwtVerify middleware +${(evaluation.derived.bareJoseExtraMs * 1000).toFixed(0)} µs.` : '.'),
  );
  if (evaluation.rateLimitCost) {
    const c = evaluation.rateLimitCost;
    out.push(
      `Rate limit on /token (one Durable Object round trip per request, all from one address): +${(c.msPerRequest * 1000).toFixed(0)} µs per request, ${(c.share * 100).toFixed(0)}% fewer requests/s.`,
    );
  }
  out.push('');
  out.push(
    `In-isolate verification (one ES256 token, ${micro.rounds} rounds × ${micro.n} verifications per variant, medians; empty request ${micro.emptyRequestMs.toFixed(2)} ms subtracted):`,
  );
  out.push('');
  out.push(microTable(micro));
  out.push('');
  out.push('| bundle (wrangler deploy --dry-run) | raw | gzip | minified + gzip |', '|---|--:|--:|--:|');
  const labels = {
    standalone: 'mcp-auth-edge stand-alone worker (src/index.ts)',
    ours: 'bench/ours (createMcpAuth, a second issuer, 4 routes)',
    theirs: 'bench/theirs (OAuthProvider + 2 routes)',
  };
  for (const [name, s] of Object.entries(bundleSizes))
    out.push(`| ${labels[name]} | ${fmt.kib(s.bytes)} | ${fmt.kib(s.gzipBytes)} | ${fmt.kib(s.minified.gzipBytes)} |`);
  out.push('');
  const before = (id) => run.previous?.evaluation.targets.find((t) => t.id === id);
  out.push(`| target | measured | result |${run.previous ? ' previous run |' : ''}`, `|---|---|---|${run.previous ? '---|' : ''}`);
  for (const t of evaluation.targets) {
    const was = run.previous ? ` ${before(t.id) ? (before(t.id).pass ? 'PASS' : 'FAIL') : '—'} |` : '';
    out.push(`| ${t.target} | ${t.measured} | ${t.pass ? 'PASS' : 'FAIL'} |${was}`);
  }
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

/** Every Miniflare instance still up, disposed on Ctrl-C too (their workerd would linger). */
const live = new Set();
async function start(kind, scriptPath) {
  const server = await serve(kind, scriptPath);
  live.add(server);
  return {
    url: server.url,
    async dispose() {
      live.delete(server);
      await server.dispose();
    },
  };
}
for (const signal of ['SIGINT', 'SIGTERM'])
  process.once(signal, async () => {
    await Promise.allSettled([...live].map((server) => server.dispose()));
    process.exit(130);
  });

async function main() {
  const started = Date.now();
  const info = machine();
  const { paths, bundleSizes } = build();

  log('microbenchmark: token verification inside workerd');
  const microServer = await start('micro', paths.micro);
  let micro;
  try {
    micro = await runMicro(microServer.url, { rounds: CONFIG.microRounds });
  } finally {
    await microServer.dispose();
  }

  const servers = [];
  const results = [];
  let extraCost;
  try {
    servers.push(await start('ours', paths.ours), await start('theirs', paths.theirs));
    const sides = [await setUpSide('ours', servers[0].url), await setUpSide('theirs', servers[1].url)];
    for (const group of scenarioGroups(sides.map((s) => s.kind))) {
      log(`load: ${group.map((s) => s.id).join(' + ')}`);
      for (const result of await measureGroup(group, sides)) {
        results.push(result);
        log(
          `  ${result.id}: ours ${fmt.rps(result.ours?.rps)} req/s ${JSON.stringify(result.ours?.rounds)}` +
            (result.theirs ? `, theirs ${fmt.rps(result.theirs.rps)} req/s ${JSON.stringify(result.theirs.rounds)}, ratio ${fmt.ratio(result.ratio)}` : ''),
        );
      }
    }
    // The protected route's extra cost over the floor, per round (they ran in the same rounds).
    extraCost = pairedExtraCost(results);
  } finally {
    for (const server of servers) await server.dispose();
  }

  const evaluation = evaluate(results, micro, bundleSizes, extraCost);
  const run = {
    date: new Date().toISOString(),
    durationSeconds: Math.round((Date.now() - started) / 1000),
    machine: info,
    config: CONFIG,
    results,
    micro,
    bundleSizes,
    evaluation,
  };
  // The run before this one, for the "previous run" columns (two runs side by side show the noise).
  const resultsPath = resolve(ROOT, 'bench/results.json');
  let previous;
  try {
    const before = JSON.parse(readFileSync(resultsPath, 'utf8'));
    previous = { date: before.date, results: before.results, evaluation: { targets: before.evaluation.targets } };
  } catch {
    // first run
  }
  const text = report({ ...run, previous });
  log(`\n${text}\n`);
  log(`(${run.durationSeconds} s)`);
  if (WRITE && !QUICK) {
    writeFileSync(resultsPath, `${JSON.stringify({ ...run, previous }, null, 2)}\n`);
    writeDocs(text);
    log('wrote bench/results.json and docs/performance.md');
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});

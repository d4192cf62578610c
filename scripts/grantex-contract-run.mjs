// Runs the fake Grantex's contract cases (test/fixtures/fake-grantex/contract.ts) against a real
// Grantex service, so the assertions the fake is tested with are checked where they come from.
//
//   node scripts/grantex-contract-run.mjs --grantex http://127.0.0.1:8830 \
//     --live-key <live API key> --sandbox-key <sandbox API key> [--public-base <consent origin>] [--only <text>]
//
// A stranger (live) developer is created with the public sign-up. Cases that need to move the service's
// clock are skipped; cases that exhaust a per-minute limit run last, each after a minute's pause.
import { build } from 'esbuild';
import { parseArgs } from 'node:util';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const { values: args } = parseArgs({
  options: {
    grantex: { type: 'string' },
    'live-key': { type: 'string' },
    'sandbox-key': { type: 'string' },
    'public-base': { type: 'string' },
    only: { type: 'string' },
  },
});
if (!args.grantex || !args['live-key'] || !args['sandbox-key'])
  throw new Error('usage: --grantex <base URL> --live-key <key> --sandbox-key <key> [--public-base <URL>]');
const baseUrl = args.grantex.replace(/\/+$/, '');

const outfile = join(mkdtempSync(join(tmpdir(), 'grantex-contract-')), 'contract.mjs');
await build({ entryPoints: ['test/fixtures/fake-grantex/contract.ts'], bundle: true, format: 'esm', platform: 'node', outfile, logLevel: 'warning' });
const { contractCases } = await import(outfile);

const AGENT_SCOPES = ['mcp:tools:read', 'mcp:tools:write'];
async function post(path, apiKey, body) {
  const res = await fetch(`${baseUrl}${path}`, {
    method: 'POST',
    headers: { ...(apiKey ? { Authorization: `Bearer ${apiKey}` } : {}), 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (res.status >= 300) throw new Error(`${path} answered ${res.status}: ${await res.text()}`);
  return res.json();
}
const agentOf = async (apiKey) => (await post('/v1/agents', apiKey, { name: `contract ${Date.now()}`, scopes: AGENT_SCOPES })).agentId;
const stranger = await post('/v1/signup', undefined, { name: `contract stranger ${Date.now()}`, mode: 'live' });

const target = {
  baseUrl,
  publicBaseUrl: args['public-base'] ?? baseUrl,
  fetch: (input, init) => fetch(input, init),
  apiKey: args['live-key'],
  agentId: await agentOf(args['live-key']),
  agentScopes: AGENT_SCOPES,
  strangerApiKey: stranger.apiKey,
  strangerAgentId: await agentOf(stranger.apiKey),
  sandboxApiKey: args['sandbox-key'],
  sandboxAgentId: await agentOf(args['sandbox-key']),
};

const pause = (ms) => new Promise((done) => setTimeout(done, ms));
const chosen = contractCases.filter((c) => !args.only || c.name.includes(args.only));
const ordered = [...chosen.filter((c) => !c.exhausts), ...chosen.filter((c) => c.exhausts)];
let passed = 0;
let failed = 0;
let skipped = 0;
let sinceLimit = 0;
for (const c of ordered) {
  if (c.needsClock) {
    skipped++;
    console.log(`SKIP ${c.name} (moves the service's clock)`);
    continue;
  }
  // Stay under the real per-minute limits: a pause every few cases, a full minute before each exhausting one.
  if (c.exhausts || ++sinceLimit % 4 === 0) await pause(61_000);
  try {
    await c.run(target);
    passed++;
    console.log(`PASS ${c.name}`);
  } catch (err) {
    failed++;
    console.log(`FAIL ${c.name}: ${err.message}`);
  }
}
console.log(`grantex contract against ${baseUrl}: ${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exitCode = failed ? 1 : 0;

#!/usr/bin/env node
// Refuses a wrangler configuration that must not be deployed: a localhost or http issuer, the
// development sign-in, no real KV namespace id, a Durable Object that is not SQLite-backed, a
// secret written into [vars]. With --deploy it then runs `wrangler deploy` with the same options.
// docs/deploy.md walks through every item.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

const HELP = `Usage: npm run check:deploy [-- -c <wrangler.toml>] [-- --env <name>] [-- --custom-principal]
       npm run deploy [-- <the same options>] [-- <wrangler deploy options, e.g. --dry-run --outdir dist-deploy>]

Checks the configuration wrangler would deploy (the same file and [env.<name>] section) and
exits 1 with one line per problem, naming the variable or binding to fix:

  ISSUER               set, https, not localhost or a loopback address, no trailing slash
  RESOURCE             https, not loopback (default: $ISSUER/mcp)
  CF_ACCESS_TEAM_DOMAIN, CF_ACCESS_AUD
                       Cloudflare Access signs users in; without them the worker would fall
                       back to the development sign-in (anyone types a name), which refuses
                       a public issuer. --custom-principal: the worker's own code sets
                       \`principal\` (customPrincipal / cloudflareAccess in code)
  DEVELOPMENT_SIGN_IN  must not be "force"
  MCP_AUTH_CLIENTS     a KV namespace with a real id (npx wrangler kv namespace create MCP_AUTH_CLIENTS)
  MCP_AUTH_STATE       the McpAuthState Durable Object, created by a new_sqlite_classes migration
  SIGNING_PRIVATE_JWK, OPERATOR_SECRET, GRANTEX_API_KEY
                       secrets: never in [vars] (npx wrangler secret put <NAME>)
  SIGNING_ALGORITHM, RATE_LIMITS, CLIENTS, GRANTEX_*
                       values the worker would refuse at start-up

Options:
  -c, --config <path>  wrangler configuration (default: wrangler.toml)
  -e, --env <name>     the [env.<name>] section to check
  --custom-principal   do not require the Cloudflare Access variables
  --deploy             after a passing check, run wrangler deploy with -c, --env and every other option
  --help               this text`;

const KV_BINDING = 'MCP_AUTH_CLIENTS';
const DO_BINDING = 'MCP_AUTH_STATE';
const DO_CLASS = 'McpAuthState';
const SECRETS = ['SIGNING_PRIVATE_JWK', 'OPERATOR_SECRET', 'GRANTEX_API_KEY'];
const ALGORITHMS = ['ES256', 'EdDSA', 'RS256'];
/** A Workers KV namespace id: 32 lowercase hex digits. */
const KV_ID = /^[0-9a-f]{32}$/;

/** Loopback and unspecified hosts: localhost and *.localhost (RFC 6761 §6.3), 127/8, ::1, 0.0.0.0. Pure. */
export function isLoopbackHost(hostname) {
  const host = hostname.toLowerCase().replace(/^\[|\]$/g, '');
  return host === 'localhost' || host.endsWith('.localhost') || /^127(\.\d{1,3}){3}$/.test(host) || host === '::1' || host === '0.0.0.0' || host === '::';
}

/** Why `value` cannot be a public https origin-like URL, or undefined. Pure. */
function publicHttpsProblem(name, value, { originOnly }) {
  let url;
  try {
    url = new URL(value);
  } catch {
    return `${name} "${value}" is not a URL; set the public https address, e.g. https://auth.example.com`;
  }
  if (isLoopbackHost(url.hostname))
    return `${name} ${value} is a localhost address: set it to the public origin users and MCP clients reach, e.g. https://auth.example.com`;
  if (url.protocol !== 'https:') return `${name} ${value} is not https: the public ${name === 'ISSUER' ? 'issuer' : 'address'} must be https://…`;
  if (url.username || url.password || url.search || url.hash) return `${name} ${value} must not carry credentials, a query or a fragment`;
  if (originOnly && value.endsWith('/')) return `${name} ${value} must not end with a slash (the issuer is compared exactly, RFC 8414 §3.3)`;
  return undefined;
}

const list = (value) => (typeof value === 'string' ? value.split(/[\s,]+/).filter(Boolean) : []);

/**
 * The problems of a resolved wrangler configuration (`unstable_readConfig`) for a deployment of
 * this authorization server, each a sentence naming the variable or binding. Pure.
 */
export function deployConfigProblems(config, { customPrincipal = false } = {}) {
  const problems = [];
  const vars = config.vars ?? {};
  const text = (name) => (typeof vars[name] === 'string' ? vars[name] : vars[name] === undefined ? undefined : JSON.stringify(vars[name]));

  // The issuer is the public origin, exactly (RFC 8414 §2; MCP: https everywhere but localhost).
  const issuer = text('ISSUER');
  if (!issuer) problems.push('ISSUER is not set in [vars]: set it to the public origin, e.g. ISSUER = "https://auth.example.com"');
  else {
    const problem = publicHttpsProblem('ISSUER', issuer, { originOnly: true });
    if (problem) problems.push(problem);
  }
  for (const resource of list(text('RESOURCE'))) {
    const problem = publicHttpsProblem('RESOURCE', resource, { originOnly: false });
    if (problem) problems.push(problem);
  }

  // Who signs in: the stand-alone worker uses Cloudflare Access when CF_ACCESS_TEAM_DOMAIN is set,
  // otherwise the development sign-in (src/env.ts), which a public issuer refuses.
  if (text('DEVELOPMENT_SIGN_IN') === 'force')
    problems.push(
      'DEVELOPMENT_SIGN_IN = "force" would serve the development sign-in (anyone types any name) on a public issuer: remove it and sign users in with Cloudflare Access',
    );
  if (!customPrincipal) {
    const team = text('CF_ACCESS_TEAM_DOMAIN');
    if (!team)
      problems.push(
        'CF_ACCESS_TEAM_DOMAIN is not set: without Cloudflare Access the worker falls back to the development sign-in, which refuses a public issuer; ' +
          'set CF_ACCESS_TEAM_DOMAIN and CF_ACCESS_AUD (docs/deploy.md), or pass --custom-principal if your worker code sets `principal`',
      );
    else if (!/^https:\/\/[^/]+\/?$/.test(team)) problems.push(`CF_ACCESS_TEAM_DOMAIN ${team} must be https://<team>.cloudflareaccess.com`);
    if (team && !text('CF_ACCESS_AUD')) problems.push('CF_ACCESS_AUD is not set: copy the Application Audience (AUD) tag of the Access application');
  }

  // Storage: clients in KV, state in a SQLite-backed Durable Object.
  const kv = (config.kv_namespaces ?? []).find((ns) => ns.binding === KV_BINDING);
  if (!kv)
    problems.push(
      `kv_namespaces has no ${KV_BINDING} binding: run npx wrangler kv namespace create ${KV_BINDING} and add the [[kv_namespaces]] entry it prints`,
    );
  else if (!KV_ID.test(kv.id ?? ''))
    problems.push(
      `kv_namespaces ${KV_BINDING} id "${kv.id ?? ''}" is not a KV namespace id: run npx wrangler kv namespace create ${KV_BINDING} and put the id it prints (32 hex digits) in the config`,
    );
  const state = (config.durable_objects?.bindings ?? []).find((binding) => binding.name === DO_BINDING);
  if (!state)
    problems.push(`durable_objects has no ${DO_BINDING} binding: add [[durable_objects.bindings]] name = "${DO_BINDING}", class_name = "${DO_CLASS}"`);
  else if (!state.script_name) {
    const migrations = config.migrations ?? [];
    if (migrations.some((m) => (m.new_classes ?? []).includes(state.class_name)))
      problems.push(`migrations create ${state.class_name} with new_classes: it needs SQLite storage, use new_sqlite_classes = ["${state.class_name}"]`);
    else if (!migrations.some((m) => (m.new_sqlite_classes ?? []).includes(state.class_name)))
      problems.push(`migrations do not create ${state.class_name}: add [[migrations]] tag = "v1", new_sqlite_classes = ["${state.class_name}"]`);
  }

  // Secrets belong in `wrangler secret put`, never in the config file.
  for (const name of SECRETS) if (name in vars) problems.push(`${name} is a secret: remove it from [vars] and run npx wrangler secret put ${name}`);

  // Values the worker would refuse at start-up (src/env.ts, src/options.ts).
  const algorithm = text('SIGNING_ALGORITHM');
  if (algorithm && !ALGORITHMS.includes(algorithm)) problems.push(`SIGNING_ALGORITHM "${algorithm}" must be one of ${ALGORITHMS.join(', ')}`);
  const rateLimits = text('RATE_LIMITS');
  if (rateLimits && rateLimits !== 'off') {
    try {
      JSON.parse(rateLimits);
    } catch {
      problems.push('RATE_LIMITS is neither "off" nor valid JSON');
    }
  }
  const clients = text('CLIENTS');
  if (clients) {
    let parsed;
    try {
      parsed = JSON.parse(clients);
    } catch {
      // reported below
    }
    if (!Array.isArray(parsed)) problems.push('CLIENTS must be a JSON array of client records (scripts/register-client.mjs)');
  }
  if (text('GRANTEX_CONSENT_ORIGIN') !== undefined) problems.push('GRANTEX_CONSENT_ORIGIN is now GRANTEX_CONSENT_ORIGINS (comma separated)');
  const grantexBase = text('GRANTEX_BASE_URL');
  if (grantexBase) {
    const problem = publicHttpsProblem('GRANTEX_BASE_URL', grantexBase, { originOnly: false });
    if (problem) problems.push(problem);
    for (const name of ['GRANTEX_AGENT_ID', 'GRANTEX_DEVELOPER_ID'])
      if (!text(name)) problems.push(`${name} is not set: GRANTEX_BASE_URL needs GRANTEX_AGENT_ID, GRANTEX_DEVELOPER_ID and the GRANTEX_API_KEY secret`);
    const introspection = text('GRANTEX_INTROSPECTION');
    if (introspection && introspection !== 'jwks' && introspection !== 'online') problems.push('GRANTEX_INTROSPECTION must be "jwks" or "online"');
  }
  return problems;
}

/** Things worth a look that do not stop a deployment. Pure. */
export function deployConfigNotes(config) {
  const notes = [];
  const vars = config.vars ?? {};
  if (typeof vars.GRANTEX_BASE_URL === 'string')
    notes.push('GRANTEX_API_KEY must be set with npx wrangler secret put GRANTEX_API_KEY (secrets cannot be checked here)');
  if (typeof vars.ISSUER !== 'string' || publicHttpsProblem('ISSUER', vars.ISSUER, { originOnly: true })) return notes;
  const { host } = new URL(vars.ISSUER);
  const routes = [...(config.routes ?? []), ...(config.route ? [config.route] : [])];
  const patterns = routes.map((route) => (typeof route === 'string' ? route : route.pattern));
  const served = host.endsWith('.workers.dev') || patterns.some((pattern) => pattern === host || pattern.startsWith(`${host}/`));
  if (!served)
    notes.push(`no route or custom domain names ${host}: add routes = [{ pattern = "${host}", custom_domain = true }] unless it is set up in the dashboard`);
  return notes;
}

/** -c/--config, -e/--env, --custom-principal, --deploy; the rest is for wrangler deploy. Pure. */
export function parseArgs(argv) {
  const options = { config: undefined, env: undefined, customPrincipal: false, deploy: false, help: false, wranglerArgs: [] };
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i];
    const value = () => {
      if (argv[i + 1] === undefined) throw new Error(`${arg} needs a value`);
      i += 1;
      return argv[i];
    };
    if (arg === '-c' || arg === '--config') options.config = value();
    else if (arg.startsWith('--config=')) options.config = arg.slice('--config='.length);
    else if (arg === '-e' || arg === '--env') options.env = value();
    else if (arg.startsWith('--env=')) options.env = arg.slice('--env='.length);
    else if (arg === '--custom-principal') options.customPrincipal = true;
    else if (arg === '--deploy') options.deploy = true;
    else if (arg === '--help' || arg === '-h') options.help = true;
    else options.wranglerArgs.push(arg);
  }
  if (!options.deploy && options.wranglerArgs.length > 0) throw new Error(`unknown option ${options.wranglerArgs[0]} (wrangler options only with --deploy)`);
  return options;
}

async function main() {
  let options;
  try {
    options = parseArgs(process.argv.slice(2));
  } catch (err) {
    console.error(`check-deploy-config: ${err.message}\n\n${HELP}`);
    process.exit(2);
  }
  if (options.help) {
    console.log(HELP);
    return;
  }
  const { unstable_readConfig } = await import('wrangler');
  let config;
  try {
    config = unstable_readConfig({ config: options.config, env: options.env }, { hideWarnings: true });
  } catch (err) {
    console.error(`check-deploy-config: ${err.message}`);
    process.exit(1);
  }
  const where = `${config.configPath ?? options.config ?? 'wrangler.toml'}${options.env ? ` [env.${options.env}]` : ''}`;
  const problems = deployConfigProblems(config, options);
  for (const note of deployConfigNotes(config)) console.error(`note: ${note}`);
  if (problems.length > 0) {
    console.error(`${where} must not be deployed (docs/deploy.md):`);
    for (const problem of problems) console.error(`  ✗ ${problem}`);
    process.exit(1);
  }
  console.log(`${where}: ready to deploy (ISSUER ${config.vars.ISSUER})`);
  if (!options.deploy) return;
  const wranglerBin = createRequire(import.meta.url).resolve('wrangler/bin/wrangler.js');
  const args = [
    wranglerBin,
    'deploy',
    ...(options.config ? ['-c', options.config] : []),
    ...(options.env ? ['--env', options.env] : []),
    ...options.wranglerArgs,
  ];
  const result = spawnSync(process.execPath, args, { stdio: 'inherit', env: { WRANGLER_SEND_METRICS: 'false', ...process.env } });
  process.exit(result.status ?? 1);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();

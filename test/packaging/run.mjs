#!/usr/bin/env node
// Packaging test (`npm run test:package`, run by .ci/run): packs the library as npm would publish
// it, installs the tarball into fresh consumer projects in a temporary directory outside the
// repository, and checks that each way the README offers works from the tarball alone.
//
// Consumer fixtures live in test/packaging/consumers/; their TypeScript sources are stored as
// `*.ts.txt` (so the repository's own typecheck leaves them alone) and copied as `*.ts`.
// KEEP_PACKAGING_DIR=1 keeps the temporary directory for inspection.
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const consumers = join(root, 'test/packaging/consumers');
const bin = (pkg, file) => join(root, 'node_modules', pkg, file);
const TOTAL_BUDGET_MS = 240_000;
const started = Date.now();
const work = mkdtempSync(join(tmpdir(), 'mcp-auth-edge-package-'));

const budget = setTimeout(() => {
  console.error(`packaging test: over its ${TOTAL_BUDGET_MS / 1000} s budget; left ${work}`);
  process.exit(1);
}, TOTAL_BUDGET_MS);
budget.unref();

// npm run passes npm_* variables to its children; a consumer's npm must see only its own project.
const cleanEnv = Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^npm_/i.test(key)));
const env = { ...cleanEnv, WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false', NO_COLOR: '1' };

function run(command, args, { cwd, timeoutMs = 60_000 }) {
  return new Promise((resolvePromise, reject) => {
    execFile(command, args, { cwd, env, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${command} ${args.join(' ')} (in ${cwd}) failed: ${error.message}\n${stdout}\n${stderr}`));
      else resolvePromise({ stdout, stderr });
    });
  });
}

async function step(name, fn) {
  const t0 = Date.now();
  const details = await fn();
  console.log(`ok  ${name} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  for (const line of [details].flat().filter(Boolean)) console.log(`    ${line}`);
}

function check(condition, message) {
  if (!condition) throw new Error(message);
}

/** Copies a consumer fixture, turning its `*.ts.txt` sources into `*.ts`. */
function copyConsumer(name) {
  const target = join(work, name);
  cpSync(join(consumers, name), target, { recursive: true });
  const rename = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) rename(path);
      else if (entry.name.endsWith('.ts.txt')) renameSync(path, path.slice(0, -'.txt'.length));
    }
  };
  rename(target);
  return target;
}

/** The first ```ts block under a README heading: what a reader would copy. */
function readmeBlock(heading) {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf(`\n${heading}\n`));
  const match = /```ts\n([\s\S]*?)```/.exec(section);
  check(section.length > 0 && match, `README.md: no \`\`\`ts block under "${heading}"`);
  return match[1];
}

const tsc = (cwd, project) => run(process.execPath, [bin('typescript', 'bin/tsc'), '-p', project], { cwd, timeoutMs: 90_000 });
let tarball;
let failed = false;

try {
  await step('npm pack (prepack builds dist/)', async () => {
    const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', work], { cwd: root, timeoutMs: 120_000 });
    const [packed] = JSON.parse(stdout.slice(stdout.indexOf('[')));
    tarball = join(work, 'mcp-auth-edge.tgz');
    renameSync(join(work, packed.filename), tarball);
    const files = packed.files.map((file) => file.path);
    const allowed =
      /^(dist\/.+\.(js|d\.ts)|scripts\/(cli|check-deploy-config|generate-signing-key|operator|register-client|smoke|lib\/command-line)\.mjs|README\.md|LICENSE|CHANGELOG\.md|package\.json)$/;
    const stray = files.filter((file) => !allowed.test(file));
    check(stray.length === 0, `tarball holds files outside dist/ and the docs: ${stray.join(', ')}`);
    for (const file of ['LICENSE', 'CHANGELOG.md', 'README.md']) check(files.includes(file), `tarball misses ${file}`);
    check(!files.includes('dist/index.js'), 'tarball holds the stand-alone worker (src/index.ts)');
    const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
    const targets = Object.entries(manifest.exports).flatMap(([entry, target]) =>
      typeof target === 'string' ? [[entry, target]] : Object.entries(target).map(([condition, path]) => [`${entry} (${condition})`, path]),
    );
    for (const [entry, path] of targets) check(files.includes(path.replace(/^\.\//, '')), `export ${entry} points at ${path}, not in the tarball`);
    for (const [entry, target] of Object.entries(manifest.exports)) {
      if (typeof target !== 'string') check(Object.keys(target)[0] === 'types', `export ${entry}: the types condition must come first`);
    }
    return [
      `${packed.entryCount} files, ${(packed.size / 1024).toFixed(1)} KiB packed, ${(packed.unpackedSize / 1024).toFixed(1)} KiB unpacked`,
      `only dist/*.js, dist/*.d.ts, the operator scripts, README.md, LICENSE, CHANGELOG.md, package.json; every export target present, types condition first`,
    ];
  });

  const nodeDir = copyConsumer('node-express');
  const strictDir = copyConsumer('strict-ts');
  const workersDir = copyConsumer('workers');
  const mount = readmeBlock('## Mount it inside your own worker');
  writeFileSync(join(workersDir, 'src/index.ts'), `// "Mount it inside your own worker", from README.md\n${mount}`);

  await step('npm install the tarball into three fresh consumers (in parallel)', async () => {
    const install = (cwd) => run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'], { cwd, timeoutMs: 150_000 });
    await Promise.all([install(nodeDir), install(strictDir), install(workersDir)]);
    for (const dir of [nodeDir, strictDir, workersDir]) {
      check(!existsSync(join(dir, 'node_modules/mcp-auth-edge/node_modules/hono')), `${dir}: a second Hono under mcp-auth-edge`);
    }
    const honoIn = (dir) => JSON.parse(readFileSync(join(dir, 'node_modules/hono/package.json'), 'utf8')).version;
    return `hono (peer) installed once per consumer: node ${honoIn(nodeDir)} (npm added the peer), strict ${honoIn(strictDir)}, workers ${honoIn(workersDir)}`;
  });

  await step('(a) plain node imports /verify and /express and protects an Express route', async () => {
    const { stdout } = await run(process.execPath, ['protect.mjs'], { cwd: nodeDir, timeoutMs: 30_000 });
    return stdout
      .trimEnd()
      .split('\n')
      .map((line) => line.trim());
  });

  await step('(a) the mcp-auth-edge command from the installed package: --help, a signing key, a client record', async () => {
    const cli = (...args) => run('npx', ['--no-install', 'mcp-auth-edge', ...args], { cwd: nodeDir, timeoutMs: 30_000 });
    const help = (await cli('--help')).stdout;
    for (const command of ['generate-signing-key', 'register-client', 'check-deploy', 'smoke', 'operator'])
      check(help.includes(command), `mcp-auth-edge --help does not list ${command}`);
    const key = JSON.parse(
      (await cli('generate-signing-key', 'ES256')).stdout
        .trim()
        .split('\n')
        .find((line) => line.startsWith('{')),
    );
    check(key.kty === 'EC' && key.crv === 'P-256' && typeof key.d === 'string', 'generate-signing-key ES256 printed no private EC key');
    const clients = JSON.parse(
      (await cli('register-client', '--redirect', 'https://app.example/callback', '--public')).stdout
        .trim()
        .split('\n')
        .find((line) => line.startsWith('[')),
    );
    check(Array.isArray(clients) && clients[0].redirect_uris[0] === 'https://app.example/callback', 'register-client printed no CLIENTS array');
    for (const command of ['smoke', 'operator'])
      check((await cli(command, '--help')).stdout.includes('usage:'), `mcp-auth-edge ${command} --help printed no usage`);
    return 'npx mcp-auth-edge: --help lists the five commands; generate-signing-key ES256 and register-client --public print usable values; smoke and operator print their usage';
  });

  await step('(b) strict TypeScript consumer (NodeNext, strict, exactOptionalPropertyTypes, no skipLibCheck)', async () => {
    await Promise.all([tsc(strictDir, 'tsconfig.node.json'), tsc(strictDir, 'tsconfig.workers.json')]);
    return ['/verify, /express, /hono with @types/node: no errors', 'mcp-auth-edge, /hono, /verify with @cloudflare/workers-types: no errors'];
  });

  await step('(c) Workers consumer (Workers template tsconfig, moduleResolution bundler, newer Hono)', async () => {
    await tsc(workersDir, 'tsconfig.json');
    return "README's mount code, protect() with c.get('mcpGrant'), /hono mcpCors and requireMcpAuth: no errors";
  });

  await step('(d) host worker as the README mounts it: wrangler deploy --dry-run, one copy of Hono', async () => {
    await run(process.execPath, [bin('wrangler', 'bin/wrangler.js'), 'deploy', '--dry-run', '--outdir', 'out'], { cwd: workersDir, timeoutMs: 90_000 });
    const bundle = readFileSync(join(workersDir, 'out/index.js'), 'utf8');
    // esbuild names each bundled module in a comment, and numbers a second top-level binding of
    // the same name (a second Hono would bring `var HonoRequest2 = class`).
    const honoBaseModules = bundle.match(/^\/\/ node_modules\/.*hono\/dist\/hono-base\.js$/gm) ?? [];
    const honoRequestClasses = bundle.match(/\bvar HonoRequest\d* = class\b/g) ?? [];
    check(
      honoBaseModules.length === 1 && honoBaseModules[0] === '// node_modules/hono/dist/hono-base.js',
      `expected one hono-base module from the host's hono, got ${JSON.stringify(honoBaseModules)}`,
    );
    check(honoRequestClasses.length === 1, `expected one HonoRequest class, got ${JSON.stringify(honoRequestClasses)}`);
    check(
      /^\/\/ node_modules\/mcp-auth-edge\/dist\/storage\/state-object\.js$/m.test(bundle),
      'the bundle does not contain mcp-auth-edge/dist/storage/state-object.js',
    );
    check(/export\s*\{[^}]*\bMcpAuthState\b/.test(bundle), 'the bundle does not export McpAuthState');
    const gzip = gzipSync(bundle).length;
    return [
      `one hono-base module (node_modules/hono, the host's) and one HonoRequest class; McpAuthState exported`,
      `bundle (not minified) ${(bundle.length / 1024).toFixed(1)} KiB, ${(gzip / 1024).toFixed(1)} KiB gzipped`,
    ];
  });

  await step('(e) publint and arethetypeswrong on the tarball', async () => {
    await run(process.execPath, [bin('publint', 'src/cli.js'), 'run', '--strict', tarball], { cwd: work });
    // ESM only, by design: `node10` (no `exports` support: the subpaths cannot resolve) and
    // `node16` from CommonJS (require() of ESM) are the two resolutions expected to fail; the
    // esm-only profile leaves exactly those out. node16 from ESM and bundler must pass.
    await run(process.execPath, [bin('@arethetypeswrong/cli', 'dist/index.js'), tarball, '--profile', 'esm-only', '--format', 'ascii', '--no-color'], {
      cwd: work,
    });
    return ['publint --strict: no errors or warnings', 'attw --profile esm-only: node16 (from ESM) and bundler resolve types and JS for every entry'];
  });
} catch (error) {
  failed = true;
  console.error(`FAIL ${error.message}`);
}

const seconds = ((Date.now() - started) / 1000).toFixed(1);
if (failed || process.env.KEEP_PACKAGING_DIR === '1') console.log(`packaging test: ${failed ? 'failed' : 'passed'} in ${seconds} s; consumers kept in ${work}`);
else {
  rmSync(work, { recursive: true, force: true });
  console.log(`packaging test: passed in ${seconds} s`);
}
process.exit(failed ? 1 : 0);

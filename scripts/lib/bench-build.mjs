// Builds what `npm run bench` serves and measures: the fixture workers under bench/ and the
// stand-alone worker, bundled exactly as `wrangler deploy` would upload them.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { gzipSync } from 'node:zlib';

const ENV = { ...process.env, WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false' };

/** What gets bundled: name → wrangler config (relative to the repository root). */
export const BUNDLES = {
  ours: 'bench/ours/wrangler.toml',
  theirs: 'bench/theirs/wrangler.toml',
  micro: 'bench/micro/wrangler.toml',
  standalone: 'wrangler.toml',
};

/**
 * `wrangler deploy --dry-run --outdir <absolute>`; a relative --outdir would be resolved against
 * the config file's directory. Returns the absolute path of the bundled module.
 */
export function bundle(root, name, { minify = false } = {}) {
  const outdir = resolve(root, 'bench/.tmp', minify ? `${name}-min` : name);
  const args = ['wrangler', 'deploy', '--dry-run', '-c', BUNDLES[name], '--outdir', outdir];
  if (minify) args.push('--minify');
  try {
    execFileSync('npx', args, { cwd: root, env: ENV, stdio: 'pipe' });
  } catch (err) {
    throw new Error(`bundling ${name} failed:\n${err.stderr?.toString() ?? err.message}`);
  }
  return resolve(outdir, 'index.js');
}

export function sizes(file) {
  const bytes = readFileSync(file);
  return { bytes: bytes.length, gzipBytes: gzipSync(bytes).length };
}

import { execFileSync } from 'node:child_process';

/** Bundles the worker once (the same bundle `wrangler deploy` would upload) for the Node-side tests. */
export default function setup(): void {
  execFileSync('npx', ['wrangler', 'deploy', '--dry-run', '--outdir', '.test-dist'], {
    stdio: 'pipe',
    env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false' },
  });
}

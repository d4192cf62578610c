import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';

/** Bundles the worker and the example MCP server once (the same bundle `wrangler deploy` would upload) for the Node-side tests. */
export default function setup(): void {
  const env = { ...process.env, WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false' };
  execFileSync('npx', ['wrangler', 'deploy', '--dry-run', '--outdir', resolve('.test-dist/worker')], { stdio: 'pipe', env });
  execFileSync('npx', ['wrangler', 'deploy', '--dry-run', '-c', 'test/fixtures/fake-grantex/wrangler.toml', '--outdir', resolve('.test-dist/fake-grantex')], {
    stdio: 'pipe',
    env,
  });
  execFileSync(
    'npx',
    [
      'wrangler',
      'deploy',
      '--dry-run',
      '-c',
      'examples/mcp-server/wrangler.toml',
      '--outdir',
      resolve('.test-dist/example'),
    ] /* relative to the config otherwise */,
    { stdio: 'pipe', env },
  );
}

import { cloudflareTest } from '@cloudflare/vitest-pool-workers';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // The worker's structured audit log is for operators; keep test output readable.
    onConsoleLog: (log) => !log.includes('"source":"mcp-auth-edge"'),
    projects: [
      {
        // Black-box and unit tests inside workerd: real KV, real SQLite Durable Objects.
        plugins: [cloudflareTest({ main: './src/index.ts', wrangler: { configPath: './wrangler.toml' } })],
        test: { name: 'workerd', include: ['test/worker/**/*.test.ts'] },
      },
      {
        // Real external clients (oauth4webapi, the MCP SDK, Express, Chromium) over real HTTP.
        test: {
          name: 'node',
          include: ['test/node/**/*.test.ts'],
          environment: 'node',
          globalSetup: ['test/node/global-setup.ts'],
          testTimeout: 30_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});

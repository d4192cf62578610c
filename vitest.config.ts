import { cloudflareTest } from '@cloudflare/vitest-pool-workers';
import { defineConfig } from 'vitest/config';

// Expected output of passing tests, kept out of the report (VITEST_SHOW_LOGS=1 shows everything):
// - the worker's structured operator log: tests that assert on a line capture it themselves;
// - workerd (Miniflare, test/node) reporting a client that hung up while it was writing, e.g. an
//   MCP client closing its event stream, then that report's unsymbolised stack.
const OPERATOR_LOG = '"source":"mcp-auth-edge"';
const CLIENT_HUNG_UP =
  /^workerd\/server\/server\.c\+\+:\d+: error: kj::getCaughtExceptionAsKj\(\) = kj\/async-io-unix\.c\+\+:\d+: disconnected: ::write\(fd, buffer\.begin\(\), buffer\.size\(\)\): Broken pipe$/;
const WORKERD_STACK = /^stack:( \S+\/workerd@[0-9a-f]+)+$/;
const ANSI = /\x1b\[[0-9;]*m/g;
let afterHangUp = false;

/** false when every line of a console write is expected: it is left out of the test output. */
function showConsoleLog(log: string): boolean {
  if (process.env.VITEST_SHOW_LOGS === '1') return true;
  let show = false;
  for (const raw of log.replace(ANSI, '').split('\n')) {
    const line = raw.trim();
    if (line === '') continue;
    const stackOfHangUp = afterHangUp && WORKERD_STACK.test(line);
    afterHangUp = CLIENT_HUNG_UP.test(line);
    if (!(line.includes(OPERATOR_LOG) || afterHangUp || stackOfHangUp)) show = true;
  }
  return show;
}

export default defineConfig({
  test: {
    onConsoleLog: (log) => showConsoleLog(log),
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

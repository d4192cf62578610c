// Serves a bundled fixture from one Miniflare instance on a real loopback port (as
// test/node/worker-server.ts does): no wrangler dev proxy hop, no per-request logging.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Miniflare } from 'miniflare';

export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

const COMPATIBILITY_DATE = '2026-04-01';

/** @param {'ours' | 'theirs' | 'micro'} kind */
export async function serve(kind, scriptPath) {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const common = { modules: true, scriptPath, compatibilityDate: COMPATIBILITY_DATE, host: '127.0.0.1', port, cf: false };
  const specific = {
    ours: {
      kvNamespaces: ['MCP_AUTH_CLIENTS'],
      durableObjects: { MCP_AUTH_STATE: { className: 'McpAuthState', useSQLite: true } },
      bindings: { BASE_URL: url },
    },
    theirs: { kvNamespaces: ['OAUTH_KV'], bindings: { BASE_URL: url } },
    micro: {
      kvNamespaces: ['MCP_AUTH_CLIENTS'],
      durableObjects: { MCP_AUTH_STATE: { className: 'McpAuthState', useSQLite: true } },
    },
  }[kind];
  // KV and Durable Object storage on tmpfs where there is one: Miniflare's default is a
  // temporary directory on disk, whose fsyncs add noise that neither system has in production.
  const storage = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), `bench-${kind}-`));
  const mf = new Miniflare({ ...common, ...specific, kvPersist: join(storage, 'kv'), durableObjectsPersist: join(storage, 'do') });
  await mf.ready;
  return {
    url,
    async dispose() {
      await mf.dispose();
      rmSync(storage, { recursive: true, force: true });
    },
  };
}

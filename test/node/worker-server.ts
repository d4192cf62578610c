import { createServer } from 'node:net';
import { Miniflare } from 'miniflare';

/** A free loopback port (the issuer must name its port before the worker starts). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface RunningWorker {
  url: string;
  mf: Miniflare;
  dispose(): Promise<void>;
}

/**
 * Serves the bundled worker (.test-dist, built by global-setup) from Miniflare on a real
 * loopback port, with local KV and SQLite Durable Objects: what real HTTP clients talk to.
 */
export async function startWorker(vars: Record<string, string> = {}, scriptPath = '.test-dist/worker/index.js'): Promise<RunningWorker> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const mf = new Miniflare({
    modules: true,
    scriptPath,
    compatibilityDate: '2026-04-01',
    host: '127.0.0.1',
    port,
    kvNamespaces: ['MCP_AUTH_CLIENTS'],
    durableObjects: { MCP_AUTH_STATE: { className: 'McpAuthState', useSQLite: true } },
    bindings: { ISSUER: url, RESOURCE: `${url}/mcp`, SCOPES: 'mcp:tools:read mcp:tools:write offline_access', RATE_LIMITS: 'off', ...vars },
    cf: false,
  });
  await mf.ready;
  return { url, mf, dispose: () => mf.dispose() };
}

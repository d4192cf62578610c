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

export const FAKE_GRANTEX_API_KEY = 'gx_test_fake_grantex_key_0001';

export interface RunningGrantex {
  url: string;
  agentId: string;
  /** Worker vars that put the authorization server in Grantex mode against this fake. */
  vars: Record<string, string>;
  /** The person presses Approve on Grantex's consent page; returns where Grantex sends the browser. */
  approve(consentUrl: URL): Promise<URL>;
  dispose(): Promise<void>;
}

/** The fake Grantex service (test/fixtures/fake-grantex), bundled by global-setup, on its own port. */
export async function startFakeGrantex(): Promise<RunningGrantex> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const mf = new Miniflare({
    modules: true,
    scriptPath: '.test-dist/fake-grantex/worker.js',
    compatibilityDate: '2026-04-01',
    host: '127.0.0.1',
    port,
    bindings: { FAKE_GRANTEX_API_KEYS: FAKE_GRANTEX_API_KEY, FAKE_GRANTEX_ISSUER: 'https://grantex.dev', FAKE_GRANTEX_CONTROL: 'on' },
  });
  await mf.ready;
  const agent = (await (await fetch(`${url}/__control/agents`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"name":"MCP example"}' })).json()) as { agentId: string; developerId: string };
  return {
    url,
    agentId: agent.agentId,
    vars: { GRANTEX_BASE_URL: url, GRANTEX_AGENT_ID: agent.agentId, GRANTEX_DEVELOPER_ID: agent.developerId, GRANTEX_API_KEY: FAKE_GRANTEX_API_KEY },
    async approve(consentUrl) {
      if (consentUrl.origin !== url) throw new Error(`not a Grantex consent URL: ${consentUrl}`);
      const page = await fetch(consentUrl);
      if (page.status !== 200 || !(await page.text()).includes('Approve')) throw new Error(`Grantex consent page answered ${page.status}`);
      const approved = await fetch(`${consentUrl.href}/approve`, { method: 'POST', redirect: 'manual' });
      if (approved.status !== 303) throw new Error(`Grantex approve answered ${approved.status}`);
      return new URL(approved.headers.get('location')!);
    },
    dispose: () => mf.dispose(),
  };
}

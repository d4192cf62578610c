import { afterAll, beforeAll } from 'vitest';
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
  /** Its API (GRANTEX_BASE_URL). */
  url: string;
  /** Where its consent pages are served: `url`'s origin, or the `consentHost` origin of the same server. */
  consentOrigin: string;
  agentId: string;
  /** Worker vars that put the authorization server in Grantex mode against this fake. */
  vars: Record<string, string>;
  /** The person presses Approve on Grantex's consent page; returns where Grantex sends the browser. */
  approve(consentUrl: URL): Promise<URL>;
  dispose(): Promise<void>;
}

export interface FakeGrantexOptions {
  /**
   * Serve consent pages under this loopback host name on the same port, e.g. 'localhost': another
   * origin than the API's, as the reference service's PUBLIC_BASE_URL (consent on https://grantex.dev,
   * API on https://api.grantex.dev). Default: the API's origin.
   */
  consentHost?: string;
}

/** The fake Grantex service (test/fixtures/fake-grantex), bundled by global-setup, on its own port. */
export async function startFakeGrantex(options: FakeGrantexOptions = {}): Promise<RunningGrantex> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const consentOrigin = options.consentHost ? `http://${options.consentHost}:${port}` : url;
  const mf = new Miniflare({
    modules: true,
    scriptPath: '.test-dist/fake-grantex/worker.js',
    compatibilityDate: '2026-04-01',
    host: '127.0.0.1',
    port,
    bindings: {
      FAKE_GRANTEX_API_KEYS: FAKE_GRANTEX_API_KEY,
      FAKE_GRANTEX_ISSUER: 'https://grantex.dev',
      FAKE_GRANTEX_CONTROL: 'on',
      ...(options.consentHost ? { FAKE_GRANTEX_PUBLIC_BASE_URL: consentOrigin } : {}),
    },
  });
  await mf.ready;
  const agent = (await (
    await fetch(`${url}/__control/agents`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"name":"MCP example"}' })
  ).json()) as { agentId: string; developerId: string };
  return {
    url,
    consentOrigin,
    agentId: agent.agentId,
    vars: { GRANTEX_BASE_URL: url, GRANTEX_AGENT_ID: agent.agentId, GRANTEX_DEVELOPER_ID: agent.developerId, GRANTEX_API_KEY: FAKE_GRANTEX_API_KEY },
    // What the consent page's script does (contract "consent page"): read the request, post approve
    // on its own origin, then send the browser to redirectUri?code=…&state=….
    async approve(consentUrl) {
      const requestId = consentUrl.searchParams.get('req');
      if (consentUrl.origin !== consentOrigin || consentUrl.pathname !== '/consent' || !requestId) throw new Error(`not a Grantex consent URL: ${consentUrl}`);
      const page = await fetch(consentUrl);
      if (page.status !== 200 || !(page.headers.get('content-type') ?? '').startsWith('text/html'))
        throw new Error(`Grantex consent page answered ${page.status}`);
      const api = `${consentOrigin}/v1/consent/${encodeURIComponent(requestId)}`;
      if ((await fetch(api)).status !== 200) throw new Error('Grantex consent request not found');
      const approved = await fetch(`${api}/approve`, { method: 'POST' });
      if (approved.status !== 200) throw new Error(`Grantex approve answered ${approved.status}`);
      const body = (await approved.json()) as { code: string; redirectUri: string; state?: string };
      const target = new URL(body.redirectUri);
      target.searchParams.set('code', body.code);
      if (body.state) target.searchParams.set('state', body.state);
      return target;
    },
    dispose: () => mf.dispose(),
  };
}

/** The two grant authorities the example MCP server is tested with end to end. */
export const EXAMPLE_MODES = [
  { mode: 'local signer', grantex: false },
  { mode: 'Grantex', grantex: true },
];

/**
 * The example MCP server (the bundle global-setup built), alone or in Grantex mode against the fake
 * over HTTP, started before and stopped after the tests of the calling describe block.
 */
export function exampleServer(grantex: boolean) {
  let worker: RunningWorker | undefined;
  let grantexService: RunningGrantex | undefined;
  beforeAll(async () => {
    grantexService = grantex ? await startFakeGrantex() : undefined;
    worker = await startWorker(grantexService?.vars ?? {}, '.test-dist/example/index.js');
  });
  afterAll(async () => {
    await worker?.dispose();
    await grantexService?.dispose();
  });
  return {
    get url(): string {
      return worker!.url;
    },
    get mcpUrl(): URL {
      return new URL(`${worker!.url}/mcp`);
    },
    /** Grantex mode: decide on the fake's consent page; returns where it sends the browser. */
    upstreamConsent: (url: URL): Promise<URL> => grantexService!.approve(url),
  };
}

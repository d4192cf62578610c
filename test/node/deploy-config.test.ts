import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Miniflare } from 'miniflare';
import { deployConfigNotes, deployConfigProblems, isLoopbackHost, type DeployConfig } from '../../scripts/check-deploy-config.mjs';
import { startWorker } from './worker-server';

const dir = mkdtempSync(join(tmpdir(), 'mcp-auth-edge-deploy-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const KV_ID = '0f1e2d3c4b5a69788796a5b4c3d2e1f0';
const MAIN = resolve('src/index.ts');

/** The wrangler.toml docs/deploy.md has the reader write (steps 2 to 6), its `main` made absolute for a temp directory. */
const PRODUCTION_TOML = (() => {
  const guide = readFileSync('docs/deploy.md', 'utf8');
  const block = /Your `wrangler.toml` after steps 2 to 6[\s\S]*?```toml\n([\s\S]*?)```/.exec(guide)?.[1];
  if (!block?.includes('main = "src/index.ts"')) throw new Error('docs/deploy.md: the complete wrangler.toml example is missing');
  return block.replace('main = "src/index.ts"', `main = ${JSON.stringify(MAIN)}`);
})();

function writeConfig(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

/** An npm script as an operator runs it. */
function npmRun(script: string, args: string[]) {
  return spawnSync('npm', ['run', '--silent', script, '--', ...args], {
    encoding: 'utf8',
    timeout: 120_000,
    env: { ...process.env, NO_COLOR: '1', WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false' },
  });
}

/** The resolved config of PRODUCTION_TOML, as unstable_readConfig returns it. */
const production = (): DeployConfig => ({
  vars: {
    ISSUER: 'https://auth.example.com',
    SCOPES: 'mcp:tools:read mcp:tools:write offline_access',
    CF_ACCESS_TEAM_DOMAIN: 'https://acme.cloudflareaccess.com',
    CF_ACCESS_AUD: 'aud-tag',
  },
  kv_namespaces: [{ binding: 'MCP_AUTH_CLIENTS', id: KV_ID }],
  durable_objects: { bindings: [{ name: 'MCP_AUTH_STATE', class_name: 'McpAuthState' }] },
  migrations: [{ tag: 'v1', new_sqlite_classes: ['McpAuthState'] }],
  routes: [{ pattern: 'auth.example.com', custom_domain: true }],
});

describe('deployConfigProblems (each defect named by its variable)', () => {
  it('passes the production config', () => {
    expect(deployConfigProblems(production())).toEqual([]);
    expect(deployConfigNotes(production())).toEqual([]);
  });

  const cases: [string, (c: DeployConfig) => void, RegExp][] = [
    ['no ISSUER', (c) => delete c.vars!.ISSUER, /^ISSUER is not set in \[vars\]/],
    ['a localhost ISSUER', (c) => (c.vars!.ISSUER = 'http://localhost:8787'), /^ISSUER http:\/\/localhost:8787 is a localhost address/],
    ['a 127.0.0.1 ISSUER over https', (c) => (c.vars!.ISSUER = 'https://127.0.0.1'), /^ISSUER https:\/\/127\.0\.0\.1 is a localhost address/],
    ['an [::1] ISSUER', (c) => (c.vars!.ISSUER = 'https://[::1]:8443'), /is a localhost address/],
    ['a *.localhost ISSUER (RFC 6761 §6.3)', (c) => (c.vars!.ISSUER = 'https://auth.localhost'), /is a localhost address/],
    ['an http ISSUER on a public host', (c) => (c.vars!.ISSUER = 'http://auth.example.com'), /^ISSUER http:\/\/auth\.example\.com is not https/],
    [
      'an ISSUER with a trailing slash',
      (c) => (c.vars!.ISSUER = 'https://auth.example.com/'),
      /^ISSUER https:\/\/auth\.example\.com\/ must not end with a slash/,
    ],
    [
      'a localhost RESOURCE',
      (c) => (c.vars!.RESOURCE = 'https://mcp.example.com/mcp http://localhost:8787/mcp'),
      /^RESOURCE http:\/\/localhost:8787\/mcp is a localhost address/,
    ],
    ['DEVELOPMENT_SIGN_IN=force', (c) => (c.vars!.DEVELOPMENT_SIGN_IN = 'force'), /^DEVELOPMENT_SIGN_IN = "force" would serve the development sign-in/],
    [
      'no Cloudflare Access (→ development sign-in)',
      (c) => delete c.vars!.CF_ACCESS_TEAM_DOMAIN,
      /^CF_ACCESS_TEAM_DOMAIN is not set: without Cloudflare Access the worker falls back to the development sign-in/,
    ],
    ['Access without its AUD tag', (c) => delete c.vars!.CF_ACCESS_AUD, /^CF_ACCESS_AUD is not set/],
    [
      'an Access team domain that is not https',
      (c) => (c.vars!.CF_ACCESS_TEAM_DOMAIN = 'acme.cloudflareaccess.com'),
      /^CF_ACCESS_TEAM_DOMAIN acme\.cloudflareaccess\.com must be https:/,
    ],
    [
      'the placeholder KV id',
      (c) => (c.kv_namespaces![0]!.id = 'mcp-auth-clients'),
      /^kv_namespaces MCP_AUTH_CLIENTS id "mcp-auth-clients" is not a KV namespace id: run npx wrangler kv namespace create MCP_AUTH_CLIENTS/,
    ],
    ['no KV binding', (c) => (c.kv_namespaces = []), /^kv_namespaces has no MCP_AUTH_CLIENTS binding/],
    ['no Durable Object binding', (c) => (c.durable_objects = { bindings: [] }), /^durable_objects has no MCP_AUTH_STATE binding/],
    [
      'a KV-backed Durable Object (new_classes)',
      (c) => (c.migrations = [{ tag: 'v1', new_classes: ['McpAuthState'] }]),
      /^migrations create McpAuthState with new_classes: it needs SQLite storage/,
    ],
    ['no migration', (c) => (c.migrations = []), /^migrations do not create McpAuthState: add \[\[migrations\]\]/],
    [
      'the signing key in [vars]',
      (c) => (c.vars!.SIGNING_PRIVATE_JWK = '{"kty":"EC"}'),
      /^SIGNING_PRIVATE_JWK is a secret: remove it from \[vars\] and run npx wrangler secret put SIGNING_PRIVATE_JWK/,
    ],
    [
      'the operator secret in [vars]',
      (c) => (c.vars!.OPERATOR_SECRET = 'x'.repeat(32)),
      /^OPERATOR_SECRET is a secret: remove it from \[vars\] and run npx wrangler secret put OPERATOR_SECRET/,
    ],
    ['the Grantex API key in [vars]', (c) => (c.vars!.GRANTEX_API_KEY = 'gx_live_x'), /^GRANTEX_API_KEY is a secret/],
    ['an unknown SIGNING_ALGORITHM', (c) => (c.vars!.SIGNING_ALGORITHM = 'HS256'), /^SIGNING_ALGORITHM "HS256" must be one of ES256, EdDSA, RS256/],
    ['CLIENTS that is one object, not an array', (c) => (c.vars!.CLIENTS = '{"client_id":"a"}'), /^CLIENTS must be a JSON array/],
    ['RATE_LIMITS that is not JSON', (c) => (c.vars!.RATE_LIMITS = '{token:1}'), /^RATE_LIMITS is neither "off" nor valid JSON/],
    [
      'Grantex without its agent',
      (c) => Object.assign(c.vars!, { GRANTEX_BASE_URL: 'https://api.grantex.dev', GRANTEX_DEVELOPER_ID: 'dev_1' }),
      /^GRANTEX_AGENT_ID is not set/,
    ],
    [
      'Grantex over http',
      (c) => Object.assign(c.vars!, { GRANTEX_BASE_URL: 'http://api.grantex.dev', GRANTEX_AGENT_ID: 'ag_1', GRANTEX_DEVELOPER_ID: 'dev_1' }),
      /^GRANTEX_BASE_URL http:\/\/api\.grantex\.dev is not https/,
    ],
  ];
  it.each(cases)('refuses %s', (_, change, message) => {
    const config = production();
    change(config);
    const problems = deployConfigProblems(config);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(message);
  });

  it('--custom-principal accepts a worker whose code sets the principal, but never DEVELOPMENT_SIGN_IN=force', () => {
    const config = production();
    delete config.vars!.CF_ACCESS_TEAM_DOMAIN;
    delete config.vars!.CF_ACCESS_AUD;
    expect(deployConfigProblems(config, { customPrincipal: true })).toEqual([]);
    config.vars!.DEVELOPMENT_SIGN_IN = 'force';
    expect(deployConfigProblems(config, { customPrincipal: true })).toEqual([expect.stringMatching(/^DEVELOPMENT_SIGN_IN = "force"/)]);
  });

  it('notes an issuer host that no route or custom domain serves; a Grantex key it cannot see', () => {
    const config = production();
    config.routes = [];
    config.vars!.GRANTEX_BASE_URL = 'https://api.grantex.dev';
    expect(deployConfigNotes(config)).toEqual([
      'GRANTEX_API_KEY must be set with npx wrangler secret put GRANTEX_API_KEY (secrets cannot be checked here)',
      'no route or custom domain names auth.example.com: add routes = [{ pattern = "auth.example.com", custom_domain = true }] unless it is set up in the dashboard',
    ]);
    config.vars!.ISSUER = 'https://mcp-auth-edge.acme.workers.dev';
    expect(deployConfigNotes(config)).toHaveLength(1);
  });

  it('isLoopbackHost', () => {
    for (const host of ['localhost', 'LOCALHOST', 'a.localhost', '127.0.0.1', '127.1.2.3', '[::1]', '0.0.0.0']) expect(isLoopbackHost(host), host).toBe(true);
    for (const host of ['auth.example.com', 'localhost.example.com', '128.0.0.1', '10.0.0.1']) expect(isLoopbackHost(host), host).toBe(false);
  });
});

describe('npm run check:deploy and npm run deploy (wrangler.toml as wrangler reads it)', () => {
  it("refuses the repository's own development wrangler.toml, naming ISSUER, the sign-in and the KV id", () => {
    const run = npmRun('check:deploy', []);
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('wrangler.toml must not be deployed (docs/deploy.md):');
    expect(run.stderr).toContain('✗ ISSUER http://localhost:8787 is a localhost address');
    expect(run.stderr).toContain('✗ CF_ACCESS_TEAM_DOMAIN is not set');
    expect(run.stderr).toContain('✗ kv_namespaces MCP_AUTH_CLIENTS id "mcp-auth-clients" is not a KV namespace id');
  });

  it('npm run deploy on the development config stops before wrangler builds anything', () => {
    const outdir = join(dir, 'refused-build');
    const run = npmRun('deploy', ['--dry-run', '--outdir', outdir]);
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('must not be deployed');
    expect(existsSync(outdir)).toBe(false);
  });

  it('passes a production config, and npm run deploy -- --dry-run builds it', () => {
    const config = writeConfig('production.toml', PRODUCTION_TOML);
    const check = npmRun('check:deploy', ['-c', config]);
    expect(check.stderr).toBe('');
    expect(check.stdout).toContain(`${config}: ready to deploy (ISSUER https://auth.example.com)`);
    expect(check.status).toBe(0);

    const outdir = join(dir, 'production-build');
    const build = npmRun('deploy', ['-c', config, '--dry-run', '--outdir', outdir]);
    expect(build.status, build.stderr).toBe(0);
    expect(build.stdout).toContain('--dry-run: exiting now.');
    expect(existsSync(join(outdir, 'index.js'))).toBe(true);
  });

  it('checks the [env.<name>] section wrangler would deploy with --env', () => {
    const config = writeConfig(
      'environments.toml',
      `${PRODUCTION_TOML}
[env.staging]
[env.staging.vars]
ISSUER = "http://localhost:8787"
`,
    );
    const staging = npmRun('check:deploy', ['-c', config, '--env', 'staging']);
    expect(staging.status).toBe(1);
    expect(staging.stderr).toContain(`${config} [env.staging] must not be deployed`);
    // Wrangler does not inherit vars or KV namespaces into an environment.
    expect(staging.stderr).toContain('✗ ISSUER http://localhost:8787 is a localhost address');
    expect(staging.stderr).toContain('✗ kv_namespaces has no MCP_AUTH_CLIENTS binding');
  });

  it('the production bundle starts with its production vars: metadata names the https issuer, the sign-in is Cloudflare Access', async () => {
    const outdir = join(dir, 'production-build');
    if (!existsSync(join(outdir, 'index.js'))) npmRun('deploy', ['-c', writeConfig('production.toml', PRODUCTION_TOML), '--dry-run', '--outdir', outdir]);
    const mf = new Miniflare({
      modules: true,
      scriptPath: join(outdir, 'index.js'),
      modulesRoot: outdir,
      compatibilityDate: '2026-04-01',
      compatibilityFlags: ['global_fetch_strictly_public'],
      kvNamespaces: ['MCP_AUTH_CLIENTS'],
      durableObjects: { MCP_AUTH_STATE: { className: 'McpAuthState', useSQLite: true } },
      bindings: {
        ISSUER: 'https://auth.example.com',
        SCOPES: 'mcp:tools:read mcp:tools:write offline_access',
        CF_ACCESS_TEAM_DOMAIN: 'https://acme.cloudflareaccess.com',
        CF_ACCESS_AUD: '4714c1358e65fe4b408ad6d432a5f878f08194bdb6752b1b1d8d2bbd2e8d3e5c',
      },
      cf: false,
    });
    try {
      // docs/deploy.md "Verify": curl https://auth.example.com/.well-known/oauth-authorization-server
      const metadata = (await (await mf.dispatchFetch('https://auth.example.com/.well-known/oauth-authorization-server')).json()) as Record<string, unknown>;
      expect(metadata.issuer).toBe('https://auth.example.com');
      expect(metadata.authorization_endpoint).toBe('https://auth.example.com/authorize');
      const resource = (await (await mf.dispatchFetch('https://auth.example.com/.well-known/oauth-protected-resource/mcp')).json()) as Record<string, unknown>;
      expect(resource.resource).toBe('https://auth.example.com/mcp');
      // A valid authorization request without a Cloudflare Access assertion: no name field (the
      // development sign-in is off); the client gets access_denied (RFC 6749 §4.1.2.1).
      const registered = await mf.dispatchFetch('https://auth.example.com/register', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ redirect_uris: ['https://client.example.net/callback'], token_endpoint_auth_method: 'none', client_name: 'deploy check' }),
      });
      expect(registered.status).toBe(201);
      const { client_id: clientId } = (await registered.json()) as { client_id: string };
      const authorizeUrl = new URL('https://auth.example.com/authorize');
      for (const [key, value] of Object.entries({
        response_type: 'code',
        client_id: clientId,
        redirect_uri: 'https://client.example.net/callback',
        code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
        code_challenge_method: 'S256',
        state: 'xyz',
        resource: 'https://auth.example.com/mcp',
      }))
        authorizeUrl.searchParams.set(key, value);
      const authorize = await mf.dispatchFetch(authorizeUrl, { redirect: 'manual' });
      expect(authorize.status).toBe(302);
      const location = new URL(authorize.headers.get('location')!);
      expect(location.origin + location.pathname).toBe('https://client.example.net/callback');
      expect(location.searchParams.get('error')).toBe('access_denied');
      expect(location.searchParams.get('iss')).toBe('https://auth.example.com');
    } finally {
      await mf.dispose();
    }
  });
});

describe('node scripts/generate-signing-key.mjs (docs/deploy.md "Signing key")', () => {
  it.each(['ES256', 'EdDSA', 'RS256'] as const)('%s: one private JWK line on stdout that the worker publishes under its kid', async (alg) => {
    const run = spawnSync(process.execPath, ['scripts/generate-signing-key.mjs', alg], { encoding: 'utf8' });
    expect(run.status).toBe(0);
    const lines = run.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const jwk = JSON.parse(lines[0]!) as Record<string, string>;
    expect(jwk.alg).toBe(alg);
    expect(jwk.d).toBeTruthy();
    expect(jwk.kid).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(run.stderr).toContain(`SIGNING_ALGORITHM=${alg}`);

    const worker = await startWorker({ SIGNING_PRIVATE_JWK: lines[0]!, SIGNING_ALGORITHM: alg });
    try {
      const jwks = (await (await fetch(`${worker.url}/.well-known/jwks.json`)).json()) as { keys: Record<string, string>[] };
      const published = jwks.keys.find((key) => key.kid === jwk.kid);
      expect(published).toMatchObject({ kid: jwk.kid, alg });
      expect(published).not.toHaveProperty('d');
    } finally {
      await worker.dispose();
    }
  });
});

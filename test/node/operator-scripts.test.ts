import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile, spawn } from 'node:child_process';
import { optionsFromEnv } from '../../src/env';
import { resolveOptions } from '../../src/options';
import { startFakeGrantex, startWorker, type RunningWorker } from './worker-server';

const OPERATOR_SECRET = 'node-operator-secret-0123456789abcdefghij';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a script asynchronously (the worker under test answers from this same process). */
function run(script: string, args: string[], options: { env?: Record<string, string | undefined>; input?: string } = {}): Promise<Run> {
  return new Promise((resolve) => {
    const env = { ...process.env, OPERATOR_SECRET: undefined, ...options.env } as NodeJS.ProcessEnv;
    for (const [name, value] of Object.entries(env)) if (value === undefined) delete env[name];
    const child = execFile('node', [`scripts/${script}`, ...args], { env, timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
    if (options.input !== undefined) child.stdin!.end(options.input);
  });
}

/**
 * Runs smoke.mjs and hands the URL it asks a person to open to `browser`; resolves when the script ends.
 */
function runSmokeWithBrowser(args: string[], browser: (url: URL) => Promise<void>): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn('node', ['scripts/smoke.mjs', ...args]);
    let stdout = '';
    let stderr = '';
    let opened = false;
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const url = /Open this URL in a browser[^\n]*\n\s+(\S+)/.exec(stdout)?.[1];
      if (url && !opened) {
        opened = true;
        browser(new URL(url)).catch((err: Error) => (stderr += `browser: ${err.message}`));
      }
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

/** A development sign-in up to the consent page for a client: 200 when the worker knows the client. */
async function consentPage(worker: RunningWorker, clientId: string, redirectUri: string): Promise<Response> {
  const params = new URLSearchParams({
    response_type: 'code',
    client_id: clientId,
    redirect_uri: redirectUri,
    code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
    code_challenge_method: 'S256',
    state: 's',
  });
  return fetch(`${worker.url}/authorize?${params}`, { redirect: 'manual' });
}

describe('every script has --help and names the variable it is about in errors', () => {
  it.each([
    ['register-client.mjs', 'CLIENTS'],
    ['generate-signing-key.mjs', 'SIGNING_PRIVATE_JWK'],
    ['operator.mjs', 'OPERATOR_SECRET'],
    ['smoke.mjs', 'ISSUER'],
  ])('%s --help exits 0 and mentions %s', async (script, variable) => {
    const result = await run(script, ['--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('usage:');
    expect(result.stdout).toContain(variable);
  });

  it('invalid input exits 2 with a message naming the option or variable', async () => {
    const cases: [string, string[], RegExp, { env?: Record<string, string>; input?: string }?][] = [
      ['register-client.mjs', [], /--redirect is required/],
      ['register-client.mjs', ['--redirect', 'http://app.example.com/cb'], /--redirect "http:\/\/app.example.com\/cb" must be https/],
      [
        'register-client.mjs',
        ['--redirect', 'https://a.example/cb', '--public', '--auth-method', 'client_secret_post'],
        /--public and --auth-method contradict/,
      ],
      ['register-client.mjs', ['--redirect', 'https://a.example/cb', '--append', '{"client_id":"x"}'], /CLIENTS must be a JSON array/],
      ['register-client.mjs', ['--redirect', 'https://a.example/cb', '--append', '-'], /CLIENTS value is not valid JSON/, { input: 'nope' }],
      ['register-client.mjs', ['--redirect', 'https://a.example/cb', '--bogus'], /Unknown option '--bogus'/],
      ['generate-signing-key.mjs', ['HS256'], /not a SIGNING_ALGORITHM/],
      ['operator.mjs', ['--issuer', 'http://localhost:8787', 'keys', 'rotate'], /OPERATOR_SECRET is not set/],
      ['operator.mjs', ['--issuer', 'http://localhost:8787', 'keys', 'rotate'], /OPERATOR_SECRET must be at least 32/, { env: { OPERATOR_SECRET: 'short' } }],
      ['operator.mjs', ['--issuer', 'http://localhost:8787', 'keys', 'spin'], /unknown command "keys spin"/, { env: { OPERATOR_SECRET } }],
      ['operator.mjs', ['--issuer', 'http://example.com', 'keys', 'rotate'], /--issuer "http:\/\/example.com" must be https/, { env: { OPERATOR_SECRET } }],
      ['operator.mjs', ['--issuer', 'http://localhost:8787', 'grants', 'revoke'], /needs --sub/, { env: { OPERATOR_SECRET } }],
      ['smoke.mjs', [], /--issuer is required/],
      ['smoke.mjs', ['--issuer', 'http://localhost:8787/'], /no trailing slash/],
    ];
    for (const [script, args, message, options] of cases) {
      const result = await run(script, args, options);
      expect(result.code, `${script} ${args.join(' ')}`).toBe(2);
      expect(result.stderr, `${script} ${args.join(' ')}`).toMatch(message);
    }
  });
});

describe('CLIENTS from register-client.mjs and a signing key from generate-signing-key.mjs', () => {
  it('the printed CLIENTS value (and an --append of it) is accepted by the worker as is', async () => {
    const first = await run('register-client.mjs', ['--name', 'First', '--redirect', 'http://127.0.0.1:4000/cb', '--public']);
    expect(first.code).toBe(0);
    const clients = JSON.parse(first.stdout);
    expect(Array.isArray(clients)).toBe(true);
    const second = await run('register-client.mjs', ['--redirect', 'https://app.example.com/cb', '--append', '-'], { input: first.stdout });
    expect(second.stderr).toMatch(/client_secret: \S+/);
    const both = JSON.parse(second.stdout);
    expect(both.map((c: { client_id: string }) => c.client_id)).toEqual([clients[0].client_id, expect.any(String)]);
    expect(JSON.stringify(both)).not.toContain(/client_secret: (\S+)/.exec(second.stderr)![1]);

    const worker = await startWorker({ CLIENTS: second.stdout.trim() });
    try {
      expect((await consentPage(worker, both[0].client_id, 'http://127.0.0.1:4000/cb')).status).toBe(200);
      expect((await consentPage(worker, both[1].client_id, 'https://app.example.com/cb')).status).toBe(200);
    } finally {
      await worker.dispose();
    }
  });

  it('CLIENTS that is one object, not an array, is a start-up error naming CLIENTS (not "object is not iterable" per request)', () => {
    const record = JSON.stringify({ client_id: 'x', redirect_uris: ['https://a.example/cb'], token_endpoint_auth_method: 'none' });
    expect(() => optionsFromEnv({ ISSUER: 'http://localhost:8787', CLIENTS: record })).toThrow(/CLIENTS must be a JSON array of client records/);
    expect(() => optionsFromEnv({ ISSUER: 'http://localhost:8787', CLIENTS: '[1]' })).toThrow(/CLIENTS\[0\] must be a client record/);
  });

  it('an EdDSA key without SIGNING_ALGORITHM signs EdDSA (JWKS and /token answer); a contradicting SIGNING_ALGORITHM stops start-up naming both', async () => {
    const generated = await run('generate-signing-key.mjs', ['EdDSA']);
    expect(generated.code).toBe(0);
    const jwk = generated.stdout.trim();
    expect(optionsFromEnv({ ISSUER: 'http://localhost:8787', SIGNING_PRIVATE_JWK: jwk }).signing?.algorithm).toBe('EdDSA');
    expect(() => optionsFromEnv({ ISSUER: 'http://localhost:8787', SIGNING_PRIVATE_JWK: jwk, SIGNING_ALGORITHM: 'ES256' })).toThrow(
      /SIGNING_ALGORITHM is ES256 but SIGNING_PRIVATE_JWK is an EdDSA key/,
    );
    // The library options the same way: the key's algorithm by default, a contradiction refused.
    const library = { issuer: 'http://localhost:8787', resources: ['http://localhost:8787/mcp'], scopes: ['mcp'] };
    expect(resolveOptions({ ...library, signing: { privateJwk: jwk } }).signingAlgorithm).toBe('EdDSA');
    expect(() => resolveOptions({ ...library, signing: { privateJwk: jwk, algorithm: 'RS256' } })).toThrow(
      /signing\.algorithm is RS256 but signing\.privateJwk is an EdDSA key/,
    );
    expect(() => resolveOptions({ ...library, signing: { privateJwk: { ...JSON.parse(jwk), alg: 'ES256' } } })).toThrow(
      /signing\.privateJwk is not a key for ES256, EdDSA, RS256/,
    );

    const worker = await startWorker({ SIGNING_PRIVATE_JWK: jwk });
    try {
      const jwks = await fetch(`${worker.url}/.well-known/jwks.json`);
      expect(jwks.status).toBe(200);
      expect(((await jwks.json()) as { keys: { alg: string; crv: string }[] }).keys).toEqual([expect.objectContaining({ alg: 'EdDSA', crv: 'Ed25519' })]);
      const smoke = await run('smoke.mjs', ['--issuer', worker.url]);
      expect(smoke.stdout, smoke.stdout).toContain('all steps passed');
    } finally {
      await worker.dispose();
    }
  });
});

describe('smoke.mjs and operator.mjs against a running worker', () => {
  let worker: RunningWorker;
  beforeAll(async () => {
    worker = await startWorker({ OPERATOR_SECRET });
  });
  afterAll(() => worker?.dispose());

  it('smoke.mjs runs the whole flow through the development sign-in and prints each step (exit 0)', async () => {
    const result = await run('smoke.mjs', ['--issuer', worker.url, '--user', 'smoke user']);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    const steps = result.stdout
      .split('\n')
      .filter((line) => line.startsWith('✓'))
      .map((line) => line.split(/\s+/)[1]);
    expect(steps).toEqual(['metadata', 'register', 'authorize', 'token', 'introspect', 'refresh', 'revoke']);
    expect(result.stdout).toContain('signed in as "smoke user"');
    expect(result.stdout).toContain('all steps passed');
  });

  it("smoke.mjs prints the URL to open when the sign-in needs a person (Grantex consent), then finishes from the browser's callback", async () => {
    const grantexService = await startFakeGrantex();
    const upstream = await startWorker(grantexService.vars);
    try {
      // The "browser": the development sign-in, Grantex's consent page, our callback, then the script's listener.
      const browser = async (url: URL) => {
        const page = await fetch(url, { redirect: 'manual' });
        const html = await page.text();
        const request = /name="request" value="([^"]+)"/.exec(html)![1]!;
        const consent = await fetch(new URL('/authorize', url), {
          method: 'POST',
          redirect: 'manual',
          headers: {
            'Content-Type': 'application/x-www-form-urlencoded',
            Cookie: page.headers
              .getSetCookie()
              .map((c) => c.split(';')[0])
              .join('; '),
            Origin: upstream.url,
          },
          body: new URLSearchParams({ request, action: 'approve', username: 'grace' }),
        });
        const browserCookie = consent.headers
          .getSetCookie()
          .map((c) => c.split(';')[0])
          .join('; ');
        const callback = await grantexService.approve(new URL(consent.headers.get('Location')!));
        const back = await fetch(callback, { redirect: 'manual', headers: { Cookie: browserCookie } });
        await fetch(back.headers.get('Location')!);
      };
      const result = await runSmokeWithBrowser(['--issuer', upstream.url, '--wait', '60'], browser);
      expect(result.code, result.stdout + result.stderr).toBe(0);
      expect(result.stdout).toContain(`Open this URL in a browser, sign in and approve (waiting 60 s):\n  ${upstream.url}/authorize?`);
      expect(result.stdout).toContain('all steps passed');
    } finally {
      await upstream.dispose();
      await grantexService.dispose();
    }
  });

  it('smoke.mjs exits 1 naming the failed step and what to change', async () => {
    const closed = await startWorker({ REGISTRATION: 'off' });
    try {
      const result = await run('smoke.mjs', ['--issuer', closed.url]);
      expect(result.code).toBe(1);
      expect(result.stdout).toMatch(/✗ register\s+the server offers no registration_endpoint: set REGISTRATION/);
      const wrongIssuer = await run('smoke.mjs', ['--issuer', closed.url.replace('127.0.0.1', 'localhost')]);
      expect(wrongIssuer.code).toBe(1);
      expect(wrongIssuer.stdout).toMatch(/✗ metadata\s+.*check ISSUER/);
    } finally {
      await closed.dispose();
    }
  });

  it('operator.mjs lists clients, deletes one, revokes a user and rotates the key (409 first, then --force)', async () => {
    const env = { OPERATOR_SECRET };
    await run('smoke.mjs', ['--issuer', worker.url]); // registers a client
    const listed = await run('operator.mjs', ['--issuer', worker.url, 'clients', 'list'], { env });
    expect(listed.code, listed.stderr).toBe(0);
    const clients = JSON.parse(listed.stdout) as { client_id: string; client_name: string; client_secret_hash?: string }[];
    expect(clients.length).toBeGreaterThan(0);
    expect(clients.every((c) => c.client_secret_hash === undefined)).toBe(true);

    const deleted = await run('operator.mjs', ['--issuer', worker.url, 'clients', 'delete', '--client-id', clients[0]!.client_id], { env });
    expect(deleted.code, deleted.stderr).toBe(0);
    const again = await run('operator.mjs', ['--issuer', worker.url, 'clients', 'delete', '--client-id', clients[0]!.client_id], { env });
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('404 not_found');

    const revoked = await run('operator.mjs', ['--issuer', worker.url, 'grants', 'revoke', '--sub', 'smoke-test'], { env });
    expect(revoked.code, revoked.stderr).toBe(0);
    expect(JSON.parse(revoked.stdout)).toEqual({ sub: 'smoke-test', revoked: 0 }); // the smoke test revoked its own grant

    const early = await run('operator.mjs', ['--issuer', worker.url, 'keys', 'rotate'], { env });
    expect(early.code).toBe(1);
    expect(early.stderr).toMatch(/409 invalid_request .*published too recently.*\(retry after \d+ s\)/);
    const forced = await run('operator.mjs', ['--issuer', worker.url, 'keys', 'rotate', '--force'], { env });
    expect(forced.code, forced.stderr).toBe(0);
    expect(JSON.parse(forced.stdout)).toMatchObject({ current: expect.any(String), next: expect.any(String) });
    // The flow still works with the rotated keys.
    expect((await run('smoke.mjs', ['--issuer', worker.url])).code).toBe(0);
  });

  it('operator.mjs says when the secret is wrong or the worker has no operator API', async () => {
    const wrong = await run('operator.mjs', ['--issuer', worker.url, 'clients', 'list'], { env: { OPERATOR_SECRET: `${OPERATOR_SECRET}x` } });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain("OPERATOR_SECRET does not match the worker's OPERATOR_SECRET");
    const plain = await startWorker();
    try {
      const absent = await run('operator.mjs', ['--issuer', plain.url, 'clients', 'list'], { env: { OPERATOR_SECRET } });
      expect(absent.code).toBe(1);
      expect(absent.stderr).toContain("serves no operator API: set the worker's OPERATOR_SECRET secret");
    } finally {
      await plain.dispose();
    }
  });
});

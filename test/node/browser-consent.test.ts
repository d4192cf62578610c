// The consent page in a real browser (Debian's Chromium driven by playwright-core) against
// `wrangler dev`: what a person sees, types and clicks, and where the browser lands.
// Chromium comes from scripts/ensure-chromium.sh (never `playwright install`).
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from './chromium';
import { freePort } from './worker-server';

// The screenshots in docs/ are refreshed with UPDATE_SCREENSHOTS=1; other runs write them to a temp dir.
const SCREENSHOT_DIR = process.env.UPDATE_SCREENSHOTS === '1' ? fileURLToPath(new URL('../../docs/', import.meta.url)) : tmpdir();
const SCREENSHOT_LIGHT = join(SCREENSHOT_DIR, 'consent-page.png');
const SCREENSHOT_DARK = join(SCREENSHOT_DIR, 'consent-page-dark.png');
const VIEWPORT = { width: 800, height: 900 };
const SCOPES = ['mcp:tools:read', 'mcp:tools:write'];
const CLIENT_NAME = 'Browser Test Client';

let issuer: string;
let callbackOrigin: string;
let redirectUri: string;
let clientId: string;
let browser: Browser | undefined;
let wrangler: ChildProcess | undefined;
let wranglerOutput = '';
let callbackServer: Server | undefined;
let persistDir: string | undefined;

const base64url = (bytes: Buffer) => bytes.toString('base64url');

/** Starts `wrangler dev` in its own process group (so the whole group, workerd included, can be stopped). */
function startWranglerDev(port: number, inspectorPort: number): ChildProcess {
  persistDir = mkdtempSync(join(tmpdir(), 'mcp-auth-edge-browser-'));
  const child = spawn(
    'npx',
    [
      'wrangler',
      'dev',
      '--ip',
      '127.0.0.1',
      '--port',
      String(port),
      '--inspector-port',
      String(inspectorPort),
      '--var',
      `ISSUER:${issuer}`,
      '--var',
      `RESOURCE:${issuer}/mcp`,
      '--var',
      'RATE_LIMITS:off',
      '--persist-to',
      persistDir,
      '--show-interactive-dev-session=false',
    ],
    {
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false', NO_COLOR: '1' },
    },
  );
  const keep = (chunk: Buffer) => {
    wranglerOutput = (wranglerOutput + chunk.toString()).slice(-8000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  return child;
}

/** Resolves once the server answers its metadata document; rejects if wrangler exits or 60 s pass. */
async function waitUntilReady(child: ChildProcess, timeoutMs = 60_000): Promise<void> {
  let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  child.once('exit', (code, signal) => (exited = { code, signal }));
  const deadline = Date.now() + timeoutMs;
  const metadataUrl = `${issuer}/.well-known/oauth-authorization-server`;
  for (;;) {
    if (exited) throw new Error(`wrangler dev exited (code ${exited.code}, signal ${exited.signal}) before it was ready:\n${wranglerOutput}`);
    try {
      const res = await fetch(metadataUrl, { signal: AbortSignal.timeout(2_000) });
      if (res.ok && ((await res.json()) as { issuer?: string }).issuer === issuer) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`wrangler dev did not answer ${metadataUrl} within ${timeoutMs / 1000} s:\n${wranglerOutput}`);
    // Wait for wrangler to say something or for a short poll interval, whichever comes first.
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        child.stdout?.off('data', done);
        child.off('exit', done);
        resolve();
      };
      const timer = setTimeout(done, 250);
      child.stdout?.once('data', done);
      child.once('exit', done);
    });
  }
}

/** SIGTERM to the process group (npx, wrangler, workerd); SIGKILL if it has not exited in 10 s. */
async function stopWrangler(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const signalGroup = (signal: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, signal);
    } catch {
      // the group is already gone
    }
  };
  signalGroup('SIGTERM');
  const timer = setTimeout(() => signalGroup('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

/** The client's redirect URI: a real page for the browser to land on. */
function startCallbackServer(port: number): Promise<Server> {
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', `http://127.0.0.1:${port}`);
    if (url.pathname === '/callback') {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
      res.end(
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Callback</title><link rel="icon" href="data:,"></head><body><h1>Callback received</h1></body></html>',
      );
    } else if (url.pathname === '/framer') {
      // A third-party page trying to embed the consent page (clickjacking).
      const src = url.searchParams.get('src') ?? '';
      const escaped = src.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
      res.end(
        `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Framer</title><link rel="icon" href="data:,"></head><body><iframe id="victim" src="${escaped}" width="600" height="600"></iframe></body></html>`,
      );
    } else {
      res.writeHead(404, { 'Content-Type': 'text/plain' });
      res.end('not found');
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

async function registerPublicClient(): Promise<string> {
  const res = await fetch(`${issuer}/register`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({
      client_name: CLIENT_NAME,
      redirect_uris: [redirectUri],
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code'],
      response_types: ['code'],
    }),
  });
  const body = (await res.json()) as { client_id?: string };
  expect(res.status, JSON.stringify(body)).toBe(201);
  expect(body.client_id).toBeTruthy();
  return body.client_id!;
}

function newAuthorizationRequest() {
  const verifier = base64url(randomBytes(32));
  const state = base64url(randomBytes(16));
  const url = new URL(`${issuer}/authorize`);
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: clientId,
    redirect_uri: redirectUri,
    code_challenge: base64url(createHash('sha256').update(verifier).digest()),
    code_challenge_method: 'S256',
    state,
    resource: `${issuer}/mcp`,
    scope: SCOPES.join(' '),
  }).toString();
  return { url: url.href, verifier, state };
}

/** A fresh browser profile (no cookies) with every console error and page error collected. */
async function openPage(colorScheme: 'light' | 'dark'): Promise<{ context: BrowserContext; page: Page; errors: string[] }> {
  const context = await browser!.newContext({ viewport: VIEWPORT, colorScheme });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error') errors.push(`console: ${msg.text()} (${msg.location().url || page.url()})`);
  });
  page.on('pageerror', (err) => errors.push(`pageerror: ${err.message}`));
  return { context, page, errors };
}

const isCallback = (url: URL) => url.origin === callbackOrigin && url.pathname === '/callback';

beforeAll(async () => {
  const [port, inspectorPort, callbackPort] = await Promise.all([freePort(), freePort(), freePort()]);
  issuer = `http://127.0.0.1:${port}`;
  callbackOrigin = `http://127.0.0.1:${callbackPort}`;
  redirectUri = `${callbackOrigin}/callback`;
  callbackServer = await startCallbackServer(callbackPort);
  wrangler = startWranglerDev(port, inspectorPort);
  await waitUntilReady(wrangler);
  clientId = await registerPublicClient();
  browser = await launchChromium();
}, 90_000);

afterAll(async () => {
  await browser?.close();
  if (wrangler) await stopWrangler(wrangler);
  await new Promise<void>((resolve) => (callbackServer ? callbackServer.close(() => resolve()) : resolve()));
  if (persistDir) rmSync(persistDir, { recursive: true, force: true });
}, 30_000);

describe('consent page in a real browser (Chromium) against wrangler dev', () => {
  it('AS-9: a person approves in a real browser and lands on the redirect with code, state and iss', async () => {
    const { context, page, errors } = await openPage('light');
    try {
      const request = newAuthorizationRequest();
      const response = await page.goto(request.url);
      expect(response?.status()).toBe(200);

      // What the person is told before deciding.
      await expect(page.getByRole('heading', { level: 1 }).textContent()).resolves.toContain(`${CLIENT_NAME} wants to access your account`);
      expect(await page.getByRole('heading', { level: 1 }).isVisible()).toBe(true);
      const redirectHost = new URL(redirectUri).host;
      expect(await page.locator('.host', { hasText: redirectHost }).first().isVisible()).toBe(true);
      const warning = page.getByRole('note');
      expect(await warning.isVisible()).toBe(true);
      expect(await warning.textContent()).toContain('Local application.');
      expect(await warning.textContent()).toContain(redirectHost);
      for (const scope of SCOPES) expect(await page.getByRole('listitem').filter({ hasText: scope }).isVisible()).toBe(true);
      // RFC 8707: the resource being granted is named.
      expect(await page.locator('.resource', { hasText: `${issuer}/mcp` }).isVisible()).toBe(true);
      expect(await page.getByRole('button', { name: 'Deny' }).isVisible()).toBe(true);
      // The stylesheet applied (a nonce mismatch would leave the page unstyled).
      expect(await page.evaluate(() => getComputedStyle(document.body).backgroundColor)).toBe('rgb(244, 245, 247)');

      await page.screenshot({ path: SCREENSHOT_LIGHT });

      await page.getByLabel('Your name').fill('Ada Lovelace');
      await page.getByRole('button', { name: 'Approve' }).click();
      await page.waitForURL(isCallback);
      expect(await page.getByRole('heading', { name: 'Callback received' }).isVisible()).toBe(true);

      const landed = new URL(page.url());
      const code = landed.searchParams.get('code');
      expect(code).toBeTruthy();
      expect(landed.searchParams.get('state')).toBe(request.state);
      expect(landed.searchParams.get('iss')).toBe(issuer);
      expect(landed.searchParams.get('error')).toBeNull();

      // The code is real: it redeems at the token endpoint with the verifier.
      const tokenRes = await fetch(`${issuer}/token`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'authorization_code',
          code: code!,
          redirect_uri: redirectUri,
          client_id: clientId,
          code_verifier: request.verifier,
          resource: `${issuer}/mcp`,
        }),
      });
      const tokens = (await tokenRes.json()) as { access_token?: string; scope?: string };
      expect(tokenRes.status, JSON.stringify(tokens)).toBe(200);
      expect(tokens.access_token).toBeTruthy();
      const claims = JSON.parse(Buffer.from(tokens.access_token!.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
      expect(claims).toMatchObject({ iss: issuer, sub: 'Ada Lovelace', aud: `${issuer}/mcp`, client_id: clientId });

      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it('AS-9: a person denies in a real browser (dark mode) and lands on the redirect with error=access_denied, state and iss', async () => {
    const { context, page, errors } = await openPage('dark');
    try {
      const request = newAuthorizationRequest();
      const response = await page.goto(request.url);
      expect(response?.status()).toBe(200);
      expect(await page.getByRole('heading', { level: 1 }).isVisible()).toBe(true);
      // The dark palette applied (prefers-color-scheme: dark).
      expect(await page.evaluate(() => getComputedStyle(document.body).backgroundColor)).toBe('rgb(18, 21, 27)');

      await page.screenshot({ path: SCREENSHOT_DARK });

      // Denying needs no name: the name field's `required` must not stop the Deny button
      // (fail here, with the reason, rather than time out waiting for a navigation that never comes).
      const deny = page.getByRole('button', { name: 'Deny' });
      const blockedBy = await deny.evaluate((button) => {
        const b = button as HTMLButtonElement;
        if (b.formNoValidate || !b.form || b.form.checkValidity()) return null;
        return [...b.form.elements]
          .filter((el) => !(el as HTMLInputElement).checkValidity?.())
          .map((el) => `#${el.id}: ${(el as HTMLInputElement).validationMessage}`)
          .join('; ');
      });
      expect(blockedBy, 'form validation blocks Deny without a name (give the Deny button formnovalidate)').toBeNull();
      await deny.click();
      await page.waitForURL(isCallback);

      const landed = new URL(page.url());
      expect(landed.searchParams.get('error')).toBe('access_denied');
      expect(landed.searchParams.get('state')).toBe(request.state);
      expect(landed.searchParams.get('iss')).toBe(issuer);
      expect(landed.searchParams.get('code')).toBeNull();
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it('AS-9 (RFC 9700 §4.16): the consent page refuses to be framed (X-Frame-Options DENY, CSP frame-ancestors none)', async () => {
    const { context, page, errors } = await openPage('light');
    try {
      const request = newAuthorizationRequest();
      const response = await page.goto(request.url);
      expect(response?.status()).toBe(200);
      const headers = response!.headers();
      expect(headers['x-frame-options']).toBe('DENY');
      expect(headers['content-security-policy']).toContain("frame-ancestors 'none'");
      expect(errors).toEqual([]);

      // A third-party page that embeds it gets no consent form in the frame.
      const framer = await context.newPage();
      const framerErrors: string[] = [];
      framer.on('console', (msg) => {
        if (msg.type() === 'error') framerErrors.push(msg.text());
      });
      const blocked = framer.waitForEvent('console', { predicate: (msg) => msg.type() === 'error' && msg.text().includes('frame-ancestors') });
      await framer.goto(`${callbackOrigin}/framer?src=${encodeURIComponent(newAuthorizationRequest().url)}`);
      await blocked;
      const frame = await (await framer.locator('#victim').elementHandle())!.contentFrame();
      expect(await frame?.locator('form').count()).toBe(0);
      expect(framerErrors.join('\n')).toContain("frame-ancestors 'none'");
    } finally {
      await context.close();
    }
  });
});

import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from './chromium';
import { freePort, startFakeGrantex, startWorker, type RunningGrantex, type RunningWorker } from './worker-server';

/** Our worker in Grantex mode against its own fake Grantex, and a client registered there. */
interface Deployment {
  grantexService: RunningGrantex;
  worker: RunningWorker;
  clientId: string;
}

let sameOrigin: Deployment;
let splitOrigin: Deployment;
let browser: Browser;
let callbackServer: Server;
let redirectUri: string;

async function deploy(grantexService: RunningGrantex, vars: Record<string, string> = {}): Promise<Deployment> {
  const worker = await startWorker({ ...grantexService.vars, ...vars });
  const registered = await fetch(`${worker.url}/register`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ client_name: 'Browser Grantex Client', redirect_uris: [redirectUri], token_endpoint_auth_method: 'none' }),
  });
  return { grantexService, worker, clientId: ((await registered.json()) as { client_id: string }).client_id };
}

beforeAll(async () => {
  const port = await freePort();
  redirectUri = `http://127.0.0.1:${port}/callback`;
  callbackServer = createServer((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
    res.end(
      '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Callback</title><link rel="icon" href="data:,"></head><body><h1>Callback received</h1></body></html>',
    );
  });
  await new Promise<void>((resolve) => callbackServer.listen(port, '127.0.0.1', resolve));
  sameOrigin = await deploy(await startFakeGrantex());
  // The production layout: consent pages on another origin than the API (the same fake server,
  // reached as localhost). Configured as a user would: the API's baseUrl, and the consent origin
  // in GRANTEX_CONSENT_ORIGINS (a loopback API host has no api.<domain> default).
  const split = await startFakeGrantex({ consentHost: 'localhost' });
  splitOrigin = await deploy(split, { GRANTEX_CONSENT_ORIGINS: split.consentOrigin });
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await new Promise<void>((resolve) => (callbackServer ? callbackServer.close(() => resolve()) : resolve()));
  for (const deployment of [sameOrigin, splitOrigin]) {
    await deployment?.worker.dispose();
    await deployment?.grantexService.dispose();
  }
});

/** Sign in on our page, consent on Grantex's page, land on the client; then redeem the code. */
async function signInThroughGrantex({ grantexService, worker, clientId }: Deployment): Promise<void> {
  const context = await browser.newContext();
  const page = await context.newPage();
  const violations: string[] = [];
  // Every console error counts (a CSP violation is one), except the fake's missing favicon.
  page.on('console', (message) => {
    if (message.type() === 'error' && !message.location().url.endsWith('/favicon.ico')) violations.push(`${message.text()} ${message.location().url}`);
  });
  const verifier = randomBytes(32).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  const url = new URL(`${worker.url}/authorize`);
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: clientId,
    redirect_uri: redirectUri,
    code_challenge: challenge,
    code_challenge_method: 'S256',
    state: 'st-1',
    resource: `${worker.url}/mcp`,
  }).toString();
  try {
    await page.goto(url.href);
    await page.getByLabel('Your name').fill('Grace Hopper');
    await page.getByRole('button', { name: 'Approve' }).click();
    // Grantex's own consent page, on its consent origin.
    await page.waitForURL((u) => u.origin === grantexService.consentOrigin && u.pathname === '/consent');
    expect(await page.locator('#principal').textContent()).toBe('Grace Hopper');
    await page.locator('#approve').click();
    await page.waitForURL((u) => u.href.startsWith(redirectUri));
    const landed = new URL(page.url());
    expect(landed.searchParams.get('state')).toBe('st-1');
    expect(landed.searchParams.get('iss')).toBe(worker.url);
    const code = landed.searchParams.get('code')!;
    expect(code).toBeTruthy();
    expect(violations).toEqual([]);

    const token = await fetch(`${worker.url}/token`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'authorization_code', code, code_verifier: verifier, client_id: clientId, redirect_uri: redirectUri }),
    });
    expect(token.status).toBe(200);
  } finally {
    await context.close();
  }
}

describe('Grantex mode in a real browser (Chromium)', () => {
  it('AS-9 / Grantex: sign in on our page, consent on Grantex, land on the client with code, state and iss (CSP allows each redirect)', async () => {
    expect(sameOrigin.grantexService.consentOrigin).toBe(sameOrigin.grantexService.url);
    await signInThroughGrantex(sameOrigin);
  });

  it('Grantex consent on another origin than its API (GRANTEX_CONSENT_ORIGINS): the form POST redirects there and Chromium completes the flow with no CSP violation', async () => {
    expect(splitOrigin.grantexService.consentOrigin).not.toBe(splitOrigin.grantexService.url);
    await signInThroughGrantex(splitOrigin);
  });
});

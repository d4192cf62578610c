#!/usr/bin/env node
// Runs the whole OAuth flow once against an issuer and prints each step: discovery, dynamic
// client registration, authorization (the development sign-in when the consent page offers it,
// otherwise a URL to open in a browser), token, introspection, refresh and revocation.
import { createServer } from 'node:http';
import { webcrypto as crypto } from 'node:crypto';
import { commandLine, webUrl } from './lib/command-line.mjs';

const USAGE = `usage: node scripts/smoke.mjs --issuer URL [options]

Runs metadata → register → authorize → token → introspect → refresh → revoke once and prints
each step. Exit status 0 when every step passed, 1 when one failed, 2 for a wrong command line.

  --issuer URL     the server's ISSUER, e.g. http://localhost:8787 or https://auth.example.com
  --resource URL   the protected resource to ask a token for (default: ISSUER/mcp, as RESOURCE)
  --scope SCOPES   the scopes to ask for (default: every scope the metadata lists when it lists
                   offline_access, so a refresh token is issued; otherwise the server's defaults)
  --user NAME      the name typed into the development sign-in (default smoke-test)
  --wait SECONDS   how long to wait for the browser when the sign-in is not the development one (default 300)
  --help           this text

The server must offer dynamic client registration (REGISTRATION not "off"); the client it
registers redirects to a listener this script opens on 127.0.0.1.`;

const { values, usageError } = commandLine('smoke', USAGE, {
  issuer: { type: 'string' },
  resource: { type: 'string' },
  scope: { type: 'string' },
  user: { type: 'string', default: 'smoke-test' },
  wait: { type: 'string', default: '300' },
});
if (!values.issuer) usageError("--issuer is required (the server's ISSUER)");
const issuerUrl = webUrl('--issuer', values.issuer, usageError);
if (values.issuer.endsWith('/') || issuerUrl.search) usageError(`--issuer "${values.issuer}" must be the exact ISSUER: no trailing slash, no query`);
const issuer = values.issuer;
const resource = values.resource ?? `${issuer}/mcp`;
webUrl('--resource', resource, usageError);
const waitSeconds = Number(values.wait);
if (!Number.isInteger(waitSeconds) || waitSeconds < 1 || waitSeconds > 3600) usageError('--wait must be a whole number of seconds from 1 to 3600');
if (!/^[\p{L}\p{N} ._@'-]{1,64}$/u.test(values.user)) usageError("--user must be 1 to 64 letters, digits, spaces or . _ @ ' -");

// ---- output ----------------------------------------------------------------------------

class StepFailed extends Error {}
let current = '';
function step(name) {
  current = name;
}
function pass(detail) {
  console.log(`✓ ${current.padEnd(11)} ${detail}`);
}
function check(condition, detail) {
  if (!condition) throw new StepFailed(detail);
}

// ---- HTTP helpers ----------------------------------------------------------------------

const random = (bytes) => Buffer.from(crypto.getRandomValues(new Uint8Array(bytes))).toString('base64url');
const s256 = async (verifier) => Buffer.from(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier))).toString('base64url');

async function request(url, init = {}) {
  try {
    return await fetch(url, { redirect: 'manual', ...init });
  } catch (err) {
    throw new StepFailed(`${url} could not be reached: ${err.cause?.message ?? err.message}`);
  }
}

async function json(res, what) {
  const text = await res.text();
  try {
    return JSON.parse(text);
  } catch {
    throw new StepFailed(`${what} answered ${res.status} with no JSON: ${text.slice(0, 200)}`);
  }
}

function describeError(body) {
  return body && typeof body === 'object' && body.error
    ? `${body.error}${body.error_description ? `: ${body.error_description}` : ''}`
    : JSON.stringify(body).slice(0, 200);
}

function form(url, params, auth) {
  return request(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...(auth ? { Authorization: auth } : {}) },
    body: new URLSearchParams(params),
  });
}

const decodeHtml = (text) =>
  text
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');

/** The loopback listener the registered client redirects to; resolves with the first callback's query. */
function startCallbackListener() {
  let deliver;
  const received = new Promise((resolve) => (deliver = resolve));
  const server = createServer((req, res) => {
    const url = new URL(req.url, 'http://127.0.0.1');
    if (url.pathname !== '/callback') {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' }).end('The smoke test received the authorization response; you can close this tab.');
    deliver(url);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve({ redirectUri: `http://127.0.0.1:${server.address().port}/callback`, received, close: () => server.close() }));
  });
}

// ---- the flow ----------------------------------------------------------------------------

async function run(listener) {
  step('metadata');
  const metadataUrl = `${issuerUrl.origin}/.well-known/oauth-authorization-server${issuerUrl.pathname === '/' ? '' : issuerUrl.pathname}`;
  const metadataRes = await request(metadataUrl);
  // RFC 9110 section 15.5.20: the server answers only at its own ISSUER's origin.
  check(metadataRes.status !== 421, `${metadataUrl} answered 421: the server's ISSUER is another origin than ${issuerUrl.origin}; check ISSUER and --issuer`);
  if (metadataRes.status !== 200) throw new StepFailed(`${metadataUrl} answered ${metadataRes.status}: ${(await metadataRes.text()).slice(0, 200)}`);
  const metadata = await json(metadataRes, metadataUrl);
  check(metadata.issuer === issuer, `the metadata names issuer "${metadata.issuer}", not "${issuer}" (RFC 8414 section 3.3): check ISSUER`);
  check(metadata.code_challenge_methods_supported?.includes('S256'), 'the metadata does not offer PKCE S256');
  const jwksRes = await request(metadata.jwks_uri);
  const jwks = await json(jwksRes, metadata.jwks_uri);
  check(jwksRes.status === 200 && Array.isArray(jwks.keys), `${metadata.jwks_uri} answered ${jwksRes.status}: ${describeError(jwks)}`);
  pass(`${metadataUrl} (issuer matches; ${jwks.keys.length} key(s) in the JWKS)`);

  step('register');
  check(metadata.registration_endpoint, 'the server offers no registration_endpoint: set REGISTRATION to anything but "off" to run the smoke test');
  const scope = values.scope ?? (metadata.scopes_supported?.includes('offline_access') ? [...(metadata.scopes_supported ?? [])].join(' ') : undefined);
  const registerRes = await request(metadata.registration_endpoint, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({
      client_name: 'mcp-auth-edge smoke test',
      redirect_uris: [listener.redirectUri],
      grant_types: ['authorization_code', 'refresh_token'],
      token_endpoint_auth_method: 'client_secret_basic',
    }),
  });
  const client = await json(registerRes, metadata.registration_endpoint);
  check(registerRes.status === 201 && client.client_id && client.client_secret, `registration answered ${registerRes.status}: ${describeError(client)}`);
  const clientAuth = `Basic ${Buffer.from(`${encodeURIComponent(client.client_id)}:${encodeURIComponent(client.client_secret)}`).toString('base64')}`;
  pass(`client ${client.client_id} (client_secret_basic, redirect ${listener.redirectUri})`);

  step('authorize');
  const verifier = random(32);
  const state = random(16);
  const authorizeUrl = new URL(metadata.authorization_endpoint);
  for (const [k, v] of Object.entries({
    response_type: 'code',
    client_id: client.client_id,
    redirect_uri: listener.redirectUri,
    code_challenge: await s256(verifier),
    code_challenge_method: 'S256',
    state,
    resource,
    ...(scope ? { scope } : {}),
  }))
    authorizeUrl.searchParams.set(k, v);
  const callback = await authorize(authorizeUrl, listener);
  check(
    !callback.searchParams.get('error'),
    `the authorization was refused: ${callback.searchParams.get('error')} ${callback.searchParams.get('error_description') ?? ''}`,
  );
  check(callback.searchParams.get('state') === state, 'the authorization response does not carry our state');
  check(callback.searchParams.get('iss') === issuer, `the authorization response's iss is "${callback.searchParams.get('iss')}", not the issuer (RFC 9207)`);
  const code = callback.searchParams.get('code');
  check(code, 'the authorization response has no code');
  pass(`code received at the redirect URI (state and iss match)`);

  step('token');
  const tokenRes = await form(
    metadata.token_endpoint,
    { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: listener.redirectUri, resource },
    clientAuth,
  );
  const tokens = await json(tokenRes, metadata.token_endpoint);
  check(tokenRes.status === 200 && tokens.access_token, `the token endpoint answered ${tokenRes.status}: ${describeError(tokens)}`);
  check(tokenRes.headers.get('cache-control')?.includes('no-store'), 'the token response is not Cache-Control: no-store');
  pass(`access token (${tokens.token_type}, expires in ${tokens.expires_in} s, scope "${tokens.scope}")${tokens.refresh_token ? ' and a refresh token' : ''}`);

  step('introspect');
  check(metadata.introspection_endpoint, 'the metadata names no introspection_endpoint');
  const introspection = await json(await form(metadata.introspection_endpoint, { token: tokens.access_token }, clientAuth), metadata.introspection_endpoint);
  check(introspection.active === true, `the new access token introspects as ${describeError(introspection)}`);
  check(introspection.client_id === client.client_id, `introspection names client "${introspection.client_id}"`);
  pass(`active, sub "${introspection.sub}", aud ${JSON.stringify(introspection.aud)}`);

  let latest = tokens;
  step('refresh');
  if (tokens.refresh_token) {
    const refreshRes = await form(metadata.token_endpoint, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token }, clientAuth);
    const refreshed = await json(refreshRes, metadata.token_endpoint);
    check(refreshRes.status === 200 && refreshed.access_token, `the refresh answered ${refreshRes.status}: ${describeError(refreshed)}`);
    check(refreshed.refresh_token && refreshed.refresh_token !== tokens.refresh_token, 'the refresh token was not rotated (OAuth 2.1 section 4.3.1)');
    latest = refreshed;
    pass('new access token; the refresh token was rotated');
  } else pass('skipped: no refresh token was issued (REFRESH_TOKENS=offline_access without offline_access?)');

  step('revoke');
  check(metadata.revocation_endpoint, 'the metadata names no revocation_endpoint');
  const revoked = latest.refresh_token ?? latest.access_token;
  const revokeRes = await form(metadata.revocation_endpoint, { token: revoked }, clientAuth);
  if (revokeRes.status !== 200) throw new StepFailed(`the revocation answered ${revokeRes.status}: ${(await revokeRes.text()).slice(0, 200)}`);
  const after = await json(await form(metadata.introspection_endpoint, { token: latest.access_token }, clientAuth), metadata.introspection_endpoint);
  check(after.active === false, 'the access token is still active after its grant was revoked');
  pass(`${latest.refresh_token ? 'refresh token' : 'access token'} revoked; the access token now introspects inactive`);
}

/** Drives the consent page's development sign-in when it has one; otherwise waits for a browser. */
async function authorize(authorizeUrl, listener) {
  const page = await request(authorizeUrl);
  const fromRedirect = (res) => {
    const location = res.headers.get('location');
    if (!location) throw new StepFailed(`${res.url || authorizeUrl} answered ${res.status} without a Location`);
    return new URL(location, authorizeUrl);
  };
  let next;
  if (page.status === 200) {
    const html = await page.text();
    const requestValue = /name="request" value="([^"]+)"/.exec(html)?.[1];
    const cookie = page.headers
      .getSetCookie()
      .map((c) => c.split(';')[0])
      .join('; ');
    if (requestValue && /name="username"/.test(html)) {
      const consent = await request(authorizeUrl.origin + authorizeUrl.pathname, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded', Cookie: cookie, Origin: issuerUrl.origin },
        body: new URLSearchParams({ request: decodeHtml(requestValue), action: 'approve', username: values.user }),
      });
      if (consent.status !== 303) throw new StepFailed(`the consent form answered ${consent.status}: ${(await consent.text()).slice(0, 300)}`);
      console.log(`  (signed in as "${values.user}" with the development sign-in)`);
      next = fromRedirect(consent);
    } else next = undefined; // a real sign-in: the person does it in a browser
  } else if (page.status === 302 || page.status === 303) next = fromRedirect(page);
  else throw new StepFailed(`GET ${authorizeUrl.pathname} answered ${page.status}: ${(await page.text()).slice(0, 300)}`);

  if (next && next.href.startsWith(listener.redirectUri)) return next;
  // Anything else (a sign-in page, Grantex's consent page) needs the person and their browser's
  // cookies from the start, so the browser opens the authorization request itself.
  console.log(`  Open this URL in a browser, sign in and approve (waiting ${waitSeconds} s):\n  ${authorizeUrl.href}`);
  let timer;
  const timeout = new Promise(
    (_, reject) => (timer = setTimeout(() => reject(new StepFailed(`no authorization response within ${waitSeconds} s`)), waitSeconds * 1000)),
  );
  try {
    return await Promise.race([listener.received, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

const listener = await startCallbackListener();
console.log(`smoke test of ${issuer}`);
try {
  await run(listener);
  console.log('all steps passed');
  process.exitCode = 0;
} catch (err) {
  console.log(`✗ ${current.padEnd(11)} ${err instanceof StepFailed ? err.message : err.stack}`);
  process.exitCode = 1;
} finally {
  listener.close();
}

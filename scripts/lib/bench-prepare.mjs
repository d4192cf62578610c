// Prepares what the scenarios consume: a public client per system, authorization codes driven
// through each system's own /authorize flow, and one access token for the protected route.
import { createHash, randomBytes } from 'node:crypto';
import { approveHeadlessly } from './headless-consent.mjs';

export const REDIRECT_URI = 'http://127.0.0.1:9999/callback';
export const SCOPE = 'mcp:tools:read mcp:tools:write';

const b64url = (bytes) => Buffer.from(bytes).toString('base64url');
export const PKCE_VERIFIER = b64url(randomBytes(48));
const PKCE_CHALLENGE = b64url(createHash('sha256').update(PKCE_VERIFIER).digest());

export const registrationBody = JSON.stringify({
  client_name: 'bench',
  redirect_uris: [REDIRECT_URI],
  token_endpoint_auth_method: 'none',
  grant_types: ['authorization_code', 'refresh_token'],
  response_types: ['code'],
});

export async function registerClient(base, path = '/register') {
  const res = await fetch(`${base}${path}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: registrationBody });
  const body = await res.json();
  if (res.status !== 201 || !body.client_id) throw new Error(`registration at ${base}${path} answered ${res.status}: ${JSON.stringify(body)}`);
  return body.client_id;
}

/**
 * @param {{ kind: 'ours' | 'theirs', base: string, issuerPath?: string, clientId: string, resource: string }} system
 */
function authorizationUrl(system) {
  const url = new URL(`${system.base}${system.issuerPath ?? ''}/authorize`);
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: system.clientId,
    redirect_uri: REDIRECT_URI,
    code_challenge: PKCE_CHALLENGE,
    code_challenge_method: 'S256',
    state: 'bench',
    scope: SCOPE,
    resource: system.resource,
  }).toString();
  return url.href;
}

/** One code, through the system's own authorization flow (ours: consent page + POST; theirs: auto-approve). */
async function oneCode(system) {
  let location;
  if (system.kind === 'ours') location = await approveHeadlessly(authorizationUrl(system));
  else {
    const res = await fetch(authorizationUrl(system), { redirect: 'manual' });
    if (res.status !== 302) throw new Error(`their /authorize answered ${res.status}: ${(await res.text()).slice(0, 200)}`);
    location = new URL(res.headers.get('location'));
  }
  const code = location.searchParams.get('code');
  if (!code) throw new Error(`no code in ${location}`);
  return code;
}

/** `count` codes, `concurrency` flows at a time. */
export async function prepareCodes(system, count, concurrency = 16) {
  const codes = [];
  let started = 0;
  const worker = async () => {
    while (started < count) {
      started++;
      codes.push(await oneCode(system));
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return codes;
}

export function tokenBody(system, code) {
  return new URLSearchParams({
    grant_type: 'authorization_code',
    code,
    code_verifier: PKCE_VERIFIER,
    client_id: system.clientId,
    redirect_uri: REDIRECT_URI,
    resource: system.resource,
  }).toString();
}

export function refreshBody(system, refreshToken) {
  return new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken, client_id: system.clientId }).toString();
}

export async function exchange(system, code) {
  const res = await fetch(`${system.base}${system.issuerPath ?? ''}/token`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: tokenBody(system, code),
  });
  const body = await res.json();
  if (res.status !== 200 || !body.access_token) throw new Error(`token exchange answered ${res.status}: ${JSON.stringify(body)}`);
  return body;
}

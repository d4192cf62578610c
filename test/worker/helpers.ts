import { exports } from 'cloudflare:workers';
import { createMcpAuth, type McpAuth } from '../../src/create-mcp-auth';
import type { McpAuthOptions } from '../../src/options';
import { base64url } from 'jose';

export const ISSUER = 'http://localhost:8787';
export const RESOURCE = 'http://localhost:8787/mcp';
export const REDIRECT = 'http://127.0.0.1:9999/callback';

/**
 * The authorization server of the worker under test (its issuer, resource and scopes), rate limits
 * and logs off, for a test host that mounts it or protects routes with it: tokens the worker issues
 * verify here, as they share its bindings.
 */
export function workerAuth(extra: Partial<McpAuthOptions> = {}): McpAuth {
  return createMcpAuth({
    issuer: ISSUER,
    resources: [RESOURCE],
    scopes: ['mcp:tools:read', 'mcp:tools:write', 'offline_access'],
    rateLimits: { enabled: false },
    log: false,
    ...extra,
  });
}

/** The URL a stubbed `fetch` was called with, whatever form it came in. */
export function urlOf(input: RequestInfo | URL): string {
  return input instanceof Request ? input.url : input.toString();
}

let addressCounter = 0;
/** A fresh client address per call keeps rate limits out of tests that are not about them. */
export function freshAddress(): string {
  addressCounter += 1;
  return `198.51.100.${addressCounter % 250}.${Math.floor(addressCounter / 250)}`;
}

/**
 * One request to the worker under test (the real default export, in workerd), as Cloudflare's
 * edge delivers it: with `request.cf` and the client address in `CF-Connecting-IP`.
 */
export function call(path: string, init: RequestInit & { address?: string } = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (!headers.has('CF-Connecting-IP')) headers.set('CF-Connecting-IP', init.address ?? freshAddress());
  return exports.default.fetch(new Request(new URL(path, ISSUER), { cf: { colo: 'TEST' }, ...init, headers, redirect: 'manual' } as RequestInit));
}

export function form(values: Record<string, string | undefined>): URLSearchParams {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(values)) if (v !== undefined) params.set(k, v);
  return params;
}

export function postForm(path: string, values: Record<string, string | undefined>, headers: Record<string, string> = {}): Promise<Response> {
  return call(path, { method: 'POST', body: form(values), headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...headers } });
}

export function basic(clientId: string, secret: string): string {
  return `Basic ${btoa(`${encodeURIComponent(clientId)}:${encodeURIComponent(secret)}`)}`;
}

export interface RegisteredClient {
  client_id: string;
  client_secret?: string;
  redirect_uris: string[];
  token_endpoint_auth_method: string;
  [key: string]: unknown;
}

export async function registerClient(metadata: Record<string, unknown> = {}): Promise<RegisteredClient> {
  const res = await call('/register', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({
      redirect_uris: [REDIRECT],
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code', 'refresh_token'],
      client_name: 'Test Client',
      ...metadata,
    }),
  });
  if (res.status !== 201) throw new Error(`registration failed: ${res.status} ${await res.text()}`);
  return res.json();
}

export async function pkce(): Promise<{ verifier: string; challenge: string }> {
  const verifier = base64url.encode(crypto.getRandomValues(new Uint8Array(32)));
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier));
  return { verifier, challenge: base64url.encode(new Uint8Array(digest)) };
}

export function authorizeUrl(client: RegisteredClient, challenge: string, extra: Record<string, string | undefined> = {}): string {
  const params = form({
    response_type: 'code',
    client_id: client.client_id,
    redirect_uri: client.redirect_uris[0],
    code_challenge: challenge,
    code_challenge_method: 'S256',
    state: 'state-123',
    resource: RESOURCE,
    ...extra,
  });
  return `/authorize?${params}`;
}

/** Reads the consent form's hidden request and the CSRF cookie from a GET /authorize response. */
export async function consentForm(res: Response): Promise<{ request: string; cookie: string }> {
  const html = await res.text();
  const request = /name="request" value="([^"]+)"/.exec(html)?.[1];
  const cookie = res.headers.get('Set-Cookie')?.split(';')[0];
  if (!request || !cookie) throw new Error(`no consent form: ${res.status} ${html.slice(0, 300)}`);
  return { request, cookie };
}

/** Drives GET /authorize and the consent POST like a browser; returns the redirect Location. */
export async function approve(url: string, options: { action?: 'approve' | 'deny'; username?: string } = {}): Promise<URL> {
  const page = await call(url);
  const { request, cookie } = await consentForm(page);
  const res = await postForm(
    '/authorize',
    { request, action: options.action ?? 'approve', username: options.username ?? 'alice' },
    { Cookie: cookie, Origin: ISSUER },
  );
  if (res.status !== 303) throw new Error(`consent POST answered ${res.status}: ${await res.text()}`);
  return new URL(res.headers.get('Location')!);
}

export interface Flow {
  client: RegisteredClient;
  verifier: string;
  code: string;
}

/** Registers a client (unless given) and runs authorize + consent up to the code. */
export async function codeFor(options: { client?: RegisteredClient; scope?: string; username?: string } = {}): Promise<Flow> {
  const client = options.client ?? (await registerClient());
  const { verifier, challenge } = await pkce();
  const location = await approve(authorizeUrl(client, challenge, { scope: options.scope }), { username: options.username });
  const code = location.searchParams.get('code');
  if (!code) throw new Error(`no code in ${location}`);
  return { client, verifier, code };
}

export function clientAuth(client: RegisteredClient): { body: Record<string, string>; headers: Record<string, string> } {
  if (client.token_endpoint_auth_method === 'client_secret_basic')
    return { body: {}, headers: { Authorization: basic(client.client_id, client.client_secret!) } };
  if (client.token_endpoint_auth_method === 'client_secret_post')
    return { body: { client_id: client.client_id, client_secret: client.client_secret! }, headers: {} };
  return { body: { client_id: client.client_id }, headers: {} };
}

export function exchangeCode(flow: Flow, extra: Record<string, string | undefined> = {}): Promise<Response> {
  const auth = clientAuth(flow.client);
  return postForm(
    '/token',
    {
      grant_type: 'authorization_code',
      code: flow.code,
      code_verifier: flow.verifier,
      redirect_uri: flow.client.redirect_uris[0],
      resource: RESOURCE,
      ...auth.body,
      ...extra,
    },
    auth.headers,
  );
}

export function refresh(client: RegisteredClient, refreshToken: string, extra: Record<string, string | undefined> = {}): Promise<Response> {
  const auth = clientAuth(client);
  return postForm('/token', { grant_type: 'refresh_token', refresh_token: refreshToken, ...auth.body, ...extra }, auth.headers);
}

export interface TokenResponse {
  access_token: string;
  token_type: string;
  expires_in: number;
  scope: string;
  refresh_token?: string;
}

export async function tokensFor(options: { client?: RegisteredClient; scope?: string } = {}): Promise<{ flow: Flow; tokens: TokenResponse }> {
  const flow = await codeFor(options);
  const res = await exchangeCode(flow);
  if (res.status !== 200) throw new Error(`token exchange failed: ${res.status} ${await res.text()}`);
  return { flow, tokens: await res.json() };
}

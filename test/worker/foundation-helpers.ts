import { env } from 'cloudflare:workers';
import { expect } from 'vitest';
import type { McpAuthState } from '../../src/storage/state-object';
import { freshAddress, ISSUER } from './helpers';

/** The bindings wrangler.toml declares, typed for the tests (Cloudflare.Env is not generated). */
export interface TestBindings {
  MCP_AUTH_CLIENTS: KVNamespace;
  MCP_AUTH_STATE: DurableObjectNamespace<McpAuthState>;
}
export const bindings = env as unknown as TestBindings;

/** Anything with Hono's `fetch(request, env)` signature: an `McpAuth['app']` or a host app. */
export interface FetchesWithEnv {
  fetch(request: Request, env?: unknown, ctx?: ExecutionContext): Response | Promise<Response>;
}

/**
 * One request to an app built inside the test (not the default worker), with the real KV and
 * Durable Object bindings of the test worker and a fresh client address (rate limits stay out).
 */
export function fetchApp(app: FetchesWithEnv, path: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (!headers.has('CF-Connecting-IP')) headers.set('CF-Connecting-IP', freshAddress());
  return Promise.resolve(app.fetch(new Request(new URL(path, ISSUER), { ...init, headers, redirect: 'manual' }), env));
}

export function postJson(app: FetchesWithEnv, path: string, body: unknown): Promise<Response> {
  return fetchApp(app, path, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
}

export function postFormTo(app: FetchesWithEnv, path: string, values: Record<string, string>, headers: Record<string, string> = {}): Promise<Response> {
  return fetchApp(app, path, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(values),
  });
}

/** JSON paths (like `$.a[0].b`) whose value is `null`; MCP SDK clients reject nulls. */
export function nullPaths(value: unknown, path = '$'): string[] {
  if (value === null) return [path];
  if (Array.isArray(value)) return value.flatMap((item, i) => nullPaths(item, `${path}[${i}]`));
  if (typeof value === 'object') return Object.entries(value as Record<string, unknown>).flatMap(([k, v]) => nullPaths(v, `${path}.${k}`));
  return [];
}

/**
 * Asserts an RFC 6749 §5.2 error response: the status, a JSON body whose `error` is one of
 * `codes`, and `Cache-Control: no-store`. Returns the body for further checks.
 */
export async function expectOAuthError(res: Response, status: number, codes: string | string[]): Promise<{ error: string; error_description?: string }> {
  const text = await res.text();
  expect(res.status, text).toBe(status);
  expect(res.headers.get('Content-Type')).toMatch(/^application\/json/);
  expect(res.headers.get('Cache-Control')).toBe('no-store');
  const body = JSON.parse(text) as { error: string; error_description?: string };
  expect([codes].flat()).toContain(body.error);
  return body;
}

/** A body of `bytes` ASCII characters. */
export function filler(bytes: number, char = 'a'): string {
  return char.repeat(bytes);
}

/** The path part of an endpoint URL of this issuer's origin. */
export function pathOf(url: string): string {
  const u = new URL(url);
  return `${u.pathname}${u.search}`;
}

import { describe, expect, it } from 'vitest';
import { createMcpAuth } from '../../src/create-mcp-auth';
import type { McpAuthOptions } from '../../src/options';
import { HEALTH_CACHE_SECONDS, HEALTH_KV_KEY, healthReport } from '../../src/routes/health';
import { bindings } from './foundation-helpers';
import { call } from './helpers';

const ISSUER = 'http://localhost:8950';

function healthApp(extra: Partial<McpAuthOptions> = {}) {
  return createMcpAuth({ issuer: ISSUER, resources: [`${ISSUER}/mcp`], scopes: ['mcp'], log: false, ...extra }).app;
}

/** A KV namespace that counts reads of the health key and fails when told to. */
function countingKv(fail = false) {
  const reads: string[] = [];
  const kv = {
    get: async (key: string) => {
      reads.push(key);
      if (fail) throw new Error('KV GET failed: 500 Internal Server Error');
      return null;
    },
  };
  return { kv: kv as unknown as KVNamespace, reads };
}

/** A Durable Object namespace whose instances do not answer. */
const brokenNamespace = {
  idFromName: (name: string) => bindings.MCP_AUTH_STATE.idFromName(name),
  get: () => ({ ping: async () => Promise.reject(new Error('Durable Object reset because its code was updated.')) }),
} as unknown as DurableObjectNamespace;

const health = (app: ReturnType<typeof healthApp>, env: Record<string, unknown>, headers: Record<string, string> = {}) =>
  app.fetch(new Request(`${ISSUER}/healthz`, { headers }), env);

describe('GET /healthz', () => {
  it('200 {"status":"ok"} from the stand-alone worker when KV and the Durable Object answer; no-store, nothing else in it', async () => {
    const res = await call('/healthz');
    expect(res.status).toBe(200);
    expect(res.headers.get('Cache-Control')).toBe('no-store');
    expect(res.headers.get('Set-Cookie')).toBeNull();
    expect(await res.json()).toEqual({ status: 'ok', checks: { kv: 'ok', durable_object: 'ok' } });
  });

  it('503 with Retry-After naming KV when a KV read fails (the Durable Object still ok)', async () => {
    const { kv, reads } = countingKv(true);
    const res = await health(healthApp(), { MCP_AUTH_CLIENTS: kv, MCP_AUTH_STATE: bindings.MCP_AUTH_STATE });
    expect(res.status).toBe(503);
    expect(res.headers.get('Retry-After')).toBe('10');
    expect(res.headers.get('Cache-Control')).toBe('no-store');
    expect(await res.json()).toEqual({ status: 'unavailable', checks: { kv: 'failed', durable_object: 'ok' } });
    expect(reads).toEqual([HEALTH_KV_KEY]);
  });

  it('503 naming the Durable Object when it does not answer; the error text is logged, never sent', async () => {
    const { kv } = countingKv();
    const res = await health(healthApp(), { MCP_AUTH_CLIENTS: kv, MCP_AUTH_STATE: brokenNamespace });
    expect(res.status).toBe(503);
    const text = await res.text();
    expect(JSON.parse(text)).toEqual({ status: 'unavailable', checks: { kv: 'ok', durable_object: 'failed' } });
    expect(text).not.toContain('reset');
  });

  it('503 when a binding is missing from the configuration; KV is not checked when clients live in a custom store', async () => {
    expect((await health(healthApp(), { MCP_AUTH_STATE: bindings.MCP_AUTH_STATE })).status).toBe(503);
    const custom = healthApp({ clientStore: { get: async () => undefined, put: async () => {} } });
    const res = await health(custom, { MCP_AUTH_STATE: bindings.MCP_AUTH_STATE });
    expect(await res.json()).toEqual({ status: 'ok', checks: { kv: 'not_used', durable_object: 'ok' } });
  });

  it(`one isolate probes at most once per ${HEALTH_CACHE_SECONDS} s, so a busy monitor costs one KV read per interval`, async () => {
    let now = 1_800_000_000;
    const app = healthApp({ clock: () => now });
    const { kv, reads } = countingKv();
    const env = { MCP_AUTH_CLIENTS: kv, MCP_AUTH_STATE: bindings.MCP_AUTH_STATE };
    for (let i = 0; i < 10; i++) expect((await health(app, env)).status).toBe(200);
    expect(reads).toHaveLength(1);
    now += HEALTH_CACHE_SECONDS;
    await health(app, env);
    expect(reads).toHaveLength(2);
  });

  it('is not counted against a rate limit: the "other" budget is spent, /healthz still answers', async () => {
    const app = healthApp({ rateLimits: { other: { limit: 1, windowSeconds: 60 } }, clientAddress: { header: 'X-Test-Address' } });
    const env = { MCP_AUTH_CLIENTS: bindings.MCP_AUTH_CLIENTS, MCP_AUTH_STATE: bindings.MCP_AUTH_STATE };
    const headers = { 'X-Test-Address': '203.0.113.90' };
    expect((await app.fetch(new Request(`${ISSUER}/.well-known/jwks.json`, { headers }), env)).status).toBe(200);
    expect((await app.fetch(new Request(`${ISSUER}/.well-known/jwks.json`, { headers }), env)).status).toBe(429);
    for (let i = 0; i < 5; i++) expect((await health(app, env, headers)).status).toBe(200);
  });

  it('healthReport: unavailable when any part failed; a part not used is no failure', () => {
    expect(healthReport({ kv: 'ok', durable_object: 'ok' }).status).toBe('ok');
    expect(healthReport({ kv: 'not_used', durable_object: 'ok' }).status).toBe('ok');
    expect(healthReport({ kv: 'failed', durable_object: 'ok' }).status).toBe('unavailable');
    expect(healthReport({ kv: 'ok', durable_object: 'failed' }).status).toBe('unavailable');
  });
});

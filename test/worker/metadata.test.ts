import { runInDurableObject } from 'cloudflare:test';
import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { createMcpAuth } from '../../src/create-mcp-auth';
import { stateObjectName, stateObjectNames } from '../../src/storage/keys';
import { call, ISSUER, postForm, RESOURCE } from './helpers';
import { bindings, fetchApp, nullPaths, pathOf } from './foundation-helpers';

type Metadata = Record<string, unknown> & {
  issuer: string;
  authorization_endpoint: string;
  token_endpoint: string;
  jwks_uri: string;
  registration_endpoint?: string;
  introspection_endpoint: string;
  revocation_endpoint: string;
};
type Jwks = { keys: Record<string, unknown>[] };

const AS_METADATA = '/.well-known/oauth-authorization-server';
const PRIVATE_JWK_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

async function metadata(): Promise<Metadata> {
  const res = await call(AS_METADATA);
  expect(res.status).toBe(200);
  return res.json();
}

/** Calls an endpoint with the method it is served under: GET for authorize and JWKS, POST otherwise. */
function probe(fetcher: (path: string, init?: RequestInit) => Promise<Response>, url: string, method: 'GET' | 'POST'): Promise<Response> {
  return method === 'GET'
    ? fetcher(pathOf(url))
    : fetcher(pathOf(url), { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: '' });
}

const ENDPOINT_METHODS = {
  authorization_endpoint: 'GET',
  token_endpoint: 'POST',
  jwks_uri: 'GET',
  registration_endpoint: 'POST',
  introspection_endpoint: 'POST',
  revocation_endpoint: 'POST',
} as const;

describe('RFC 8414 authorization server metadata (AS-2, AS-3, AS-4, AS-7)', () => {
  it('AS-3 (MCP 2026-07): issuer is byte-identical to the configured issuer, with no trailing slash', async () => {
    const res = await call(AS_METADATA);
    expect(res.headers.get('Content-Type')).toMatch(/^application\/json/);
    const text = await res.text();
    expect(text).toContain(`"issuer":"${ISSUER}"`);
    expect((JSON.parse(text) as Metadata).issuer).toBe('http://localhost:8787');
  });

  it('AS-2 / RFC 8414 §2: every endpoint URL is present, lives under the issuer, and is actually served (never 404 or 5xx)', async () => {
    const doc = await metadata();
    for (const [member, method] of Object.entries(ENDPOINT_METHODS)) {
      const url = doc[member];
      expect(typeof url, member).toBe('string');
      expect((url as string).startsWith(`${ISSUER}/`), member).toBe(true);
      const res = await probe(call, url as string, method);
      expect(res.status, `${member} ${method} ${String(url)}`).not.toBe(404);
      expect(res.status, `${member} ${method} ${String(url)}`).toBeLessThan(500);
    }
  });

  it('AS-4 (MCP 2025-11): code_challenge_methods_supported contains S256 and only S256 (no plain)', async () => {
    expect((await metadata()).code_challenge_methods_supported).toEqual(['S256']);
  });

  it('AS-4: response_types_supported is ["code"] and grant_types_supported is published explicitly', async () => {
    const doc = await metadata();
    expect(doc.response_types_supported).toEqual(['code']);
    expect(doc.grant_types_supported).toEqual(['authorization_code', 'refresh_token']);
  });

  it('AS-4: token_endpoint_auth_methods_supported is published and includes none (public clients)', async () => {
    const methods = (await metadata()).token_endpoint_auth_methods_supported as string[];
    expect(methods).toContain('none');
    expect(methods).toEqual(expect.arrayContaining(['client_secret_basic', 'client_secret_post']));
  });

  it('AS-7 (RFC 9207): authorization_response_iss_parameter_supported is true', async () => {
    expect((await metadata()).authorization_response_iss_parameter_supported).toBe(true);
  });

  it('AS-11: registration_endpoint is advertised while registration is enabled; scopes_supported lists the configured scopes', async () => {
    const doc = await metadata();
    expect(doc.registration_endpoint).toBe(`${ISSUER}/register`);
    expect(doc.scopes_supported).toEqual(['mcp:tools:read', 'mcp:tools:write', 'offline_access']);
  });

  it('MCP SDK compatibility: the metadata document has no null values anywhere', async () => {
    expect(nullPaths(await metadata())).toEqual([]);
  });

  it('AS-2: /.well-known/openid-configuration answers 404 JSON (not an OpenID Provider), never 5xx', async () => {
    const res = await call('/.well-known/openid-configuration');
    expect(res.status).toBe(404);
    expect(res.headers.get('Content-Type')).toMatch(/^application\/json/);
    expect(((await res.json()) as { error: string }).error).toBe('not_found');
  });
});

describe('RFC 9728 protected resource metadata (PR-1, PR-3, AS-3)', () => {
  for (const path of ['/.well-known/oauth-protected-resource/mcp', '/.well-known/oauth-protected-resource']) {
    it(`PR-1 (RFC 9728 §3): ${path} names the resource, the issuer as authorization server, and header bearer tokens only`, async () => {
      const res = await call(path);
      expect(res.status).toBe(200);
      const doc = (await res.json()) as Record<string, unknown>;
      expect(doc.resource).toBe(RESOURCE);
      expect(doc.authorization_servers).toEqual([ISSUER]);
      expect(doc.bearer_methods_supported).toEqual(['header']);
      expect(nullPaths(doc)).toEqual([]);
    });

    it(`PR-3 (MCP 2026-07): ${path} scopes_supported never lists offline_access`, async () => {
      const doc = (await (await call(path)).json()) as { scopes_supported: string[] };
      expect(doc.scopes_supported).toEqual(['mcp:tools:read', 'mcp:tools:write']);
      expect(doc.scopes_supported).not.toContain('offline_access');
    });
  }

  it('AS-3: the PRM authorization_servers entry is byte-identical to the AS metadata issuer', async () => {
    const prm = (await (await call('/.well-known/oauth-protected-resource/mcp')).json()) as { authorization_servers: string[] };
    expect(prm.authorization_servers[0]).toBe((await metadata()).issuer);
  });
});

describe('AS-18 CORS (RFC 9700 §2.6)', () => {
  const ORIGIN = { Origin: 'https://browser-client.example' };
  // What each response can carry, to be readable by a browser client: the rate-limit fields
  // everywhere here (the default limits apply); the client-authentication challenge and the
  // grant authority's Retry-After where clients authenticate.
  const RATE_LIMIT = ['RateLimit', 'RateLimit-Policy', 'Retry-After'];
  const CLIENT_AUTH = ['WWW-Authenticate', 'RateLimit', 'RateLimit-Policy', 'Retry-After'];
  const corsEndpoints: [string, () => Promise<Response>, string[]][] = [
    ['AS metadata', () => call(AS_METADATA, { headers: ORIGIN }), RATE_LIMIT],
    ['PRM', () => call('/.well-known/oauth-protected-resource/mcp', { headers: ORIGIN }), RATE_LIMIT],
    ['JWKS', () => call('/.well-known/jwks.json', { headers: ORIGIN }), RATE_LIMIT],
    [
      'register',
      () =>
        call('/register', {
          method: 'POST',
          headers: { ...ORIGIN, 'Content-Type': 'application/json' },
          body: JSON.stringify({ redirect_uris: ['http://127.0.0.1:9999/callback'], token_endpoint_auth_method: 'none' }),
        }),
      RATE_LIMIT,
    ],
    ['token', () => postForm('/token', { grant_type: 'authorization_code', client_id: 'nobody' }, ORIGIN), CLIENT_AUTH],
    ['introspect', () => postForm('/introspect', { token: 'x' }, ORIGIN), CLIENT_AUTH],
    ['revoke', () => postForm('/revoke', { token: 'x' }, ORIGIN), CLIENT_AUTH],
  ];

  for (const [name, send, exposed] of corsEndpoints) {
    const what = exposed === CLIENT_AUTH ? 'WWW-Authenticate and the rate-limit fields' : 'the rate-limit fields';
    it(`AS-18: ${name} responses carry Access-Control-Allow-Origin and expose ${what}`, async () => {
      const res = await send();
      expect(res.headers.get('Access-Control-Allow-Origin')).toBe('*');
      expect(res.headers.get('Access-Control-Expose-Headers')?.split(', ')).toEqual(exposed);
    });
  }

  it('AS-18: without rate limits the discovery documents expose no header (they send none worth reading)', async () => {
    const app = createMcpAuth({ issuer: ISSUER, resources: [RESOURCE], scopes: ['mcp:tools:read'], rateLimits: { enabled: false } }).app;
    for (const path of [AS_METADATA, '/.well-known/oauth-protected-resource/mcp']) {
      // Absolute URLs on the issuer's origin (a bare path would be http://localhost, another origin: 421).
      const res = await app.request(`${ISSUER}${path}`, { headers: ORIGIN }, bindings);
      expect(res.status).toBe(200);
      expect(res.headers.get('Access-Control-Allow-Origin')).toBe('*');
      expect(res.headers.has('Access-Control-Expose-Headers')).toBe(false);
    }
    const token = await app.request(`${ISSUER}/token`, { method: 'POST', headers: ORIGIN }, bindings);
    expect(token.headers.get('Access-Control-Expose-Headers')).toBe('WWW-Authenticate, Retry-After');
  });

  for (const path of [AS_METADATA, '/.well-known/jwks.json', '/register', '/token', '/introspect', '/revoke']) {
    it(`AS-18: preflight OPTIONS ${path} allows the MCP-Protocol-Version request header`, async () => {
      const res = await call(path, {
        method: 'OPTIONS',
        headers: { ...ORIGIN, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'mcp-protocol-version, content-type' },
      });
      expect(res.status).toBeLessThan(300);
      expect(res.headers.get('Access-Control-Allow-Origin')).toBe('*');
      const allowed = (res.headers.get('Access-Control-Allow-Headers') ?? '').toLowerCase().split(/\s*,\s*/);
      expect(allowed).toContain('mcp-protocol-version');
      expect(allowed).toContain('content-type');
      expect(res.headers.get('Access-Control-Allow-Methods')).toMatch(/POST/);
    });
  }

  it('AS-18 / RFC 9700 §2.6: /authorize sends no CORS headers, on GET or on a preflight', async () => {
    for (const res of [
      await call('/authorize?client_id=unknown', { headers: ORIGIN }),
      await call('/authorize', { method: 'OPTIONS', headers: { ...ORIGIN, 'Access-Control-Request-Method': 'GET' } }),
    ]) {
      for (const name of ['Access-Control-Allow-Origin', 'Access-Control-Allow-Headers', 'Access-Control-Allow-Methods'])
        expect(res.headers.get(name), name).toBeNull();
    }
  });
});

describe('JWKS (RFC 7517, RFC 8725 §3.1)', () => {
  it('RFC 7517 §4: the JWKS publishes only public members; every key has kid, alg ES256 and use sig', async () => {
    const res = await call('/.well-known/jwks.json');
    expect(res.status).toBe(200);
    const { keys } = (await res.json()) as Jwks;
    expect(keys.length).toBeGreaterThanOrEqual(1);
    for (const key of keys) {
      for (const member of PRIVATE_JWK_MEMBERS) expect(key, member).not.toHaveProperty(member);
      expect(key.kid).toEqual(expect.any(String));
      expect(key.alg).toBe('ES256');
      expect(key.use).toBe('sig');
      expect(key.kty).toBe('EC');
      expect(key.crv).toBe('P-256');
    }
    expect(new Set(keys.map((k) => k.kid)).size).toBe(keys.length);
  });

  it('RFC 7517 / design (keys kept in the Durable Object): the signing keys persist: a second call, a new isolate-level instance and the stored rows agree', async () => {
    const first = (await (await call('/.well-known/jwks.json')).json()) as Jwks;
    const second = (await (await call('/.well-known/jwks.json')).json()) as Jwks;
    expect(second).toEqual(first);

    // A freshly built server has no cached keys: it must read the same ones from the Durable Object.
    const fresh = createMcpAuth({ issuer: ISSUER, resources: [RESOURCE], scopes: ['mcp:tools:read'], rateLimits: { enabled: false } });
    const again = (await (await fetchApp(fresh.app, '/.well-known/jwks.json')).json()) as Jwks;
    expect(again.keys.map((k) => k.kid)).toEqual(first.keys.map((k) => k.kid));

    const stub = bindings.MCP_AUTH_STATE.get(bindings.MCP_AUTH_STATE.idFromName(stateObjectName(ISSUER, stateObjectNames.signingKeys())));
    const stored = await runInDurableObject(stub, (_instance, state) =>
      state.storage.sql.exec<{ kid: string; status: string }>('SELECT kid, status FROM signing_key').toArray(),
    );
    expect(stored.map((row) => row.kid).sort()).toEqual(first.keys.map((k) => k.kid as string).sort());
    expect(stored.map((row) => row.status).sort()).toEqual(['current', 'next']);
  });
});

describe('path issuer mounted as a sub-app (RFC 8414 §3.1, RFC 9728 §3.1)', () => {
  const TENANT = 'http://localhost:8787/tenant-a';
  const auth = createMcpAuth({ issuer: TENANT, resources: [`${TENANT}/mcp`], scopes: ['read'] });
  const host = new Hono();
  host.get('/hello', (c) => c.text('hello from the host'));
  host.route('/', auth.app);
  host.notFound((c) => c.text('host not found', 404));
  const hostFetch = (path: string, init?: RequestInit) => fetchApp(host, path, init);

  it('AS-2 / RFC 8414 §3.1: metadata is at /.well-known/oauth-authorization-server/tenant-a with every endpoint under /tenant-a', async () => {
    const res = await hostFetch('/.well-known/oauth-authorization-server/tenant-a');
    expect(res.status).toBe(200);
    const doc = (await res.json()) as Metadata;
    expect(doc.issuer).toBe(TENANT);
    for (const member of Object.keys(ENDPOINT_METHODS)) expect(doc[member], member).toMatch(new RegExp(`^${TENANT}/`));
    expect(doc.jwks_uri).toBe(`${TENANT}/.well-known/jwks.json`);
    expect(doc.token_endpoint).toBe(`${TENANT}/token`);
    expect(nullPaths(doc)).toEqual([]);
  });

  it('AS-2: every endpoint of the path issuer is served through the host app (never 404 or 5xx)', async () => {
    const doc = (await (await hostFetch('/.well-known/oauth-authorization-server/tenant-a')).json()) as Metadata;
    for (const [member, method] of Object.entries(ENDPOINT_METHODS)) {
      const res = await probe(hostFetch, doc[member] as string, method);
      expect(res.status, member).not.toBe(404);
      expect(res.status, member).toBeLessThan(500);
    }
  });

  it('RFC 7517: the JWKS of the path issuer is served at /tenant-a/.well-known/jwks.json with public keys only', async () => {
    const res = await hostFetch('/tenant-a/.well-known/jwks.json');
    expect(res.status).toBe(200);
    const { keys } = (await res.json()) as Jwks;
    expect(keys.length).toBeGreaterThanOrEqual(1);
    for (const key of keys) for (const member of PRIVATE_JWK_MEMBERS) expect(key).not.toHaveProperty(member);
  });

  it('PR-1 (RFC 9728 §3.1): PRM is at /.well-known/oauth-protected-resource/tenant-a/mcp naming the path issuer', async () => {
    const res = await hostFetch('/.well-known/oauth-protected-resource/tenant-a/mcp');
    expect(res.status).toBe(200);
    const doc = (await res.json()) as Record<string, unknown>;
    expect(doc.resource).toBe(`${TENANT}/mcp`);
    expect(doc.authorization_servers).toEqual([TENANT]);
    expect(doc.scopes_supported).toEqual(['read']);
  });

  it('AS-2: the OIDC discovery URL of the path issuer answers 404 JSON, never 5xx', async () => {
    const res = await hostFetch('/.well-known/openid-configuration/tenant-a');
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: string }).error).toBe('not_found');
  });

  it('mounting: the host app keeps its own routes and its own 404 (the sub-app swallows nothing)', async () => {
    const hello = await hostFetch('/hello');
    expect(hello.status).toBe(200);
    expect(await hello.text()).toBe('hello from the host');

    for (const path of ['/nowhere', '/tenant-a/nowhere', '/.well-known/oauth-authorization-server']) {
      const res = await hostFetch(path);
      expect(res.status, path).toBe(404);
      expect(await res.text(), path).toBe('host not found');
    }
  });
});

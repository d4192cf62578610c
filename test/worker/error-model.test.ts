import { describe, expect, it, vi } from 'vitest';
import { createMcpAuth } from '../../src/create-mcp-auth';
import { errorResponse, OAuthError } from '../../src/errors';
import type { ClientStore } from '../../src/storage/client-store';
import { basic, call, ISSUER, registerClient, RESOURCE } from './helpers';
import { expectOAuthError, fetchApp, filler, postFormTo, postJson } from './foundation-helpers';

const FORM = 'application/x-www-form-urlencoded';
const FORM_ENDPOINTS = ['/token', '/introspect', '/revoke'] as const;

function post(path: string, body: BodyInit | null, contentType?: string): Promise<Response> {
  return call(path, { method: 'POST', body, headers: contentType ? { 'Content-Type': contentType } : {} });
}

describe('OAuthError renders RFC 6749 §5.2 (AS-12)', () => {
  it('RFC 6749 §5.2: JSON body with error and error_description, 400 by default, Cache-Control no-store', async () => {
    const res = new OAuthError('invalid_grant', 'The code expired.').toResponse();
    expect(res.status).toBe(400);
    expect(res.headers.get('Content-Type')).toBe('application/json');
    expect(res.headers.get('Cache-Control')).toBe('no-store');
    expect(res.headers.get('Pragma')).toBe('no-cache');
    expect(await res.json()).toEqual({ error: 'invalid_grant', error_description: 'The code expired.' });
  });

  it('RFC 6749 §5.2: without a description the body has only error (no null or empty member)', async () => {
    expect(await new OAuthError('invalid_request').toResponse().json()).toEqual({ error: 'invalid_request' });
  });

  const statuses: [ConstructorParameters<typeof OAuthError>[0], number][] = [
    ['invalid_request', 400],
    ['invalid_client', 401],
    ['invalid_token', 401],
    ['insufficient_scope', 403],
    ['not_found', 404],
    ['server_error', 500],
    ['temporarily_unavailable', 503],
    ['invalid_target', 400],
    ['invalid_client_metadata', 400],
  ];
  for (const [code, status] of statuses) {
    it(`RFC 6749 §5.2 / RFC 6750 §3.1 / RFC 8707 §2: ${code} defaults to HTTP ${status}`, () => {
      expect(new OAuthError(code).status).toBe(status);
    });
  }

  it("RFC 6749 §5.2: an explicit status and the error's own headers (Retry-After, WWW-Authenticate on invalid_client) are kept beside no-store", () => {
    const limited = new OAuthError('temporarily_unavailable', 'slow down', { status: 429, headers: { 'Retry-After': '30' } }).toResponse();
    expect(limited.status).toBe(429);
    expect(limited.headers.get('Retry-After')).toBe('30');
    expect(limited.headers.get('Cache-Control')).toBe('no-store');
    const client = new OAuthError('invalid_client', 'bad', { headers: { 'WWW-Authenticate': 'Basic realm="token"' } }).toResponse();
    expect(client.status).toBe(401);
    expect(client.headers.get('WWW-Authenticate')).toBe('Basic realm="token"');
    expect(client.headers.get('Cache-Control')).toBe('no-store');
  });

  it('design (errors safe to expose): errorResponse turns an unknown exception into 500 server_error, logging the details and showing none', async () => {
    const logged: unknown[] = [];
    const spy = vi.spyOn(console, 'error').mockImplementation((line: unknown) => void logged.push(line));
    const res = errorResponse(new Error('secret detail: db password hunter2'));
    spy.mockRestore();
    expect(res.status).toBe(500);
    expect(res.headers.get('Cache-Control')).toBe('no-store');
    const text = await res.text();
    expect(JSON.parse(text).error).toBe('server_error');
    expect(text).not.toContain('secret detail');
    expect(text).not.toContain('hunter2');
    expect(logged).toHaveLength(1);
    expect(String(logged[0])).toContain('secret detail');
  });

  it('design: errorResponse passes an OAuthError through unchanged and logs nothing', async () => {
    const logged: unknown[] = [];
    const spy = vi.spyOn(console, 'error').mockImplementation((line: unknown) => void logged.push(line));
    const res = errorResponse(new OAuthError('invalid_scope', 'nope'));
    spy.mockRestore();
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: 'invalid_scope', error_description: 'nope' });
    expect(logged).toEqual([]);
  });
});

describe('unexpected exceptions inside the server (AS-12, design: details only in logs)', () => {
  const failingStore: ClientStore = {
    get: () => Promise.reject(new Error('secret detail')),
    put: () => Promise.reject(new Error('secret detail')),
  };
  const auth = createMcpAuth({
    issuer: ISSUER,
    resources: [RESOURCE],
    scopes: ['mcp:tools:read'],
    clientStore: failingStore,
    rateLimits: { enabled: false },
    log: false,
  });

  it('design: a clientStore whose get() throws makes /token answer 500 server_error with no internals in the body', async () => {
    const res = await postFormTo(auth.app, '/token', { grant_type: 'authorization_code', code: 'x', client_id: 'some-client' });
    const body = await expectOAuthError(res, 500, 'server_error');
    expect(JSON.stringify(body)).not.toContain('secret detail');
    expect(body.error_description).toBe('The server encountered an unexpected condition.');
  });

  it('design: the same failure at /introspect and /revoke (Basic auth) is a 500 server_error without internals', async () => {
    for (const path of ['/introspect', '/revoke']) {
      const res = await postFormTo(auth.app, path, { token: 'x' }, { Authorization: basic('some-client', 'secret') });
      const body = await expectOAuthError(res, 500, 'server_error');
      expect(JSON.stringify(body), path).not.toContain('secret detail');
    }
  });

  it('design: a clientStore whose put() throws makes /register answer 500 server_error without internals', async () => {
    const res = await postJson(auth.app, '/register', { redirect_uris: ['https://app.example.com/cb'] });
    const body = await expectOAuthError(res, 500, 'server_error');
    expect(JSON.stringify(body)).not.toContain('secret detail');
  });

  it('AS-18: error responses keep their CORS headers', async () => {
    const res = await fetchApp(auth.app, '/token', { method: 'POST', headers: { 'Content-Type': FORM }, body: 'client_id=a' });
    expect(res.status).toBe(500);
    expect(res.headers.get('Access-Control-Allow-Origin')).toBe('*');
  });
});

describe('bounded, well-formed request bodies at /token, /introspect, /revoke (AS-12, OAuth 2.1 §3.2)', () => {
  for (const path of FORM_ENDPOINTS) {
    it(`OAuth 2.1 §3.2: ${path} with a body that is not valid UTF-8 → 400 invalid_request`, async () => {
      const bytes = new Uint8Array([...new TextEncoder().encode('grant_type=authorization_code&token=a'), 0xff, 0xfe, 0x80]);
      await expectOAuthError(await post(path, bytes, FORM), 400, 'invalid_request');
    });

    it(`OAuth 2.1 §3.2: ${path} with broken percent-encoding is handled as a client error, never 5xx`, async () => {
      const res = await post(path, 'grant_type=%ZZ&token=%&client_id=%E0%A4%A&&==', FORM);
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
      expect(res.headers.get('Cache-Control')).toBe('no-store');
    });

    it(`OAuth 2.1 §3.2: ${path} with a non-form content type (text/plain, multipart, none) → 400 invalid_request`, async () => {
      await expectOAuthError(await post(path, 'token=a&grant_type=refresh_token', 'text/plain'), 400, 'invalid_request');
      const multipart = new FormData();
      multipart.set('token', 'a');
      await expectOAuthError(await call(path, { method: 'POST', body: multipart }), 400, 'invalid_request');
      await expectOAuthError(await post(path, null), 400, 'invalid_request');
    });

    it(`bounded bodies, RFC 9110 §15.5.14: ${path} with a body over 16 KiB → 413 invalid_request, never 5xx`, async () => {
      await expectOAuthError(await post(path, `token=${filler(17 * 1024)}`, FORM), 413, 'invalid_request');
    });

    it(`bounded bodies, RFC 9110 §15.5.14: ${path} with an oversized streamed body (no Content-Length) → 413 invalid_request`, async () => {
      const chunk = new TextEncoder().encode(`token=${filler(8 * 1024)}`);
      let sent = 0;
      const stream = new ReadableStream<Uint8Array>({
        pull(controller) {
          if (sent++ < 3) controller.enqueue(chunk);
          else controller.close();
        },
      });
      await expectOAuthError(await post(path, stream, FORM), 413, 'invalid_request');
    });

    it(`RFC 6749 §3.1: ${path} with a repeated parameter → 400 invalid_request`, async () => {
      await expectOAuthError(await post(path, 'grant_type=refresh_token&grant_type=authorization_code&token=a', FORM), 400, 'invalid_request');
      await expectOAuthError(await post(path, 'token=a&token=b&client_id=c', FORM), 400, 'invalid_request');
      await expectOAuthError(await post(path, 'token=a&client_id=c&client_id=c', FORM), 400, 'invalid_request');
    });

    it(`OAuth 2.1 §3.2: ${path} accepts the form media type with a charset parameter (and then asks for client authentication)`, async () => {
      const res = await post(path, 'grant_type=authorization_code&code=x&token=x', `${FORM}; charset=UTF-8`);
      await expectOAuthError(res, 401, 'invalid_client');
    });
  }

  it('OAuth 2.1 §3.2: /token does not accept JSON bodies → 400 invalid_request', async () => {
    await expectOAuthError(
      await post('/token', JSON.stringify({ grant_type: 'authorization_code', client_id: 'a' }), 'application/json'),
      400,
      'invalid_request',
    );
  });

  it('RFC 6749 §3.1 / RFC 8707 §2: resource is the one parameter that may repeat at /token; more than one resource is then invalid_target, not invalid_request', async () => {
    const client = await registerClient();
    const resource = encodeURIComponent(RESOURCE);
    const body = `grant_type=authorization_code&code=x&code_verifier=${filler(43)}&client_id=${client.client_id}&resource=${resource}&resource=${resource}`;
    await expectOAuthError(await post('/token', body, FORM), 400, 'invalid_target');
  });

  for (const path of ['/introspect', '/revoke']) {
    it(`RFC 7662 §2.1 / RFC 7009 §2.1: ${path} rejects malformed JSON and non-object JSON with 400 invalid_request, never 5xx`, async () => {
      for (const body of ['{', '[1,2]', '"token"', 'null']) await expectOAuthError(await post(path, body, 'application/json'), 400, 'invalid_request');
    });
  }
});

describe('RFC 9110 §15.5.6: a POST-only endpoint answers other methods with 405', () => {
  for (const path of ['/token', '/introspect', '/revoke', '/register']) {
    it(`GET ${path} → 405 with Allow: POST and an RFC 6749-shaped body`, async () => {
      const res = await call(path);
      expect(res.status).toBe(405);
      expect(res.headers.get('Allow')).toBe('POST');
      expect(res.headers.get('Cache-Control')).toBe('no-store');
      expect(((await res.json()) as { error: string }).error).toBe('invalid_request');
    });
  }
});

describe('bounded bodies: an oversized body without Content-Length is read to its end and discarded, never buffered whole', () => {
  it('RFC 9112 §9.6: a 1 MiB chunked body at /token → 413 invalid_request once the whole stream was consumed', async () => {
    const chunk = new TextEncoder().encode('a'.repeat(64 * 1024));
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent >= 16) return controller.close();
        sent += 1;
        controller.enqueue(chunk);
      },
    });
    const res = await call('/token', { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body, duplex: 'half' } as RequestInit);
    expect(res.status).toBe(413);
    expect(((await res.json()) as { error: string }).error).toBe('invalid_request');
    expect(sent).toBe(16); // read to its end (and dropped), so a keep-alive connection stays usable
  });
});

import { afterEach, describe, expect, it, vi } from 'vitest';
import { env } from 'cloudflare:test';
import { Hono } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { McpAuthOptions } from '../../src/options';
import { createMcpAuth } from '../../src/create-mcp-auth';
import { OAuthError } from '../../src/errors';
import type { Logger, LogFields } from '../../src/log';
import { requireMcpAuth } from '../../src/middleware/hono';
import { createRequestAuthenticator } from '../../src/middleware/challenge';
import { checkClientAndRedirect } from '../../src/protocol/authorization-request';
import type { ClientStore } from '../../src/storage/client-store';
import { createTokenVerifier, TokenVerificationError } from '../../src/verify/index';
import { createTokenMint, ISSUER as RS_ISSUER, now, PRM, RESOURCE as RS_RESOURCE } from '../shared/token-mint';
import { ISSUER, RESOURCE } from './helpers';
import { postFormTo } from './foundation-helpers';

afterEach(() => vi.restoreAllMocks());

/** A logger that keeps every line it receives. */
function recordingLogger(): Logger & { lines: { level: string; message: string; fields?: LogFields }[] } {
  const lines: { level: string; message: string; fields?: LogFields }[] = [];
  const at = (level: string) => (message: string, fields?: LogFields) => void lines.push({ level, message, fields });
  return { lines, info: at('info'), warn: at('warn'), error: at('error') };
}

function spyOnConsole() {
  return (['log', 'info', 'warn', 'error', 'debug'] as const).map((method) => vi.spyOn(console, method).mockImplementation(() => {}));
}

const failingStore: ClientStore = {
  get: () => Promise.reject(new Error('secret detail')),
  put: () => Promise.reject(new Error('secret detail')),
};

/** A flow that makes the server write: an unexpected error (500) and a misdirected request (421). */
/** A server whose client store fails (an unexpected error at /token), logging as `logging` says. */
function failingAuth(logging: Pick<McpAuthOptions, 'log' | 'logger'>): ReturnType<typeof createMcpAuth> {
  return createMcpAuth({
    issuer: ISSUER,
    resources: [RESOURCE],
    scopes: ['mcp:tools:read'],
    clientStore: failingStore,
    rateLimits: { enabled: false },
    ...logging,
  });
}

async function failingFlow(auth: ReturnType<typeof createMcpAuth>): Promise<void> {
  const res = await postFormTo(auth.app, '/token', { grant_type: 'authorization_code', code: 'x', client_id: 'some-client' });
  expect(res.status).toBe(500);
  expect((await auth.app.fetch(new Request('http://evil.example/.well-known/jwks.json'), env)).status).toBe(421);
}

describe('one error type: OAuthError is Hono HTTPException', () => {
  it('RFC 6750 §3.1: a host app.onError sees the refusal of protect() as an HTTPException and answers it with getResponse()', async () => {
    const auth = createMcpAuth({ issuer: ISSUER, resources: [RESOURCE], scopes: ['mcp:tools:read'], rateLimits: { enabled: false }, log: false });
    const seen: unknown[] = [];
    const host = new Hono();
    host.onError((err, c) => {
      seen.push(err);
      return err instanceof HTTPException ? err.getResponse() : c.text('host error', 500);
    });
    host.use('/mcp', auth.protect({ scopes: ['mcp:tools:read'] }));
    host.post('/mcp', (c) => c.text('reached'));
    const res = await host.fetch(new Request(`${ISSUER}/mcp`, { method: 'POST', headers: { Authorization: 'Bearer not.a.token' } }), env);
    expect(res.status).toBe(401);
    expect(res.headers.get('WWW-Authenticate')).toMatch(/^Bearer error="invalid_token"/);
    expect(res.headers.get('Cache-Control')).toBe('no-store');
    expect(await res.json()).toMatchObject({ error: 'invalid_token' });
    expect(seen).toHaveLength(1);
    expect(seen[0]).toBeInstanceOf(HTTPException);
    expect(seen[0]).toBeInstanceOf(OAuthError);
    expect((seen[0] as OAuthError).code).toBe('invalid_token');
  });

  it('RFC 6750 §3.1: without credentials the error a host sees renders no body and no error code, as the challenge of requireMcpAuth did', async () => {
    const seen: OAuthError[] = [];
    const app = new Hono();
    app.onError((err) => (seen.push(err as OAuthError), (err as OAuthError).getResponse()));
    app.use('/mcp', requireMcpAuth({ issuer: RS_ISSUER, audience: RS_RESOURCE, keys: { keys: [] }, scopes: ['mcp:tools:read'], now }));
    app.post('/mcp', (c) => c.text('reached'));
    const res = await app.request('/mcp', { method: 'POST' });
    expect(res.status).toBe(401);
    expect(res.headers.get('WWW-Authenticate')).toBe(`Bearer resource_metadata="${PRM}", scope="mcp:tools:read"`);
    expect(await res.text()).toBe('');
    expect(seen[0]).toBeInstanceOf(OAuthError);
    expect(seen[0]!.status).toBe(401);
  });

  it('OAuth 2.1 §4.1.2.1: an untrusted client or redirect URI is an OAuthError that must not be redirected', () => {
    const err = (() => {
      try {
        checkClientAndRedirect(new URLSearchParams({ client_id: 'unknown' }), undefined, undefined);
      } catch (thrown) {
        return thrown;
      }
    })();
    expect(err).toBeInstanceOf(OAuthError);
    expect((err as OAuthError).redirectable).toBe(false);
    expect(new OAuthError('invalid_scope').redirectable).toBe(true);
  });

  it('RFC 6750 §3.1: TokenVerificationError names its answer with a code of the one union (invalid_token, temporarily_unavailable)', () => {
    expect(new TokenVerificationError('expired', 'x').error).toBe('invalid_token');
    expect(new TokenVerificationError('jwks_unavailable', 'x').error).toBe('temporarily_unavailable');
    expect(new TokenVerificationError('revocation_unavailable', 'x').error).toBe('temporarily_unavailable');
  });
});

describe('unknown errors inside the verifier are rethrown', () => {
  it('design (errors safe to expose): a TypeError thrown by a custom key function is rethrown as it is, never invalid_signature', async () => {
    const mint = await createTokenMint();
    const bug = new TypeError('keys is not iterable');
    const verify = createTokenVerifier({
      issuer: RS_ISSUER,
      audience: RS_RESOURCE,
      now,
      keys: () => {
        throw bug;
      },
    });
    await expect(verify(await mint.token())).rejects.toBe(bug);
  });

  it('design: a host sees that bug in onError (500), not a 401 that blames the token', async () => {
    const mint = await createTokenMint();
    const seen: unknown[] = [];
    const app = new Hono();
    app.onError((err, c) => (seen.push(err), c.text('bug', 500)));
    app.use('/mcp', requireMcpAuth({ issuer: RS_ISSUER, audience: RS_RESOURCE, now, keys: async () => Promise.reject(new TypeError('bug in keys')) }));
    app.post('/mcp', (c) => c.text('reached'));
    const res = await app.request('/mcp', { method: 'POST', headers: { Authorization: `Bearer ${await mint.token()}` } });
    expect(res.status).toBe(500);
    expect(seen[0]).toBeInstanceOf(TypeError);
    expect(seen[0]).not.toBeInstanceOf(HTTPException);
  });

  it('RFC 6750 §3.1: a key function answering with a key of another type (jose TypeError) is still invalid_signature', async () => {
    const mint = await createTokenMint();
    const rsa = await crypto.subtle.generateKey(
      { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' },
      true,
      ['sign', 'verify'],
    );
    const verify = createTokenVerifier({ issuer: RS_ISSUER, audience: RS_RESOURCE, now, keys: async () => rsa.publicKey });
    const err = await verify(await mint.token()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TokenVerificationError);
    expect((err as TokenVerificationError).code).toBe('invalid_signature');
  });
});

describe('one logger option', () => {
  it('design (one log): log: false silences every line of a failing flow (unexpected error, misdirected request)', async () => {
    const spies = spyOnConsole();
    const auth = failingAuth({ log: false });
    await failingFlow(auth);
    for (const spy of spies) expect(spy).not.toHaveBeenCalled();
  });

  it('design (one log): logger: false silences them too', async () => {
    const spies = spyOnConsole();
    const auth = failingAuth({ logger: false });
    await failingFlow(auth);
    for (const spy of spies) expect(spy).not.toHaveBeenCalled();
  });

  it('design (one log): a custom logger receives every line (level, constant message, fields) and nothing reaches the console', async () => {
    const spies = spyOnConsole();
    const logger = recordingLogger();
    const auth = failingAuth({ logger });
    await failingFlow(auth);
    expect(logger.lines.map(({ level, message }) => [level, message])).toEqual([
      ['error', 'unexpected error'],
      ['warn', expect.stringMatching(/^request origin differs from the issuer origin/)],
    ]);
    expect(logger.lines[0]!.fields).toMatchObject({ error: { name: 'Error', message: 'secret detail' } });
    expect(logger.lines[1]!.fields).toMatchObject({ requestOrigin: 'http://evil.example', issuerOrigin: ISSUER });
    for (const spy of spies) expect(spy).not.toHaveBeenCalled();
  });

  it('design (one log): a custom logger receives the audit events as lines', async () => {
    const logger = recordingLogger();
    const auth = createMcpAuth({
      issuer: ISSUER,
      resources: [RESOURCE],
      scopes: ['mcp:tools:read'],
      rateLimits: { register: { limit: 1, windowSeconds: 60 } },
      clientAddress: () => 'addr-audit-1',
      logger,
    });
    const register = () =>
      auth.app.fetch(
        new Request(`${ISSUER}/register`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({ redirect_uris: ['http://127.0.0.1:9/cb'] }),
        }),
        env,
      );
    await register();
    expect((await register()).status).toBe(429);
    // The event is handed to the sink before the answer is returned.
    expect(logger.lines.some((line) => line.message === 'audit event' && line.fields?.type === 'security.rate_limited')).toBe(true);
    expect(logger.lines.find((line) => line.message === 'audit event')!.level).toBe('info');
  });

  it('design (one log): a logger that throws never breaks the request that logged', async () => {
    const throwing: Logger = {
      info: () => {
        throw new Error('sink down');
      },
      warn: () => {
        throw new Error('sink down');
      },
      error: () => {
        throw new Error('sink down');
      },
    };
    const auth = failingAuth({ logger: throwing });
    await failingFlow(auth);
  });

  it('design (one log): the verifier and requireMcpAuth write the cause of an undecided verification to their logger, and nothing with logger: false', async () => {
    const mint = await createTokenMint();
    const spies = spyOnConsole();
    const logger = recordingLogger();
    const down = (async () => Promise.reject(new TypeError('fetch failed'))) as typeof fetch;
    const authenticate = createRequestAuthenticator({ issuer: RS_ISSUER, audience: RS_RESOURCE, now, fetch: down, logger });
    const token = await mint.token();
    const request = { method: 'POST', url: RS_RESOURCE, headers: new Headers({ Authorization: `Bearer ${token}` }) };
    const result = await authenticate(request);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.error.status).toBe(503);
    expect(logger.lines).toEqual([
      { level: 'warn', message: 'access token could not be verified', fields: expect.objectContaining({ reason: 'jwks_unavailable' }) },
    ]);
    const silent = createRequestAuthenticator({ issuer: RS_ISSUER, audience: RS_RESOURCE, now, fetch: down, logger: false });
    expect((await silent(request)).ok).toBe(false);
    for (const spy of spies) expect(spy).not.toHaveBeenCalled();
  });
});

describe('a request-shaped resource-server check', () => {
  it('RFC 6750 §2.1: the authenticator reads method, URL and headers; repeated Authorization values are one malformed request', async () => {
    const mint = await createTokenMint();
    const authenticate = createRequestAuthenticator({ issuer: RS_ISSUER, audience: RS_RESOURCE, keys: mint.jwks, now });
    const token = await mint.token();
    const ok = await authenticate({ method: 'POST', url: RS_RESOURCE, headers: new Headers({ Authorization: `Bearer ${token}` }) });
    expect(ok.ok && ok.grant.sub).toBe('user-1');
    const twice = new Headers();
    twice.append('Authorization', `Bearer ${token}`);
    twice.append('Authorization', `Bearer ${token}`);
    const repeated = await authenticate({ method: 'POST', url: RS_RESOURCE, headers: twice });
    expect(!repeated.ok && [repeated.error.status, repeated.error.code]).toEqual([400, 'invalid_request']);
  });
});

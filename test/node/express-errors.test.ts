import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import express, { type ErrorRequestHandler } from 'express';
import { createTokenMint, ISSUER, now, RESOURCE, type TokenMint } from '../shared/token-mint';
import { requireMcpAuth } from '../../src/middleware/express.js';

let server: Server;
let origin: string;
let mint: TokenMint;
const forwarded: unknown[] = [];

beforeAll(async () => {
  mint = await createTokenMint();
  const app = express();
  // A key function with a bug: the middleware must not answer it as a bad token nor as its own 500.
  app.post('/buggy', requireMcpAuth({ issuer: ISSUER, audience: RESOURCE, now, keys: () => Promise.reject(new TypeError('bug in keys')) }), (_req, res) => {
    res.send('unreachable');
  });
  app.post('/mcp', requireMcpAuth({ issuer: ISSUER, audience: RESOURCE, now, keys: mint.jwks }), (_req, res) => {
    res.send('reached');
  });
  const onError: ErrorRequestHandler = (err, _req, res, _next) => {
    forwarded.push(err);
    res.status(599).send(`host error middleware: ${(err as Error).message}`);
  };
  app.use(onError);
  server = app.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe('requireMcpAuth (Express): errors go to next(err)', () => {
  it('design (errors safe to expose): an unexpected error reaches the app error middleware through next(err)', async () => {
    forwarded.length = 0;
    const res = await fetch(`${origin}/buggy`, { method: 'POST', headers: { Authorization: `Bearer ${await mint.token()}` } });
    expect(res.status).toBe(599);
    expect(await res.text()).toBe('host error middleware: bug in keys');
    expect(forwarded).toHaveLength(1);
    expect(forwarded[0]).toBeInstanceOf(TypeError);
  });

  it('design: Express 4 semantics (no promise handling): the middleware itself calls next(err) and its promise never rejects', async () => {
    const handler = requireMcpAuth({ issuer: ISSUER, audience: RESOURCE, now, keys: () => Promise.reject(new TypeError('bug in keys')) });
    const token = await mint.token();
    const headers: Record<string, string[]> = { authorization: [`Bearer ${token}`], host: ['mcp.example.com'] };
    const req = { method: 'POST', protocol: 'https', originalUrl: '/mcp', headersDistinct: headers, get: (name: string) => headers[name.toLowerCase()]?.[0] };
    const nextCalls: unknown[][] = [];
    const outcome = await Promise.resolve(handler(req as never, {} as never, (...args: unknown[]) => void nextCalls.push(args))).then(
      () => 'resolved',
      () => 'rejected',
    );
    expect(outcome).toBe('resolved');
    expect(nextCalls).toHaveLength(1);
    expect(nextCalls[0]![0]).toBeInstanceOf(TypeError);
  });

  it('RFC 6750 §3.1: a challenge is still answered by the middleware itself, never forwarded', async () => {
    forwarded.length = 0;
    const missing = await fetch(`${origin}/mcp`, { method: 'POST' });
    expect(missing.status).toBe(401);
    const bad = await fetch(`${origin}/mcp`, { method: 'POST', headers: { Authorization: 'Bearer not.a.token' } });
    expect(bad.status).toBe(401);
    expect(await bad.json()).toMatchObject({ error: 'invalid_token' });
    expect(forwarded).toHaveLength(0);
    const ok = await fetch(`${origin}/mcp`, { method: 'POST', headers: { Authorization: `Bearer ${await mint.token()}` } });
    expect(await ok.text()).toBe('reached');
  });
});

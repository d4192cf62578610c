// The example MCP server (the bundle `wrangler deploy` would upload) against hostile bodies at
// /mcp: nothing is read for an anonymous caller, and no body, authenticated or not, gets a 5xx.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAuthorizedExample } from './mcp-client-provider';
import { rawConnect, requestHead, statusOf } from './raw-http';
import type { RunningWorker } from './worker-server';

const MCP_HEADERS = { 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream' };

const call = (name: unknown, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name, arguments: {} }, ...extra });

/** Bodies a caller chooses: tool names that are Object.prototype keys, JSON that is not a message, junk. */
const HOSTILE: [string, string | Uint8Array<ArrayBuffer>][] = [
  ['tool constructor', call('constructor')],
  ['tool __proto__', call('__proto__')],
  ['tool toString', call('toString')],
  ['tool hasOwnProperty', call('hasOwnProperty')],
  ['tool name an object', call({ toString: 'create_ticket' })],
  ['tool name an array', call(['create_ticket'])],
  ['params null', JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: null })],
  ['params a string', JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: 'create_ticket' })],
  ['an own __proto__ key', '{"__proto__":{"method":"tools/call","params":{"name":"create_ticket"}},"jsonrpc":"2.0","id":1,"method":"tools/list"}'],
  ['null', 'null'],
  ['a number', '42'],
  ['a string', '"tools/call"'],
  ['true', 'true'],
  ['an empty array', '[]'],
  ['an array of junk', '[null, 1, "x", [], {}]'],
  ['a batch with a prototype tool', `[${call('constructor')}, ${call('__proto__')}]`],
  ['a long batch', `[${Array.from({ length: 500 }, () => call('whoami')).join(',')}]`],
  ['deep nesting', `${'['.repeat(100_000)}${']'.repeat(100_000)}`],
  ['deep nesting in params', call('whoami', { params: JSON.parse(`${'{"a":'.repeat(1000)}1${'}'.repeat(1000)}`) })],
  ['malformed JSON', '{"jsonrpc":"2.0",'],
  ['an empty body', ''],
  ['invalid UTF-8', new Uint8Array([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d])],
  ['a lone surrogate escape', call('\ud800')],
];

describe('the example MCP server: nothing runs before authentication, and no body answers 5xx', () => {
  let worker: RunningWorker;
  let mcp: string;
  let bearer: string;
  beforeAll(async () => {
    let accessToken: string;
    ({ worker, mcp, accessToken } = await startAuthorizedExample({ callbackPort: 53702, username: 'hostile-user' }));
    bearer = `Bearer ${accessToken}`;
  });
  afterAll(() => worker?.dispose());

  it('RFC 6750 §3.1: an unauthenticated POST declaring 30 MB gets its 401 challenge at once, before the body is sent', async () => {
    const connection = await rawConnect(mcp);
    await connection.write(
      requestHead('POST', mcp, { ...MCP_HEADERS, 'Content-Length': String(30 * 1024 * 1024) }) +
        '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"create_ticket"',
    );
    const started = Date.now();
    const answer = await connection.readResponse(3_000);
    connection.close();
    expect(statusOf(answer)).toBe(401);
    expect(Date.now() - started).toBeLessThan(1_000);
    expect((answer as { headers: Record<string, string> }).headers['www-authenticate']).toBe(
      `Bearer resource_metadata="${worker.url}/.well-known/oauth-protected-resource/mcp", scope="mcp:tools:read"`,
    );
    expect((await fetch(`${worker.url}/.well-known/oauth-protected-resource/mcp`)).status).toBe(200);
  });

  it('RFC 6750 §3.1: an unauthenticated POST with a hostile body gets the 401 challenge whatever the body', async () => {
    for (const [what, body] of HOSTILE) {
      const res = await fetch(mcp, { method: 'POST', headers: MCP_HEADERS, body });
      expect(res.status, what).toBe(401);
    }
  });

  it('authenticated hostile bodies: prototype-key tool names, non-message JSON, nested junk, malformed JSON, invalid UTF-8 → never 5xx', async () => {
    const answers: Record<string, number> = {};
    for (const [what, body] of HOSTILE) {
      const res = await fetch(mcp, { method: 'POST', headers: { ...MCP_HEADERS, Authorization: bearer }, body });
      answers[what] = res.status;
      await res.arrayBuffer();
    }
    expect(Object.entries(answers).filter(([, status]) => status >= 500)).toEqual([]);
    // A prototype key is no tool: the call is answered as an unknown tool, inside a 200.
    expect(answers['tool constructor']).toBe(200);
    expect(answers['tool __proto__']).toBe(200);
  });

  it('MCP Streamable HTTP: malformed JSON and invalid UTF-8 → 400 with the JSON-RPC parse error -32700', async () => {
    for (const body of ['{"jsonrpc":"2.0",', new Uint8Array([0x7b, 0xff, 0x7d]), ''] as (string | Uint8Array<ArrayBuffer>)[]) {
      const res = await fetch(mcp, { method: 'POST', headers: { ...MCP_HEADERS, Authorization: bearer }, body });
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: -32700 } });
    }
  });

  it('RFC 6750 §3.1: a tools/call of the write tool inside a batch still needs the write scope (403 insufficient_scope)', async () => {
    const body = `[${call('whoami')}, ${JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'create_ticket', arguments: { title: 'x' } } })}]`;
    const res = await fetch(mcp, { method: 'POST', headers: { ...MCP_HEADERS, Authorization: bearer }, body });
    expect(res.status).toBe(403);
    expect(res.headers.get('WWW-Authenticate')).toContain('scope="mcp:tools:read mcp:tools:write"');
  });
});

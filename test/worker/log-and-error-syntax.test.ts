import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { OAuthError, toDescriptionCharset } from '../../src/errors';
import { formatLogLine } from '../../src/log';
import { call, postForm, registerClient } from './helpers';

/** RFC 6749 §5.2: error_description = 1*( %x20-21 / %x23-5B / %x5D-7E ). */
const DESCRIPTION_CHARSET = /^[\x20\x21\x23-\x5B\x5D-\x7E]+$/;

describe('RFC 6749 §5.2: error_description uses only the characters the grammar allows', () => {
  it.each([
    ['a quoted parameter name', 'Parameter "x" must not be repeated (RFC 6749 §3.1).', "Parameter 'x' must not be repeated (RFC 6749 section 3.1)."],
    ['a backslash', 'path a\\b', 'path a/b'],
    ['control characters and non-ASCII', 'line\r\nbreak é \u202e', 'line??break ? ?'],
    ['text that is already valid', 'The code is invalid.', 'The code is invalid.'],
  ])('RFC 6749 §5.2: %s is brought into the allowed set', (_name, input, expected) => {
    expect(toDescriptionCharset(input)).toBe(expected);
    expect(new OAuthError('invalid_request', input).description).toBe(expected);
  });

  it('RFC 6749 §5.2: a repeated parameter at /token is described without quotes or the section sign', async () => {
    const body = 'grant_type=authorization_code&grant_type=refresh_token&client_id=x';
    const res = await call('/token', { method: 'POST', body, headers: { 'Content-Type': 'application/x-www-form-urlencoded' } });
    expect(res.status).toBe(400);
    const error = (await res.json()) as { error: string; error_description: string };
    expect(error.error).toBe('invalid_request');
    expect(error.error_description).toMatch(DESCRIPTION_CHARSET);
    expect(error.error_description).toContain('grant_type');
  });

  it('RFC 6749 §5.2: caller input echoed in a description (quotes, backslash, unicode, CR/LF) stays in the allowed set', async () => {
    const client = await registerClient();
    const res = await postForm('/token', { grant_type: 'x"\\\u00e9\r\n\u202e', client_id: client.client_id });
    expect(res.status).toBe(400);
    const error = (await res.json()) as { error: string; error_description: string };
    expect(error.error).toBe('unsupported_grant_type');
    expect(error.error_description).toMatch(DESCRIPTION_CHARSET);
  });
});

describe('logs cannot be forged: every line is one JSON object, caller input only in fields', () => {
  let lines: unknown[][];
  beforeEach(() => {
    lines = [];
    for (const method of ['log', 'info', 'warn', 'error', 'debug'] as const)
      vi.spyOn(console, method).mockImplementation((...args: unknown[]) => void lines.push(args));
  });
  afterEach(() => vi.restoreAllMocks());

  it('formatLogLine escapes CR/LF in fields so a value cannot start a new line', () => {
    const line = formatLogLine('warn', 'client metadata document refused', { clientId: 'https://a.example/x\r\n{"level":"info","forged":true}' });
    expect(line).not.toMatch(/[\r\n]/);
    expect(JSON.parse(line)).toMatchObject({ level: 'warn', source: 'mcp-auth-edge', msg: 'client metadata document refused' });
  });

  it('a client_id or client_name with CR/LF produces only single-line JSON log entries', async () => {
    const forged = '\r\n{"level":"info","source":"mcp-auth-edge","type":"token.issued","sub":"admin"}\r\n';
    await registerClient({ client_name: `name${forged}` });
    await call(`/authorize?client_id=${encodeURIComponent(`https://localhost/client${forged}`)}&response_type=code`);
    await postForm('/token', { grant_type: 'authorization_code', code: 'x', client_id: `https://localhost/client${forged}` });
    await postForm('/token', { grant_type: 'authorization_code', code: 'x', client_id: `plain${forged}` });
    expect(lines.length).toBeGreaterThan(0);
    for (const args of lines) {
      expect(args).toHaveLength(1);
      expect(typeof args[0]).toBe('string');
      const line = args[0] as string;
      expect(line).not.toMatch(/[\r\n]/);
      expect(JSON.parse(line)).toMatchObject({ source: 'mcp-auth-edge' });
    }
  });
});

import { afterEach, describe, expect, it, vi } from 'vitest';
import { Hono } from 'hono';
import { env } from 'cloudflare:workers';
import { createMcpAuth } from '../../src/create-mcp-auth';
import { OAuthError } from '../../src/errors';
import { hostRefusal, SPECIAL_PURPOSE_IPV4, SPECIAL_PURPOSE_IPV6 } from '../../src/protocol/public-host';
import { parseIpv4, parseIpv6 } from '../../src/protocol/ip-address';
import { checkClientIdUrl } from '../../src/clients/metadata-document';
import { withClientMetadataDocuments } from '../../src/clients/metadata-document-fetcher';
import { ISSUER, RESOURCE, form, pkce, urlOf } from './helpers';

const REDIRECT = 'http://127.0.0.1:7777/callback';
const policy = { scopes: ['mcp'] };

function refusalOf(clientId: string): string {
  try {
    checkClientIdUrl(clientId);
  } catch (err) {
    if (err instanceof OAuthError) return err.code;
    throw err;
  }
  return 'fetched';
}

describe('MCP 2025-11 CIMD security considerations: hosts a metadata document fetch may name', () => {
  const names: [string, string | undefined][] = [
    ['app.example.com', undefined],
    ['example.com', undefined],
    ['xn--bcher-kva.example.com', undefined],
    ['a-b.c0.io', undefined],
    ['localhost', 'single-label name'],
    ['localhost.', 'trailing dot'],
    ['app.example.com.', 'trailing dot'],
    ['intranet', 'single-label name'],
    ['metadata', 'single-label name'],
    ['foo.localhost', 'special-use domain name'],
    ['printer.local', 'special-use domain name'],
    ['x.test', 'special-use domain name'],
    ['x.invalid', 'special-use domain name'],
    ['x.example', 'special-use domain name'],
    ['duckduckgogg42xjoc72x3sjasowoarfbgcmvfimaftt6twagswzczad.onion', 'special-use domain name'],
    ['x.alt', 'special-use domain name'],
    ['router.home.arpa', 'special-use domain name'],
    ['1.0.0.127.in-addr.arpa', 'special-use domain name'],
    ['ipv4only.arpa', 'special-use domain name'],
    ['metadata.internal', 'private-use domain name'],
    ['metadata.google.internal', 'private-use domain name'],
    ['nas.lan', 'private-use domain name'],
    ['git.corp', 'private-use domain name'],
    ['wiki.intranet', 'private-use domain name'],
    ['box.home', 'private-use domain name'],
    ['db.private', 'private-use domain name'],
    ['host.localdomain', 'private-use domain name'],
    ['under_score.example.com', 'not a DNS host name'],
    ['-lead.example.com', 'not a DNS host name'],
    ['a..b.com', 'not a DNS host name'],
    [`${'a'.repeat(64)}.example.com`, 'not a DNS host name'],
    ['0x7f.1', 'not a DNS host name'],
    ['127.1', 'not a DNS host name'],
    ['2130706433', 'not a DNS host name'],
    ['0177.0.0.1', 'not a DNS host name'],
    ['example.123', 'not a DNS host name'],
    ['1.1.1.1', undefined],
    ['8.8.8.8', undefined],
    ['100.63.255.255', undefined],
    ['100.128.0.0', undefined],
    ['172.15.255.255', undefined],
    ['172.32.0.0', undefined],
    ['192.0.1.255', undefined],
    ['192.0.3.0', undefined],
    ['198.17.255.255', undefined],
    ['198.20.0.0', undefined],
    ['223.255.255.255', undefined],
    ['127.0.0.1', 'special-purpose IPv4 address'],
    ['0.0.0.0', 'special-purpose IPv4 address'],
    ['169.254.169.254', 'special-purpose IPv4 address'],
    ['100.100.100.200', 'special-purpose IPv4 address'],
    ['192.0.0.9', 'special-purpose IPv4 address'],
    ['192.0.2.1', 'special-purpose IPv4 address'],
    ['198.18.0.1', 'special-purpose IPv4 address'],
    ['198.19.255.255', 'special-purpose IPv4 address'],
    ['224.0.0.1', 'special-purpose IPv4 address'],
    ['240.0.0.1', 'special-purpose IPv4 address'],
    ['255.255.255.255', 'special-purpose IPv4 address'],
    ['[2606:4700:4700::1111]', undefined],
    ['[2001:4860:4860::8888]', undefined],
    ['[2a00:1450:4001::1]', undefined],
    ['[::1]', 'special-purpose IPv6 address'],
    ['[::]', 'special-purpose IPv6 address'],
    ['[::ffff:7f00:1]', 'special-purpose IPv6 address'],
    ['[::ffff:127.0.0.1]', 'special-purpose IPv6 address'],
    ['[::ffff:808:808]', 'special-purpose IPv6 address'],
    ['[::7f00:1]', 'special-purpose IPv6 address'],
    ['[::127.0.0.1]', 'special-purpose IPv6 address'],
    ['[64:ff9b::a9fe:a9fe]', 'special-purpose IPv6 address'],
    ['[64:ff9b:1::a00:1]', 'special-purpose IPv6 address'],
    ['[2002:7f00:1::]', 'special-purpose IPv6 address'],
    ['[2001:0:4136:e378:8000:63bf:3fff:fdd2]', 'special-purpose IPv6 address'],
    ['[2001:db8::1]', 'special-purpose IPv6 address'],
    ['[3fff::1]', 'special-purpose IPv6 address'],
    ['[2620:4f:8000::1]', 'special-purpose IPv6 address'],
    ['[fd00:ec2::254]', 'special-purpose IPv6 address'],
    ['[fe80::1]', 'special-purpose IPv6 address'],
    ['[fec0::1]', 'special-purpose IPv6 address'],
    ['[ff02::1]', 'special-purpose IPv6 address'],
    ['[100::1]', 'special-purpose IPv6 address'],
    ['[5f00::1]', 'special-purpose IPv6 address'],
    ['[fe80::1%25eth0]', 'not a DNS host name'],
  ];
  for (const [host, expected] of names) {
    it(`RFC 6890 / RFC 6761: ${host} → ${expected ?? 'public'}`, () => expect(hostRefusal(host)).toBe(expected));
  }

  it('RFC 6890: the first and last address of every IPv4 special-purpose block is refused', () => {
    const wrong: string[] = [];
    for (const [prefix, bits] of SPECIAL_PURPOSE_IPV4) {
      const base = parseIpv4(prefix)!;
      const last = base | ((1n << BigInt(32 - bits)) - 1n);
      for (const address of [base, last]) {
        const text = [24n, 16n, 8n, 0n].map((shift) => String((address >> shift) & 255n)).join('.');
        if (hostRefusal(text) !== 'special-purpose IPv4 address') wrong.push(text);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('RFC 6890: the first and last address of every IPv6 special-purpose block is refused', () => {
    const wrong: string[] = [];
    for (const [prefix, bits] of SPECIAL_PURPOSE_IPV6) {
      const base = parseIpv6(prefix)!;
      const last = base | ((1n << BigInt(128 - bits)) - 1n);
      for (const address of [base, last]) {
        const text = `[${Array.from({ length: 8 }, (_, i) => ((address >> BigInt(112 - 16 * i)) & 0xffffn).toString(16)).join(':')}]`;
        if (hostRefusal(text) !== 'special-purpose IPv6 address') wrong.push(text);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('RFC 4291 §2.2: IPv6 text forms parse to the same address', () => {
    expect(parseIpv6('::ffff:127.0.0.1')).toBe(parseIpv6('0:0:0:0:0:ffff:7f00:1'));
    expect(parseIpv6('::1')).toBe(1n);
    expect(parseIpv6('1::2::3')).toBeUndefined();
    expect(parseIpv6('1:2:3:4:5:6:7:8:9')).toBeUndefined();
    expect(parseIpv6('::ffff:256.0.0.1')).toBeUndefined();
  });
});

describe('MCP 2025-11 CIMD: every spelling of a non-public host is refused before any connection', () => {
  const urls: [string, string][] = [
    ['https://app.example.com/client.json', 'fetched'],
    ['https://8.8.8.8/client.json', 'fetched'],
    ['https://[2606:4700:4700::1111]/client.json', 'fetched'],
    ['https://localhost./client.json', 'invalid_client'],
    ['https://localhost.:443/client.json', 'invalid_client'],
    ['https://LOCALHOST/client.json', 'invalid_client'],
    ['https://intranet/client.json', 'invalid_client'],
    ['https://printer.local/client.json', 'invalid_client'],
    ['https://router.home.arpa/client.json', 'invalid_client'],
    ['https://metadata.google.internal/computeMetadata/v1/', 'invalid_client'],
    ['https://x.lan/client.json', 'invalid_client'],
    ['https://0x7f.1/client.json', 'invalid_client'],
    ['https://0x7f000001/client.json', 'invalid_client'],
    ['https://2130706433/client.json', 'invalid_client'],
    ['https://0177.0.0.1/client.json', 'invalid_client'],
    ['https://127.1/client.json', 'invalid_client'],
    ['https://0xa9.0xfe.0xa9.0xfe/latest', 'invalid_client'],
    ['https://198.18.0.1/client.json', 'invalid_client'],
    ['https://192.0.2.1/client.json', 'invalid_client'],
    ['https://240.0.0.1/client.json', 'invalid_client'],
    ['https://203.0.113.7/client.json', 'invalid_client'],
    ['https://[::ffff:127.0.0.1]/client.json', 'invalid_client'],
    ['https://[::ffff:a9fe:a9fe]/client.json', 'invalid_client'],
    ['https://[64:ff9b::7f00:1]/client.json', 'invalid_client'],
    ['https://[2002:a9fe:a9fe::]/client.json', 'invalid_client'],
    ['https://[fd00::1]/client.json', 'invalid_client'],
    ['https://\uff4c\uff4f\uff43\uff41\uff4c\uff48\uff4f\uff53\uff54/client.json', 'invalid_client'],
    ['https://localhost\u3002/client.json', 'invalid_client'],
    ['https://127\uff0e0\uff0e0\uff0e1/client.json', 'invalid_client'],
    ['https://app.example.com\\@127.0.0.1/client.json', 'invalid_client'],
    ['https://127.0.0.1\\.app.example.com/client.json', 'invalid_client'],
    ['https://app.example.com:443/client.json', 'invalid_client'],
    ['https://App.Example.com/client.json', 'invalid_client'],
    ['https://app.example.com/client.json?x=%zz', 'invalid_client'],
  ];
  for (const [url, expected] of urls) {
    it(`RFC 6890 / RFC 3986 §6.2: ${JSON.stringify(url)} → ${expected}`, () => expect(refusalOf(url)).toBe(expected));
  }
});

describe('MCP 2025-11 CIMD: refused and failing documents through the app', () => {
  function setup(serve: () => Response | Promise<Response>) {
    const fetched: string[] = [];
    let clock = 1_800_000_000;
    const auth = createMcpAuth({
      issuer: ISSUER,
      resources: [RESOURCE],
      scopes: ['mcp'],
      rateLimits: { enabled: false },
      log: false,
      clock: () => clock,
      clientMetadataDocuments: {
        fetch: (async (input: RequestInfo | URL) => {
          fetched.push(urlOf(input));
          return serve();
        }) as typeof fetch,
      },
    });
    const host = new Hono().route('/', auth.app);
    const authorize = async (clientId: string) =>
      host.fetch(
        new Request(
          new URL(
            `/authorize?${form({ response_type: 'code', client_id: clientId, redirect_uri: REDIRECT, code_challenge: (await pkce()).challenge, code_challenge_method: 'S256' })}`,
            ISSUER,
          ),
          { redirect: 'manual' },
        ),
        env,
      );
    return { fetched, authorize, advance: (seconds: number) => (clock += seconds) };
  }
  const document = (clientId: string) =>
    new Response(JSON.stringify({ client_id: clientId, redirect_uris: [REDIRECT] }), { headers: { 'Content-Type': 'application/json' } });

  for (const clientId of [
    'https://localhost./client.json',
    'https://198.18.0.1/client.json',
    'https://nas.lan/client.json',
    'https://192.0.2.10/client.json',
  ]) {
    it(`RFC 6890: a document at ${clientId} is never fetched; the client is unknown (error page)`, async () => {
      const s = setup(() => document(clientId));
      const res = await s.authorize(clientId);
      expect(res.status).toBe(400);
      expect(res.headers.get('Location')).toBeNull();
      expect(s.fetched).toEqual([]);
    });
  }

  it('MCP 2025-11 CIMD (amplification): 20 requests in a row for a failing document cause one fetch', async () => {
    const clientId = 'https://down.example.com/client.json';
    const s = setup(() => new Response('down', { status: 503 }));
    for (let i = 0; i < 20; i++) expect((await s.authorize(clientId)).status).toBe(400);
    expect(s.fetched).toEqual([clientId]);
  });

  it('MCP 2025-11 CIMD (amplification): 20 concurrent requests for one document cause one fetch', async () => {
    const clientId = 'https://slow.example.com/client.json';
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const s = setup(async () => {
      await gate;
      return new Response('{nope');
    });
    const pending = Array.from({ length: 20 }, () => s.authorize(clientId));
    await new Promise((resolve) => setTimeout(resolve, 20));
    release();
    const statuses = (await Promise.all(pending)).map((res) => res.status);
    expect(statuses).toEqual(Array(20).fill(400));
    expect(s.fetched).toEqual([clientId]);
  });

  it('MCP 2025-11 CIMD: a failure is remembered for 60 s, then the document is fetched again', async () => {
    const clientId = 'https://flaky.example.com/client.json';
    let up = false;
    const s = setup(() => (up ? document(clientId) : new Response('down', { status: 503 })));
    expect((await s.authorize(clientId)).status).toBe(400);
    up = true;
    s.advance(59);
    expect((await s.authorize(clientId)).status).toBe(400);
    expect(s.fetched).toHaveLength(1);
    s.advance(2);
    expect((await s.authorize(clientId)).status).toBe(200);
    expect(s.fetched).toHaveLength(2);
  });

  it('MCP 2025-11 CIMD: the failure cache is bounded (1000 entries, the oldest forgotten first)', async () => {
    const fetched: string[] = [];
    const store = withClientMetadataDocuments({ get: async () => undefined, put: async () => {} }, policy, {
      fetch: (async (input: RequestInfo | URL) => (fetched.push(urlOf(input)), new Response('gone', { status: 404 }))) as typeof fetch,
    });
    const id = (i: number) => `https://down.example.com/client-${i}.json`;
    for (let i = 0; i <= 1000; i++) await store.get(id(i));
    expect(fetched).toHaveLength(1001);
    await store.get(id(1000)); // still remembered
    expect(fetched).toHaveLength(1001);
    await store.get(id(0)); // evicted by the 1001st failure
    expect(fetched).toHaveLength(1002);
  });
});

describe('logs cannot be forged by a client_id URL', () => {
  afterEach(() => vi.restoreAllMocks());

  it('RFC 3986 §2 / log injection: a refused client_id with CR LF is logged as one structured line, the id only in a field', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const store = withClientMetadataDocuments({ get: async () => undefined, put: async () => {} }, policy, {
      fetch: (async () => new Response('x')) as typeof fetch,
    });
    const clientId = 'https://evil.example.com/a\r\n{"level":"info","msg":"token issued"}';
    await expect(store.get(clientId)).resolves.toBeUndefined();
    expect(warn).toHaveBeenCalledTimes(1);
    const line = String(warn.mock.calls[0]![0]);
    expect(line).not.toMatch(/[\r\n]/);
    const entry = JSON.parse(line) as Record<string, unknown>;
    expect(entry).toMatchObject({ level: 'warn', source: 'mcp-auth-edge', msg: 'client metadata document refused', clientId });
    expect(typeof entry.reason).toBe('string');
  });
});

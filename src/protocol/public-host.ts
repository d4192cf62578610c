/**
 * Which hosts a server-side fetch may name (SSRF; MCP 2025-11 client ID metadata documents,
 * security considerations). Pure and table-driven; the input is a host as the WHATWG URL parser
 * serialises it (`url.hostname`: lowercase, A-labels, IPv4 in dotted decimal whatever spelling
 * the URL used, IPv6 compressed in brackets).
 *
 * What code can decide: names that are special-use or private by convention, and IP literals in
 * the IANA special-purpose registries. What it cannot: the addresses a public name resolves to
 * (Workers have no resolver API); that is left to `global_fetch_strictly_public` on Cloudflare.
 */
import { parseIpv4, parseIpv6 } from './ip-address.js';

/** Why a host is refused; undefined when it is public. */
export type HostRefusal =
  | 'not a DNS host name'
  | 'single-label name'
  | 'trailing dot'
  | 'special-use domain name'
  | 'private-use domain name'
  | 'special-purpose IPv4 address'
  | 'special-purpose IPv6 address';

/**
 * IANA Special-Use Domain Names registry (RFC 6761 §3) and the zones under it, matched as the
 * name or any subdomain. `example.com`/`.net`/`.org` stay public: RFC 6761 §6.5 asks
 * applications not to treat them specially, and they resolve to public servers.
 */
export const SPECIAL_USE_DOMAINS: readonly string[] = [
  'localhost', // RFC 6761 §6.3
  'local', // RFC 6762 (mDNS)
  'test', // RFC 6761 §6.2
  'invalid', // RFC 6761 §6.4
  'example', // RFC 6761 §6.5 (the TLD is never delegated)
  'onion', // RFC 7686
  'alt', // RFC 9476
  'arpa', // RFC 3172 infrastructure: home.arpa (RFC 8375), in-addr.arpa, ip6.arpa, ipv4only.arpa (RFC 8880), resolver.arpa (RFC 9462), service.arpa (RFC 9665), 6tisch.arpa
];

/**
 * Top-level names used on private networks, never delegated in the root zone: RFC 6762
 * Appendix G (intranet, internal, private, corp, home, lan; `internal` reserved by ICANN for
 * private use, 2024) and `localdomain` (the conventional hosts-file domain).
 */
export const PRIVATE_USE_DOMAINS: readonly string[] = ['intranet', 'internal', 'private', 'corp', 'home', 'lan', 'localdomain'];

type Cidr = readonly [prefix: string, bits: number];

/**
 * IANA IPv4 Special-Purpose Address Registry (RFC 6890), every entry, whether or not it is
 * marked globally reachable, plus multicast (RFC 5771). Sub-blocks of 192.0.0.0/24 (DS-Lite,
 * PCP and TURN anycast, NAT64 discovery) are inside it.
 */
export const SPECIAL_PURPOSE_IPV4: readonly Cidr[] = [
  ['0.0.0.0', 8], // "this network" (RFC 791)
  ['10.0.0.0', 8], // private use (RFC 1918)
  ['100.64.0.0', 10], // shared address space (RFC 6598)
  ['127.0.0.0', 8], // loopback (RFC 1122)
  ['169.254.0.0', 16], // link local (RFC 3927), cloud metadata services
  ['172.16.0.0', 12], // private use (RFC 1918)
  ['192.0.0.0', 24], // IETF protocol assignments (RFC 6890)
  ['192.0.2.0', 24], // documentation TEST-NET-1 (RFC 5737)
  ['192.31.196.0', 24], // AS112-v4 (RFC 7535)
  ['192.52.193.0', 24], // AMT (RFC 7450)
  ['192.88.99.0', 24], // deprecated 6to4 relay anycast (RFC 7526)
  ['192.168.0.0', 16], // private use (RFC 1918)
  ['192.175.48.0', 24], // direct delegation AS112 (RFC 7534)
  ['198.18.0.0', 15], // benchmarking (RFC 2544)
  ['198.51.100.0', 24], // documentation TEST-NET-2 (RFC 5737)
  ['203.0.113.0', 24], // documentation TEST-NET-3 (RFC 5737)
  ['224.0.0.0', 4], // multicast (RFC 5771)
  ['240.0.0.0', 4], // reserved (RFC 1112), includes 255.255.255.255 limited broadcast
];

/**
 * IANA IPv6 Special-Purpose Address Registry (RFC 6890), every entry, including the forms that
 * carry an IPv4 address (mapped, compatible, NAT64, 6to4, Teredo). Anything outside 2000::/3,
 * the only global unicast space IANA allocates (RFC 4291 §2.4), is refused before this table is
 * read; the entries outside it are listed so the table is the registry.
 */
export const SPECIAL_PURPOSE_IPV6: readonly Cidr[] = [
  ['::', 128], // unspecified (RFC 4291)
  ['::1', 128], // loopback (RFC 4291)
  ['::', 96], // IPv4-compatible, deprecated (RFC 4291 §2.5.5.1)
  ['::ffff:0:0', 96], // IPv4-mapped (RFC 4291 §2.5.5.2)
  ['64:ff9b::', 96], // IPv4/IPv6 translation, NAT64 (RFC 6052)
  ['64:ff9b:1::', 48], // local-use IPv4/IPv6 translation (RFC 8215)
  ['100::', 64], // discard-only (RFC 6666)
  ['100:0:0:1::', 64], // dummy prefix (RFC 9780)
  ['2001::', 23], // IETF protocol assignments (RFC 2928): Teredo 2001::/32 (RFC 4380), benchmarking, AMT, AS112, ORCHID
  ['2001:db8::', 32], // documentation (RFC 3849)
  ['2002::', 16], // 6to4 (RFC 3056)
  ['2620:4f:8000::', 48], // direct delegation AS112 (RFC 7534)
  ['3fff::', 20], // documentation (RFC 9637)
  ['5f00::', 16], // segment routing SIDs (RFC 9602)
  ['fc00::', 7], // unique local (RFC 4193)
  ['fe80::', 10], // link-local unicast (RFC 4291)
  ['fec0::', 10], // site-local, deprecated (RFC 3879)
  ['ff00::', 8], // multicast (RFC 4291)
];

const GLOBAL_UNICAST_V6: Cidr = ['2000::', 3];

/** RFC 1123 §2.1 labels (letters, digits, hyphens; A-labels are of this form), at most 63 octets. */
const LDH_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
/** The WHATWG parser's "ends in a number": such a host is an IPv4 address, never a name. */
const NUMERIC_LABEL = /^(?:0x[0-9a-f]*|[0-9]+)$/;

/** Undefined when `hostname` may be fetched from; otherwise why not. */
export function hostRefusal(hostname: string): HostRefusal | undefined {
  const host = hostname.toLowerCase();
  if (host.startsWith('[') && host.endsWith(']')) {
    const address = parseIpv6(host.slice(1, -1));
    if (address === undefined) return 'not a DNS host name';
    if (!inCidr(address, GLOBAL_UNICAST_V6, 128) || SPECIAL_PURPOSE_IPV6.some((cidr) => inCidr(address, cidr, 128))) return 'special-purpose IPv6 address';
    return undefined;
  }
  if (host.endsWith('.')) return 'trailing dot';
  const labels = host.split('.');
  if (NUMERIC_LABEL.test(labels[labels.length - 1]!)) {
    const address = parseIpv4(host);
    if (address === undefined) return 'not a DNS host name'; // a numeric spelling the URL parser would have rewritten
    return SPECIAL_PURPOSE_IPV4.some((cidr) => inCidr(address, cidr, 32)) ? 'special-purpose IPv4 address' : undefined;
  }
  if (host.length > 253 || !labels.every((label) => LDH_LABEL.test(label))) return 'not a DNS host name';
  if (labels.length < 2) return 'single-label name';
  if (SPECIAL_USE_DOMAINS.some((domain) => host === domain || host.endsWith(`.${domain}`))) return 'special-use domain name';
  if (PRIVATE_USE_DOMAINS.includes(labels[labels.length - 1]!)) return 'private-use domain name';
  return undefined;
}

function inCidr(address: bigint, [prefix, bits]: Cidr, width: 32 | 128): boolean {
  const base = width === 32 ? parseIpv4(prefix) : parseIpv6(prefix);
  if (base === undefined) throw new Error(`bad table entry ${prefix}/${bits}`);
  const shift = BigInt(width - bits);
  return address >> shift === base >> shift;
}

import { formatIpv4, parseIpv4, parseIpv6 } from '../protocol/ip-address.js';

/**
 * Where the client address of a request comes from, for rate limiting.
 *
 * - `auto` (default): `CF-Connecting-IP` when the request came through Cloudflare, which is
 *   when `request.cf` is set (Cloudflare's edge sets both; so does `wrangler dev`). Elsewhere
 *   (self-hosted workerd, tests) the header is whatever the caller sent, so there is no address.
 * - `cloudflare`: `CF-Connecting-IP` always (the worker is only reachable through Cloudflare).
 * - `{ header }`: a header your own proxy sets to the client's address, overwriting any sent.
 * - a function of the request, for anything else (e.g. the last `X-Forwarded-For` hop).
 *
 * Without an address a request is not rate limited: one shared bucket would let any caller
 * lock every user out.
 */
export type ClientAddressSource = 'auto' | 'cloudflare' | { header: string } | ((request: Request) => string | undefined);

/** Reads a request's rate-limit address: normalised by `rateLimitAddress`, or undefined. */
export type ClientAddressReader = (request: Request) => string | undefined;

const CF_CONNECTING_IP = 'CF-Connecting-IP';

export function isClientAddressSource(source: unknown): source is ClientAddressSource {
  if (source === 'auto' || source === 'cloudflare' || typeof source === 'function') return true;
  if (typeof source !== 'object' || source === null) return false;
  const { header } = source as { header?: unknown };
  return typeof header === 'string' && /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(header); // RFC 9110 §5.6.2 token
}

export function clientAddressReader(source: ClientAddressSource): ClientAddressReader {
  const raw: (request: Request) => string | null | undefined =
    source === 'auto'
      ? (request) => ((request as { cf?: unknown }).cf ? request.headers.get(CF_CONNECTING_IP) : undefined)
      : source === 'cloudflare'
        ? (request) => request.headers.get(CF_CONNECTING_IP)
        : typeof source === 'function'
          ? source
          : (request) => request.headers.get(source.header);
  return (request) => {
    const value = raw(request);
    return typeof value === 'string' ? rateLimitAddress(value) : undefined;
  };
}

const OPAQUE_KEY = /^[\x21-\x7E]{1,256}$/;

/**
 * The bucket of an address: an IPv4 address as it is; an IPv6 address by its /64, the
 * smallest prefix one subscriber is normally given (RFC 4291 §2.5.4), so rotating the interface
 * identifier escapes nothing; an IPv4-mapped IPv6 address (RFC 4291 §2.5.5.2) as its IPv4
 * address. Any other value (from a custom source) is an opaque key when it is 1-256 visible
 * ASCII characters; otherwise there is no address.
 */
export function rateLimitAddress(value: string): string | undefined {
  const v4 = parseIpv4(value);
  if (v4 !== undefined) return formatIpv4(v4);
  const v6 = parseIpv6(value.startsWith('[') && value.endsWith(']') ? value.slice(1, -1) : value);
  if (v6 !== undefined) {
    if (v6 >> 32n === 0xffffn) return formatIpv4(v6 & 0xffffffffn);
    const prefix = v6 >> 64n;
    return `${[48n, 32n, 16n, 0n].map((shift) => ((prefix >> shift) & 0xffffn).toString(16)).join(':')}::/64`;
  }
  return OPAQUE_KEY.test(value) ? value : undefined;
}

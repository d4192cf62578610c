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

const IPV4 = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;
const OPAQUE_KEY = /^[\x21-\x7E]{1,256}$/;

/**
 * The bucket of an address: an IPv4 address as it is; an IPv6 address by its /64, the
 * smallest prefix one subscriber is normally given (RFC 4291 §2.5.4), so rotating the interface
 * identifier escapes nothing; an IPv4-mapped IPv6 address as its IPv4 address. Any other value
 * (from a custom source) is an opaque key when it is 1-256 visible ASCII characters; otherwise
 * there is no address.
 */
export function rateLimitAddress(value: string): string | undefined {
  if (IPV4.test(value)) return value;
  const v6 = ipv6Groups(value.startsWith('[') && value.endsWith(']') ? value.slice(1, -1) : value);
  if (v6) {
    // RFC 4291 §2.5.5.2: ::ffff:a.b.c.d
    if (v6.slice(0, 5).every((g) => g === 0) && v6[5] === 0xffff) return [v6[6]! >> 8, v6[6]! & 255, v6[7]! >> 8, v6[7]! & 255].join('.');
    return `${v6.slice(0, 4).map((g) => g.toString(16)).join(':')}::/64`;
  }
  return OPAQUE_KEY.test(value) ? value : undefined;
}

/** The eight 16-bit groups of an IPv6 address (RFC 4291 §2.2), or undefined if it is none. */
function ipv6Groups(text: string): number[] | undefined {
  if (!text.includes(':') || !/^[0-9A-Fa-f:.]+$/.test(text)) return undefined;
  let canonical: string;
  try {
    // The URL parser validates and canonicalises (lower case, `::`, a dotted tail as hex).
    canonical = new URL(`http://[${text}]/`).hostname.slice(1, -1);
  } catch {
    return undefined;
  }
  const [head, tail] = canonical.split('::') as [string, string | undefined];
  const part = (s: string | undefined) => (s ? s.split(':').map((g) => parseInt(g, 16)) : []);
  const left = part(head);
  const right = part(tail);
  const groups = tail === undefined ? left : [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
  return groups.length === 8 ? groups : undefined;
}

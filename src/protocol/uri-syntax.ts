/**
 * URIs this server sends a browser to, or fetches, must mean the same thing to every reader: the
 * text is a valid RFC 3986 URI, and the WHATWG URL parser (browsers, `fetch`, `new URL`) serialises
 * it back to the same text. Then a policy or a person reading the string sees the host that is
 * actually reached; `\`, raw Unicode, `%` without two hex digits, numeric IPv4 spellings, upper
 * case, default ports and dot segments can no longer make the two readings differ.
 */

// RFC 3986 §2.2, §2.3, §2.1
const UNRESERVED = 'A-Za-z0-9\\-._~';
const SUB_DELIMS = "!$&'()*+,;=";
const PCT_ENCODED = '%[0-9A-Fa-f]{2}';
const PCHAR = `(?:[${UNRESERVED}${SUB_DELIMS}:@]|${PCT_ENCODED})`;

/**
 * RFC 3986 §3 `scheme ":" "//" authority path-abempty [ "?" query ]`: an absolute URI with an
 * authority and no fragment. The IP-literal is only shaped here; the parser and the round trip
 * below decide the rest (IPvFuture is refused).
 */
const HIERARCHICAL_URI = new RegExp(
  '^[A-Za-z][A-Za-z0-9+\\-.]*:' + // scheme (§3.1)
    `//(?:(?:[${UNRESERVED}${SUB_DELIMS}:]|${PCT_ENCODED})*@)?` + // userinfo (§3.2.1)
    `(?:\\[[0-9A-Fa-f:.]+\\]|(?:[${UNRESERVED}${SUB_DELIMS}]|${PCT_ENCODED})*)` + // host (§3.2.2)
    '(?::[0-9]*)?' + // port (§3.2.3)
    `(?:/${PCHAR}*)*` + // path-abempty (§3.3)
    `(?:\\?(?:${PCHAR}|[/?])*)?$`, // query (§3.4)
);

export type UriForm = { url: URL } | { problem: 'syntax' | 'normalisation' };

/**
 * Parses `value` when it is an RFC 3986 `scheme://authority...` URI without a fragment whose
 * WHATWG serialisation (`href`) is the same string. The one difference tolerated is an empty path,
 * which RFC 3986 §6.2.3 makes equivalent to `/` (`http://localhost:3000`).
 */
export function parseUriStrictly(value: string): UriForm {
  if (!HIERARCHICAL_URI.test(value)) return { problem: 'syntax' };
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return { problem: 'syntax' };
  }
  if (url.href !== value && url.href !== withRootPath(value)) return { problem: 'normalisation' };
  return { url };
}

/** `scheme://authority` or `scheme://authority?query` with `/` as the path (RFC 3986 §6.2.3). */
function withRootPath(value: string): string {
  const start = value.indexOf('//') + 2;
  const end = value.slice(start).search(/[/?]/);
  if (end !== -1 && value[start + end] === '/') return value;
  const cut = end === -1 ? value.length : start + end;
  return `${value.slice(0, cut)}/${value.slice(cut)}`;
}

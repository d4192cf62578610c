import { OAuthError } from '../errors.js';
import { parseUriStrictly } from './uri-syntax.js';

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/** RFC 8252 §7.3 loopback hosts (host names as the WHATWG URL parser spells them). */
export function isLoopbackHost(hostname: string): boolean {
  return LOOPBACK_HOSTS.has(hostname.toLowerCase());
}

/**
 * Checks one redirect URI, wherever it enters (registration, metadata documents, configured
 * clients, /authorize; RFC 7591 §2, OAuth 2.1 §2.3.1): a valid RFC 3986 URI that the browser
 * will follow exactly as written (see uri-syntax.ts), no fragment, no credentials, https or
 * http on a loopback host.
 */
export function checkRedirectUriSyntax(value: unknown): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > 2000)
    throw new OAuthError('invalid_redirect_uri', 'Each redirect URI must be a non-empty string of at most 2000 characters.');
  // RFC 3986 §2: a URI has no spaces or control characters. The URL parser would silently drop
  // tabs/newlines and trim spaces, so the registered string and the parsed target could differ.
  if (/[\u0000-\u0020\u007f]/.test(value))
    throw new OAuthError('invalid_redirect_uri', 'Redirect URIs must not contain spaces or control characters (RFC 3986 §2).');
  if (value.includes('#')) throw new OAuthError('invalid_redirect_uri', 'Redirect URIs must not contain a fragment (OAuth 2.1 §2.3.1).');
  const form = parseUriStrictly(value);
  if ('problem' in form)
    throw new OAuthError(
      'invalid_redirect_uri',
      form.problem === 'syntax'
        ? 'Redirect URIs must be absolute URIs in RFC 3986 syntax: scheme://host, ASCII only, percent-encoding as %HH, no backslash (RFC 3986 section 2, 3).'
        : 'Redirect URIs must be written as browsers serialise them: lowercase scheme and host, no default or empty port, canonical IP addresses, no dot segments (RFC 3986 section 6.2).',
    );
  const { url } = form;
  if (url.username || url.password) throw new OAuthError('invalid_redirect_uri', 'Redirect URIs must not contain credentials.');
  const secure = url.protocol === 'https:';
  const loopback = url.protocol === 'http:' && isLoopbackHost(url.hostname);
  if (!secure && !loopback) throw new OAuthError('invalid_redirect_uri', 'Redirect URIs must use https, or http on localhost, 127.0.0.1 or [::1].');
  return value;
}

/**
 * Checks a URI against the operator's `allowedRedirectUris`. Rules see the parsed, normalised URL
 * (`href`), the string the browser is sent to, never the raw text (RFC 9700 §4.1.3): exact
 * strings are compared in that form too, and patterns are tested from the start every time
 * (a `g` or `y` flag keeps no state between calls).
 */
export function isAllowedByPolicy(uri: string, allowed: readonly (string | RegExp)[] | undefined): boolean {
  if (!allowed) return true;
  const href = normalisedHref(uri);
  if (href === undefined) return false;
  return allowed.some((rule) => {
    if (typeof rule === 'string') return normalisedHref(rule) === href;
    rule.lastIndex = 0;
    return rule.test(href);
  });
}

function normalisedHref(uri: string): string | undefined {
  try {
    return new URL(uri).href;
  } catch {
    return undefined;
  }
}

/**
 * Exact string match with a registered redirect URI, except that the port of an http loopback
 * URI may vary (RFC 8252 §7.3, OAuth 2.1 §8.4.2). Returns the registered URI that matched.
 */
export function matchRedirectUri(requested: string, registered: readonly string[]): string | undefined {
  if (registered.includes(requested)) return requested;
  if (!isHttpLoopback(requested)) return undefined;
  const wanted = stripPort(requested);
  return registered.find((candidate) => isHttpLoopback(candidate) && stripPort(candidate) === wanted);
}

function isHttpLoopback(uri: string): boolean {
  try {
    const url = new URL(uri);
    return url.protocol === 'http:' && isLoopbackHost(url.hostname);
  } catch {
    return false;
  }
}

/** Removes an explicit port from an absolute http URI string without re-serialising the rest. */
function stripPort(uri: string): string {
  return uri.replace(/^(http:\/\/(?:\[[^\]]+\]|[^/:?#]+)):\d+/i, '$1');
}

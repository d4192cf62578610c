import { OAuthError } from '../errors.js';

/**
 * Canonical form for comparing resource indicators (RFC 8707 §2, MCP spec): scheme and host
 * are case-insensitive (the URL parser lowercases them) and a bare origin's trailing slash is
 * not significant.
 */
export function canonicalResource(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return undefined;
  }
  if (value.includes('#')) return undefined;
  const href = url.href;
  return url.pathname === '/' && !url.search ? href.slice(0, -1) : href;
}

export function sameResource(a: string, b: string): boolean {
  const ca = canonicalResource(a);
  return ca !== undefined && ca === canonicalResource(b);
}

/**
 * RFC 8707 §2: picks the resource(s) a request names among the allowed ones. Absent → the
 * configured default. Returns the configured spelling, so tokens always carry one string.
 */
export function resolveResource(requested: readonly string[], allowed: readonly string[]): string {
  if (requested.length === 0) return allowed[0]!;
  if (requested.length > 1) throw new OAuthError('invalid_target', 'Only one resource may be requested per token.');
  const value = requested[0]!;
  if (canonicalResource(value) === undefined) throw new OAuthError('invalid_target', 'The resource must be an absolute URI without a fragment (RFC 8707 §2).');
  const match = allowed.find((candidate) => sameResource(candidate, value));
  if (!match) throw new OAuthError('invalid_target', 'The requested resource is not served by this authorization server.');
  return match;
}

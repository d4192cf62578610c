/**
 * Framework-neutral CORS policy of an MCP route, for browser-based MCP clients: which origins may
 * read its answers, and the headers a preflight allows and every answer exposes. The Hono and
 * Express `mcpCors` middlewares only apply it; nothing here imports a framework.
 */

/** Request headers an MCP client sends (MCP transports: Streamable HTTP, authorization; `Mcp-Method`, `Mcp-Name` from 2026-07-28). */
export const MCP_CORS_ALLOW_HEADERS = [
  'Authorization',
  'Content-Type',
  'Mcp-Session-Id',
  'MCP-Protocol-Version',
  'Last-Event-ID',
  'Mcp-Method',
  'Mcp-Name',
] as const;
/** Answer headers a browser client must read: the RFC 6750 challenge (RFC 9728 §5.1 discovery) and the session. */
export const MCP_CORS_EXPOSE_HEADERS = ['WWW-Authenticate', 'Mcp-Session-Id'] as const;
/** Streamable HTTP: POST messages, GET the event stream, DELETE the session; OPTIONS for the preflight. */
export const MCP_CORS_METHODS = ['GET', 'POST', 'DELETE', 'OPTIONS'] as const;

export interface McpCorsOptions {
  /**
   * The browser origins allowed to call the MCP route, e.g. `['https://app.example.com']`, or `'*'`
   * for any origin. Required: which web pages may drive the server with their users' tokens is the
   * operator's decision. `'*'` is safe from request forgery (the Bearer token is sent by script, never
   * by the browser on its own), and credentials (cookies) are never allowed with it or otherwise.
   */
  origins: readonly string[] | '*';
  /** More request headers to allow besides the MCP ones. */
  allowHeaders?: readonly string[];
  /** More answer headers to expose besides the MCP ones. */
  exposeHeaders?: readonly string[];
  /** How long a browser may cache a preflight answer, seconds (default 7200, Chromium's cap). */
  maxAgeSeconds?: number;
}

/** The CORS headers for one request's answer; empty when its origin is not allowed. */
export type CorsPolicy = (origin: string | null | undefined, preflight: boolean) => Record<string, string>;

// RFC 9110 §5.1: field-name = token
const FIELD_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/**
 * Fetch standard §3.2.2 (CORS-preflight request): OPTIONS with `Origin` and
 * `Access-Control-Request-Method`. A preflight never carries credentials, so it is never verified;
 * an OPTIONS without these headers is an ordinary request.
 */
export function isCorsPreflight(method: string, header: (name: string) => string | null | undefined): boolean {
  return method === 'OPTIONS' && !!header('Origin') && !!header('Access-Control-Request-Method');
}

/** Validates the options once and returns the per-request policy. */
export function createCorsPolicy(options: McpCorsOptions): CorsPolicy {
  const origins = allowedOrigins(options?.origins);
  const allowHeaders = headerList('allowHeaders', MCP_CORS_ALLOW_HEADERS, options.allowHeaders);
  const exposeHeaders = headerList('exposeHeaders', MCP_CORS_EXPOSE_HEADERS, options.exposeHeaders);
  const maxAge = options.maxAgeSeconds ?? 7200;
  if (!Number.isSafeInteger(maxAge) || maxAge < 0) throw new TypeError('mcpCors: maxAgeSeconds must be a whole number >= 0');

  const anyOrigin = origins === '*';
  // Fetch §3.2.5: an answer that depends on Origin says so, or a cache may serve it to another origin.
  const vary: Record<string, string> = anyOrigin ? {} : { Vary: 'Origin' };
  const preflightHeaders = {
    'Access-Control-Allow-Methods': MCP_CORS_METHODS.join(', '),
    'Access-Control-Allow-Headers': allowHeaders,
    'Access-Control-Max-Age': String(maxAge),
  };
  const answerHeaders = { 'Access-Control-Expose-Headers': exposeHeaders };

  return function corsHeaders(origin, preflight) {
    // Compared byte for byte: browsers send the serialised origin (Fetch §3.1), as the list holds it.
    if (!origin || (!anyOrigin && !origins.has(origin))) return { ...vary };
    return { 'Access-Control-Allow-Origin': anyOrigin ? '*' : origin, ...vary, ...(preflight ? preflightHeaders : answerHeaders) };
  };
}

function allowedOrigins(origins: McpCorsOptions['origins'] | undefined): Set<string> | '*' {
  if (origins === '*') return '*';
  if (!Array.isArray(origins) || origins.length === 0)
    throw new TypeError("mcpCors: origins is required: the browser origins of the MCP clients (e.g. ['https://app.example.com']), or '*' for any origin");
  const allowed = new Set<string>();
  for (const origin of origins) {
    // 'null' is the origin of sandboxed frames and file: pages, which any page can produce.
    if (typeof origin !== 'string' || origin === 'null' || origin === '*')
      throw new TypeError(`mcpCors: ${JSON.stringify(origin)} is not an origin; list origins, or pass '*' alone`);
    let url: URL;
    try {
      url = new URL(origin);
    } catch {
      throw new TypeError(`mcpCors: ${JSON.stringify(origin)} is not an origin (scheme://host[:port])`);
    }
    if ((url.protocol !== 'https:' && url.protocol !== 'http:') || url.origin !== origin.replace(/\/$/, '').toLowerCase())
      throw new TypeError(`mcpCors: ${JSON.stringify(origin)} is not an origin (scheme://host[:port], no path)`);
    allowed.add(url.origin);
  }
  return allowed;
}

function headerList(name: string, base: readonly string[], extra: readonly string[] | undefined): string {
  for (const header of extra ?? [])
    if (typeof header !== 'string' || !FIELD_NAME.test(header)) throw new TypeError(`mcpCors: ${name} holds an invalid header name ${JSON.stringify(header)}`);
  const seen = new Set(base.map((h) => h.toLowerCase()));
  return [...base, ...(extra ?? []).filter((h) => !seen.has(h.toLowerCase()) && seen.add(h.toLowerCase()))].join(', ');
}

import type { MiddlewareHandler } from 'hono';
import type { AppContext, AppEnv } from './context.js';
import { OAuthError } from '../errors.js';
import type { Logger } from '../log.js';
import type { ResolvedOptions } from '../options.js';

/** At most one warning per this many seconds per app (and so per isolate); the rest are counted. */
const WARN_INTERVAL_SECONDS = 60;

/** The origin (scheme, host, port) of a request URL, `null` when it has none. Pure. */
export function requestOrigin(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return 'null';
  }
}

/**
 * One warning for the operator when requests arrive under another origin than the issuer's,
 * then silence for a minute (counting what it did not log), so a flood of such requests cannot
 * flood the log. `now` in seconds.
 */
export function createMisdirectedWarning(issuerOrigin: string, now: () => number, logger: Logger): (origin: string) => void {
  let quietUntil = -Infinity;
  let suppressed = 0;
  return (origin) => {
    const t = now();
    if (t < quietUntil) {
      suppressed += 1;
      return;
    }
    logger.warn(
      'request origin differs from the issuer origin; answered 421: use the issuer origin, or set ISSUER to the origin clients reach (npm run dev: PORT=<port> sets both)',
      {
        requestOrigin: origin.slice(0, 300),
        issuerOrigin,
        ...(suppressed > 0 ? { suppressed } : {}),
      },
    );
    quietUntil = t + WARN_INTERVAL_SECONDS;
    suppressed = 0;
  };
}

/**
 * RFC 9110 §15.5.20: a request whose URL origin (scheme, host and port, as the Host header and
 * the connection made it) is not the issuer's is misdirected. This server is not the authority
 * for that origin, so it answers 421 and never serves it as the issuer: no metadata naming
 * another host, no keys, no forms, no codes. A proxy in front must forward the original Host.
 *
 * `page` answers browser endpoints (authorization, upstream callback) with an HTML page; the
 * others, all CORS endpoints, get an RFC 6749 §5.2 JSON error that a browser client can read.
 */
export function issuerOriginOnly(
  options: ResolvedOptions,
  warn: (origin: string) => void,
  page?: (c: AppContext, options: ResolvedOptions) => Response | Promise<Response>,
): MiddlewareHandler<AppEnv> {
  const expected = options.issuerUrl.origin;
  return async (c, next) => {
    const origin = requestOrigin(c.req.url);
    if (origin === expected) return next();
    warn(origin);
    if (page) return page(c, options);
    return new OAuthError('invalid_request', `This server answers only at its issuer origin ${expected}.`, {
      status: 421,
      headers: { 'Access-Control-Allow-Origin': '*' },
    }).toResponse();
  };
}

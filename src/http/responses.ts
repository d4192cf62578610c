import type { AppContext } from './context.js';

/**
 * A redirect that carries an authorization response (a code or an error) or leads to one: never
 * kept by a cache or the browser's history store (RFC 6749 §5.1 spirit, RFC 9700 §4.2.4).
 */
export function noStoreRedirect(c: AppContext, location: string, status: 302 | 303): Response {
  c.header('Cache-Control', 'no-store');
  c.header('Pragma', 'no-cache');
  return c.redirect(location, status);
}

/** JSON that must not be cached: token, introspection, registration responses (RFC 6749 §5.1). */
export function noStoreJson(c: AppContext, body: unknown, status: 200 | 201 = 200): Response {
  return c.json(body, status, { 'Cache-Control': 'no-store', Pragma: 'no-cache' });
}

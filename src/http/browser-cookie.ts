import { getCookie, setCookie } from 'hono/cookie';
import type { AppContext } from './context.js';

/** The cookies that bind a step of an authorization to the browser that started it. */
export type BrowserCookie = 'consent' | 'upstream' | 'sign-in';

/**
 * `__Host-mcp-auth-<cookie>` (RFC 6265bis §4.1.3.2: Secure, Path=/, no Domain), or the plain name
 * on a plain-http loopback issuer, where a browser refuses `Secure`.
 */
export function browserCookieName(c: AppContext, cookie: BrowserCookie): string {
  const name = `mcp-auth-${cookie}`;
  return c.var.services.options.insecureLoopback ? name : `__Host-${name}`;
}

/** Sets the cookie: HttpOnly, SameSite=Lax, Secure except on a plain-http loopback issuer. */
export function setBrowserCookie(c: AppContext, cookie: BrowserCookie, value: string, maxAgeSeconds: number): void {
  setCookie(c, browserCookieName(c, cookie), value, {
    path: '/',
    httpOnly: true,
    secure: !c.var.services.options.insecureLoopback,
    sameSite: 'Lax',
    maxAge: maxAgeSeconds,
  });
}

export function readBrowserCookie(c: AppContext, cookie: BrowserCookie): string | undefined {
  return getCookie(c, browserCookieName(c, cookie));
}

/** Tells the browser to drop the cookie. */
export function clearBrowserCookie(c: AppContext, cookie: BrowserCookie): void {
  setBrowserCookie(c, cookie, '', 0);
}

/** Reads the cookie and drops it: a single-use binding, whatever follows. */
export function takeBrowserCookie(c: AppContext, cookie: BrowserCookie): string | undefined {
  const value = readBrowserCookie(c, cookie);
  clearBrowserCookie(c, cookie);
  return value;
}

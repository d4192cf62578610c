import type { AppContext } from '../http/context.js';
import { OAuthError } from '../errors.js';
import { randomToken } from '../crypto.js';
import { checkClientAndRedirect } from '../protocol/authorization-request.js';
import { verifyPendingSignIn } from '../principal/pending-sign-in.js';
import { takeBrowserCookie } from '../http/browser-cookie.js';
import { consentStep, errorPage, principalRefusal } from './authorize.js';

/**
 * GET /authorize/resume: a login flow started by a `SignInRedirect` comes back. The pending
 * authorization must come from this browser's cookie, carry our MAC, be unexpired and unused
 * (RFC 9700 §4.12 single use); its client and redirect URI must still be valid. Only then is the
 * resolver asked who signed in, and the consent step runs as for GET /authorize. Every refusal
 * is a page: nothing is sent to a redirect URI that was not re-validated (OAuth 2.1 §4.1.2.1).
 */
export async function resumeAuthorization(c: AppContext): Promise<Response> {
  const services = c.var.services;
  const { options } = services;
  const nonce = randomToken(16);
  const refusal = principalRefusal(c, options);
  if (refusal) return errorPage(c, nonce, refusal, 403);
  const { principal: resolver } = options;
  if (!resolver.resume) return errorPage(c, nonce, 'This server does not sign users in through another page.');

  // The pending authorization is single use: the cookie goes, whatever follows.
  const cookie = takeBrowserCookie(c, 'sign-in');
  if (!cookie) return errorPage(c, nonce, 'This sign-in does not belong to this browser session. Start again from the application.', 403);
  const keys = await services.keys();
  const now = services.now();
  const pending = await verifyPendingSignIn(cookie, { keys: keys.consentKeys, issuer: options.issuer, now });
  if (!pending) return errorPage(c, nonce, 'This sign-in has expired or was tampered with. Start again from the application.');
  // The consent forms' single-use record, under the pending authorization's own id.
  if (!(await services.consent(pending.pid).useConsent({ decision: 'approve', expiresAt: pending.exp, now })))
    return errorPage(c, nonce, 'This sign-in was already used. Start again from the application.');

  const request = pending.req;
  const client = await services.clients.get(request.clientId);
  try {
    checkClientAndRedirect(new URLSearchParams({ client_id: request.clientId, redirect_uri: request.redirectUri }), client, options.allowedRedirectUris);
  } catch (err) {
    if (err instanceof OAuthError) return errorPage(c, nonce, err.description ?? err.code);
    throw err;
  }

  const principal = await resolver.resume({ request: c.req.raw, env: c.env, state: pending.state });
  return consentStep(c, client!, request, principal, { signedIn: true });
}

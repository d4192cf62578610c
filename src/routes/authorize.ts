import { browserCookieName, clearBrowserCookie, readBrowserCookie, setBrowserCookie } from '../http/browser-cookie.js';
import type { AppContext } from '../http/context.js';
import { readForm, rejectRepeatedParameters } from '../http/request-body.js';
import { noStoreRedirect } from '../http/responses.js';
import { OAuthError } from '../errors.js';
import { randomToken, sha256, timingSafeEqual } from '../crypto.js';
import { authorizationResponseUrl, checkAuthorizationRequest, checkClientAndRedirect, type AuthorizationRequest } from '../protocol/authorization-request.js';
import { isLoopbackHost } from '../protocol/redirect-uri.js';
import { renderConsentPage, renderErrorPage } from '../ui/consent-page.js';
import type { ClientRecord } from '../storage/client-store.js';
import { isClientIdUrl } from '../clients/metadata-document.js';
import { signConsentRequest, verifyConsentRequest } from '../tokens/consent-request.js';
import type { ResolvedOptions } from '../options.js';
import { isSignInRedirect, type Principal, type SignInRedirect } from '../principal/types.js';
import {
  PENDING_SIGN_IN_SECONDS,
  MAX_PENDING_COOKIE,
  signInRedirectProblem,
  SIGN_IN_RESUME_PATH,
  signPendingSignIn,
  signSignedInPrincipal,
  verifySignedInPrincipal,
} from '../principal/pending-sign-in.js';
import type { AuthorityBrowserRoute } from '../authority/types.js';

const CONSENT_TTL_SECONDS = 600;

/** Anti-framing and a script-free CSP on every page this server renders (RFC 9700 §4.16). */
function securePage(c: AppContext, nonce: string, body: unknown, status: 200 | 400 | 403 | 421, formTargets: string[] = []): Response | Promise<Response> {
  // CSP form-action also governs the redirects after the POST (to the client, or to Grantex).
  const formAction = ["'self'", ...new Set(formTargets.map((target) => new URL(target).origin))].join(' ');
  c.header(
    'Content-Security-Policy',
    `default-src 'none'; style-src 'nonce-${nonce}'; img-src https: data:; form-action ${formAction}; frame-ancestors 'none'; base-uri 'none'`,
  );
  c.header('X-Frame-Options', 'DENY');
  c.header('X-Content-Type-Options', 'nosniff');
  c.header('Referrer-Policy', 'no-referrer');
  c.header('Cache-Control', 'no-store');
  return c.html(body as string | Promise<string>, status);
}

export function errorPage(c: AppContext, nonce: string, message: string, status: 400 | 403 = 400) {
  const { appName } = c.var.services.options.consentUi;
  return securePage(c, nonce, renderErrorPage({ appName, title: 'This request cannot be completed', message, nonce }), status);
}

/**
 * RFC 9110 §15.5.20: a browser request that reached this server under another origin than the
 * issuer's (a foreign Host, a proxy that rewrote it, a deployment at an address the issuer does
 * not name). It is answered with a page for the operator, never with the issuer's forms.
 */
export function misdirectedPage(c: AppContext, options: ResolvedOptions): Response | Promise<Response> {
  const nonce = randomToken(16);
  const message =
    `This authorization server answers only at its issuer, ${options.issuer}. If you run it: set ISSUER (the issuer option) to the address users reach, ` +
    'and behind a proxy forward the original Host header. Outside localhost, sign users in with cloudflareAccess or customPrincipal; ' +
    'developmentSignIn({ force: true }) is for testing only.';
  return securePage(
    c,
    nonce,
    renderErrorPage({ appName: options.consentUi.appName, title: 'This address does not belong to this server', message, nonce }),
    421,
  );
}

/** The principal resolver refuses this request (development sign-in off its loopback origin): a page for the operator. */
export function principalRefusal(c: AppContext, options: ResolvedOptions): string | undefined {
  return options.principal.refusal?.({ requestUrl: new URL(c.req.url), issuerUrl: options.issuerUrl });
}

/** GET /authorize (OAuth 2.1 §4.1.1): validate, identify the user, show the consent page. */
export async function showConsent(c: AppContext): Promise<Response> {
  const services = c.var.services;
  const { options } = services;
  const nonce = randomToken(16);
  const params = new URL(c.req.url).searchParams;
  const refusal = principalRefusal(c, options);
  if (refusal) return errorPage(c, nonce, refusal, 403);

  let client: ClientRecord | undefined;
  let redirectUri: string;
  try {
    rejectRepeatedParameters(params, ['resource']);
    const clientId = params.get('client_id');
    client = clientId ? await services.clients.get(clientId) : undefined;
    redirectUri = checkClientAndRedirect(params, client, options.allowedRedirectUris);
  } catch (err) {
    // OAuth 2.1 §4.1.2.1: until the client and its redirect URI are trusted, errors are a page.
    if (err instanceof OAuthError) return errorPage(c, nonce, err.description ?? err.code);
    throw err;
  }

  let request: AuthorizationRequest;
  try {
    request = checkAuthorizationRequest(params, client!, redirectUri, options);
  } catch (err) {
    if (!(err instanceof OAuthError)) throw err;
    return noStoreRedirect(
      c,
      authorizationResponseUrl(redirectUri, options.issuer, { error: err.code, error_description: err.description, state: params.get('state') ?? undefined }),
      302,
    );
  }

  const answer = await options.principal.resolve({ request: c.req.raw, env: c.env, resumeUrl: `${options.issuer}${SIGN_IN_RESUME_PATH}` });
  if (isSignInRedirect(answer)) return startSignIn(c, request, answer);
  return consentStep(c, client!, request, answer);
}

/**
 * A login flow first (`SignInRedirect`): the validated request waits, MACed, in a cookie of this
 * browser; the login flow comes back to /authorize/resume (src/routes/sign-in.ts).
 */
async function startSignIn(c: AppContext, request: AuthorizationRequest, answer: SignInRedirect): Promise<Response> {
  const services = c.var.services;
  const { options } = services;
  const problem = signInRedirectProblem(answer);
  if (problem) throw new Error(`mcp-auth-edge: principal ${options.principal.kind} answered a sign-in redirect that cannot be followed: ${problem}`);
  if (!options.principal.resume) throw new Error(`mcp-auth-edge: principal ${options.principal.kind} answered a sign-in redirect but has no resume`);
  const keys = await services.keys();
  const pending = await signPendingSignIn(
    { req: request, pid: randomToken(16), state: answer.state },
    { keys: keys.consentKeys, issuer: options.issuer, now: services.now() },
  );
  // A browser drops a larger cookie silently; the client hears why instead (OAuth 2.1 §4.1.2.1).
  if (browserCookieName(c, 'sign-in').length + pending.length > MAX_PENDING_COOKIE)
    return noStoreRedirect(
      c,
      authorizationResponseUrl(request.redirectUri, options.issuer, {
        error: 'invalid_request',
        error_description: 'The authorization request is too large to sign in with.',
        state: request.state,
      }),
      302,
    );
  setBrowserCookie(c, 'sign-in', pending, PENDING_SIGN_IN_SECONDS);
  return noStoreRedirect(c, answer.signInAt, 302);
}

/**
 * The validated request and who the user is (or nobody): `access_denied`, Grantex, or the consent
 * page. `signedIn`: the user came back from a login flow, and the form carries them MACed.
 */
export async function consentStep(
  c: AppContext,
  client: ClientRecord,
  request: AuthorizationRequest,
  principal: Principal | undefined,
  { signedIn = false } = {},
): Promise<Response> {
  const services = c.var.services;
  const { options } = services;
  const nonce = randomToken(16);
  const redirectUri = request.redirectUri;
  if (!principal && !options.principal.signInField) {
    return noStoreRedirect(
      c,
      authorizationResponseUrl(redirectUri, options.issuer, { error: 'access_denied', error_description: 'The user is not signed in.', state: request.state }),
      302,
    );
  }
  // An authority with its own consent page (Grantex) asks a known user there, not here.
  if (principal && services.authority.ownConsentPage) return services.authority.startAuthorization(c, request, principal);

  // The form carries the validated request, MACed (never with a published key) and bound to a
  // cookie of this browser; `cid` names the record of its single use.
  const csrf = randomToken(32);
  const cid = randomToken(16);
  const keys = await services.keys();
  const signed = await signConsentRequest(
    { req: request, csrf: await sha256(csrf), cid },
    { keys: keys.consentKeys, issuer: options.issuer, now: services.now(), ttlSeconds: CONSENT_TTL_SECONDS },
  );
  const signedInPrincipal =
    signedIn && principal
      ? await signSignedInPrincipal({ principal, cid, keys: keys.consentKeys, issuer: options.issuer, now: services.now(), ttlSeconds: CONSENT_TTL_SECONDS })
      : undefined;
  setBrowserCookie(c, 'consent', csrf, CONSENT_TTL_SECONDS);

  const redirectHost = new URL(redirectUri).host;
  const page = renderConsentPage({
    ui: options.consentUi,
    clientName: client.client_name ?? client.client_id,
    clientDocumentHost: isClientIdUrl(client.client_id) ? new URL(client.client_id).host : undefined,
    redirectHost,
    // MCP 2026-07-28 security considerations: whatever listens on this computer gets the code.
    loopbackRedirect: isLoopbackHost(new URL(redirectUri).hostname),
    scopes: request.scopes.map((name) => ({ name, description: options.scopeDescriptions[name] })),
    resource: request.resource,
    request: signed,
    action: `${options.basePath}/authorize`,
    principalName: principal?.displayName ?? principal?.id,
    askForName: !principal && options.principal.signInField === true,
    signedInPrincipal,
    nonce,
  });
  // The form's POST may answer 303 to the authority's consent page (Grantex), on one of its consent origins.
  return securePage(c, nonce, page, 200, [redirectUri, ...services.authority.consentOrigins]);
}

/** POST /authorize: the consent decision. CSRF-checked, then 303 to the client (RFC 9700 §4.12). */
export async function decideConsent(c: AppContext): Promise<Response> {
  const services = c.var.services;
  const { options } = services;
  const nonce = randomToken(16);

  // A cross-site form post is refused outright (Fetch Metadata / Origin), before any parsing.
  const site = c.req.header('Sec-Fetch-Site');
  const origin = c.req.header('Origin');
  if (site === 'cross-site' || (origin && origin !== 'null' && origin !== options.issuerUrl.origin))
    return errorPage(c, nonce, 'The approval did not come from this site.', 403);
  const refusal = principalRefusal(c, options);
  if (refusal) return errorPage(c, nonce, refusal, 403);

  const form = await readForm(c);
  const keys = await services.keys();
  const consent = await verifyConsentRequest(form.get('request') ?? '', { keys: keys.consentKeys, issuer: options.issuer, now: services.now() });
  if (!consent) return errorPage(c, nonce, 'This approval form has expired or was tampered with. Start again from the application.');
  const request: AuthorizationRequest = consent.req;
  const cookie = readBrowserCookie(c, 'consent');
  if (!cookie || !timingSafeEqual(await sha256(cookie), consent.csrf))
    return errorPage(c, nonce, 'This approval form does not belong to this browser session. Start again from the application.', 403);

  const client = await services.clients.get(request.clientId);
  if (!client) return errorPage(c, nonce, 'This application is no longer registered.');

  /** RFC 9700 §4.12: the first decision on this form wins; false when it was already decided. */
  const decide = (decision: 'approve' | 'deny') => services.consent(consent.cid).useConsent({ decision, expiresAt: consent.exp, now: services.now() });
  const alreadyUsed = () => errorPage(c, nonce, 'This approval form was already used. Start again from the application.');
  const respond = (params: Record<string, string | undefined>) => {
    clearBrowserCookie(c, 'consent');
    return noStoreRedirect(c, authorizationResponseUrl(request.redirectUri, options.issuer, { ...params, state: request.state }), 303);
  };

  if (form.get('action') !== 'approve') {
    if (!(await decide('deny'))) return alreadyUsed();
    return respond({ error: 'access_denied', error_description: 'The user denied the request.' });
  }

  // A user signed in by a login flow comes with the form, MACed and bound to it; otherwise the resolver says.
  const signedIn = form.get('principal');
  let principal: Principal | undefined;
  if (signedIn !== null && options.principal.resume) {
    principal = await verifySignedInPrincipal(signedIn, { keys: keys.consentKeys, issuer: options.issuer, now: services.now(), cid: consent.cid });
    if (!principal) return errorPage(c, nonce, 'This approval form has expired or was tampered with. Start again from the application.');
  } else {
    const answer = await options.principal.resolve({ request: c.req.raw, env: c.env, form, resumeUrl: `${options.issuer}${SIGN_IN_RESUME_PATH}` });
    principal = isSignInRedirect(answer) ? undefined : answer;
  }
  if (!principal) {
    // A name that was not accepted decides nothing: the same form may be sent again.
    if (options.principal.signInField) return errorPage(c, nonce, "Enter a name (letters, digits, spaces, . _ @ ' -; at most 64) to sign in.");
    if (!(await decide('deny'))) return alreadyUsed();
    return respond({ error: 'access_denied', error_description: 'The user is not signed in.' });
  }
  if (!(await decide('approve'))) return alreadyUsed();

  // RFC 9700 §4.12: 303 to the client with a code (local), or on to the authority's consent (Grantex).
  clearBrowserCookie(c, 'consent');
  return services.authority.startAuthorization(c, request, principal);
}

/** A browser route of the grant authority (the Grantex callback), its errors on this server's error page. */
export function authorityPage(route: AuthorityBrowserRoute): (c: AppContext) => Promise<Response> {
  return (c) => {
    const nonce = randomToken(16);
    return route.handle(c, (message) => errorPage(c, nonce, message));
  };
}

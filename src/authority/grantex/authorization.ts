import { setBrowserCookie, takeBrowserCookie } from '../../http/browser-cookie.js';
import type { AppContext } from '../../http/context.js';
import { noStoreRedirect } from '../../http/responses.js';
import { OAuthError } from '../../errors.js';
import { randomToken, seal, sha256, unseal } from '../../crypto.js';
import { s256 } from '../../protocol/pkce.js';
import { authorizationResponseUrl, type AuthorizationRequest } from '../../protocol/authorization-request.js';
import type { Principal } from '../../principal/types.js';
import { grantIdOf } from '../../storage/keys.js';
import { checkConsentUrl, upstreamError, type GrantexAuthority } from './config.js';
import { GrantexError } from './client.js';
import { approvedGrant } from '../../grants/grant-record.js';

/** How long a user has for the upstream consent. */
const UPSTREAM_CONSENT_SECONDS = 600;

/** Where Grantex sends the user back (under the issuer; registered as the Grantex `redirectUri`). */
export const CALLBACK_PATH = '/grantex/callback';

export function upstreamCallbackUrl(options: { issuer: string }): string {
  return `${options.issuer}${CALLBACK_PATH}`;
}

/**
 * Grantex mode, once the request is valid and the user known: `POST /v1/authorize` with our
 * callback as redirect, the resource as audience and PKCE of our own; remember the request; send
 * the user to Grantex's consent page (sandbox or policy: a code at once, no detour).
 */
export async function startUpstreamAuthorization(
  c: AppContext,
  authority: GrantexAuthority,
  request: AuthorizationRequest,
  principal: Principal,
): Promise<Response> {
  const services = c.var.services;
  const { options } = services;
  const grantId = randomToken(16);
  const state = `${grantId}.${randomToken(32)}`;
  const verifier = randomToken(32);
  const browser = randomToken(32);
  const answerClient = (error: string, description: string) =>
    noStoreRedirect(c, authorizationResponseUrl(request.redirectUri, options.issuer, { error, error_description: description, state: request.state }), 303);

  let started;
  let consentUrl = '';
  try {
    started = await authority.api.authorize({
      agentId: authority.agentId,
      principalId: principal.id,
      scopes: request.scopes,
      audience: request.resource,
      expiresIn: authority.grantLifetime,
      redirectUri: upstreamCallbackUrl(options),
      codeChallenge: await s256(verifier),
      codeChallengeMethod: 'S256',
      state,
    });
    // Followed only on the configured consent origins (also what the consent form's CSP allows).
    if (!started.code) consentUrl = checkConsentUrl(authority, started.consentUrl, options.logger);
  } catch (err) {
    if (err instanceof GrantexError && err.status === 403) return answerClient('access_denied', 'The grant authority refused the request.');
    const mapped = upstreamError(err, new OAuthError('server_error', 'The grant authority could not start the authorization.'), options.logger);
    return answerClient(mapped.code === 'temporarily_unavailable' ? 'temporarily_unavailable' : 'server_error', mapped.description ?? mapped.code);
  }

  const now = services.now();
  // No code of ours until the upstream consent comes back; the pending request expires with it.
  await services.createGrant(
    approvedGrant(
      request,
      principal.id,
      { grantId, codeHash: '', codeExpiresAt: now + UPSTREAM_CONSENT_SECONDS, now },
      {
        client_state: request.state ?? null,
        upstream_state_hash: await sha256(state),
        upstream_browser_hash: started.code ? null : await sha256(browser),
        upstream_sealed: await seal(verifier, state),
      },
    ),
  );
  if (started.code) return completeUpstream(c, { state, upstreamCode: started.code });

  setBrowserCookie(c, 'upstream', browser, UPSTREAM_CONSENT_SECONDS);
  return noStoreRedirect(c, consentUrl, 303);
}

/**
 * GET /grantex/callback: Grantex sends the user back with `code` and our `state`. The state is
 * single-use and bound to the browser that left; then the MCP client gets a code of ours.
 */
export async function upstreamCallback(c: AppContext, pageError: (message: string) => Response | Promise<Response>): Promise<Response> {
  const params = new URL(c.req.url).searchParams;
  const state = params.get('state') ?? '';
  if (!grantIdOf(state)) return pageError('This sign-in link is not valid. Start again from the application.');
  const browser = takeBrowserCookie(c, 'upstream');
  const code = params.get('code');
  if (!code) {
    const services = c.var.services;
    const cancelled = await services.upstreamGrant(grantIdOf(state)!).cancelUpstreamAuthorization({
      stateHash: await sha256(state),
      browserHash: browser ? await sha256(browser) : undefined,
      now: services.now(),
    });
    if (!cancelled) return pageError('This sign-in link was already used or has expired. Start again from the application.');
    return noStoreRedirect(
      c,
      authorizationResponseUrl(cancelled.redirect_uri, services.options.issuer, {
        error: 'access_denied',
        error_description: 'The user denied the request.',
        state: cancelled.client_state ?? undefined,
      }),
      303,
    );
  }
  return completeUpstream(c, { state, upstreamCode: code, browser }, pageError);
}

async function completeUpstream(
  c: AppContext,
  input: { state: string; upstreamCode: string; browser?: string },
  pageError: (message: string) => Response | Promise<Response> = () =>
    new OAuthError('invalid_request', 'The authorization could not be completed.').toResponse(),
): Promise<Response> {
  const services = c.var.services;
  const grantId = grantIdOf(input.state)!;
  const stub = services.upstreamGrant(grantId);
  const now = services.now();
  const match = { stateHash: await sha256(input.state), browserHash: input.browser ? await sha256(input.browser) : undefined, now };
  const pending = await stub.pendingUpstreamAuthorization(match);
  const verifier = pending?.upstream_sealed ? await unseal(pending.upstream_sealed, input.state) : undefined;
  if (!verifier) return pageError('This sign-in link was already used, has expired, or belongs to another browser. Start again from the application.');

  const code = `${grantId}.${randomToken(32)}`;
  const grant = await stub.completeUpstreamAuthorization({
    ...match,
    codeHash: await sha256(code),
    sealed: await seal(JSON.stringify({ code: input.upstreamCode, verifier }), code),
    codeExpiresAt: now + services.options.codeExpirationSeconds,
  });
  if (!grant) return pageError('This sign-in link was already used. Start again from the application.');
  return noStoreRedirect(c, authorizationResponseUrl(grant.redirect_uri, services.options.issuer, { code, state: grant.client_state ?? undefined }), 303);
}

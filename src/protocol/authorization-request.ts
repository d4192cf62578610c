import { OAuthError } from '../errors.js';
import type { ClientRecord } from '../storage/client-store.js';
import { checkRedirectUriSyntax, isAllowedByPolicy, matchRedirectUri } from './redirect-uri.js';
import { checkCodeChallenge } from './pkce.js';
import { parseScope, resolveRequestedScopes, scopeCeiling } from './scope.js';
import { resolveResource } from './resource.js';

/** A validated authorization request (OAuth 2.1 §4.1.1). */
export interface AuthorizationRequest {
  clientId: string;
  redirectUri: string;
  scopes: string[];
  resource: string;
  state?: string;
  codeChallenge: string;
}

/** An error that must not be sent to the redirect URI: shown as a page instead (OAuth 2.1 §4.1.2.1). */
function untrustedRedirect(description: string): OAuthError {
  return new OAuthError('invalid_request', description, { redirect: false });
}

const MAX_STATE = 1024;

/**
 * Step 1: the client and its redirect URI. Until both are known good nothing is sent to the
 * redirect URI (no open redirects).
 */
export function checkClientAndRedirect(
  params: URLSearchParams,
  client: ClientRecord | undefined,
  allowedRedirectUris: readonly (string | RegExp)[] | undefined,
): string {
  if (!params.get('client_id')) throw untrustedRedirect('The request has no client_id.');
  if (!client) throw untrustedRedirect('This application is not registered with the authorization server.');
  const requested = params.get('redirect_uri');
  // OAuth 2.1 §4.1.1: redirect_uri may be omitted only when exactly one is registered.
  if (!requested && client.redirect_uris.length !== 1) throw untrustedRedirect('The request has no redirect_uri.');
  const registered = requested ? matchRedirectUri(requested, client.redirect_uris) : client.redirect_uris[0]!;
  if (!registered) throw untrustedRedirect('The redirect_uri does not match any redirect URI registered for this application.');
  const target = requested || registered;
  // RFC 9700 §4.1.3: whatever the source of the registration (a record stored before these
  // checks, a configured client, a metadata document), the browser is only sent to a valid
  // RFC 3986 URI, and the policy judges the URL the browser is sent to.
  try {
    checkRedirectUriSyntax(target);
  } catch (err) {
    if (err instanceof OAuthError) throw untrustedRedirect(err.description ?? 'The redirect_uri is not a valid redirect URI.');
    throw err;
  }
  if (!isAllowedByPolicy(registered, allowedRedirectUris))
    throw untrustedRedirect('The redirect_uri is not allowed by the redirect URI policy of this server.');
  return target;
}

/** Step 2: everything else; failures here are redirected to the client with `error`. */
export function checkAuthorizationRequest(
  params: URLSearchParams,
  client: ClientRecord,
  redirectUri: string,
  server: { scopes: readonly string[]; defaultScopes: readonly string[]; resources: readonly string[]; clients?: readonly ClientRecord[] },
): AuthorizationRequest {
  const responseType = params.get('response_type');
  if (!responseType) throw new OAuthError('invalid_request', 'response_type is required.');
  if (responseType !== 'code') throw new OAuthError('unsupported_response_type', 'Only response_type=code is supported.');
  if (!client.grant_types.includes('authorization_code')) throw new OAuthError('unauthorized_client', 'This client may not use the authorization code grant.');
  const codeChallenge = checkCodeChallenge(params.get('code_challenge') ?? undefined, params.get('code_challenge_method') ?? undefined);
  const state = params.get('state') ?? undefined;
  if (state !== undefined && state.length > MAX_STATE) throw new OAuthError('invalid_request', `state must be at most ${MAX_STATE} characters.`);
  // RFC 7591 §2: the registered `scope` narrows the defaults, and bounds configured clients.
  const scopes = resolveRequestedScopes(parseScope(params.get('scope')), server.scopes, server.defaultScopes, {
    registered: client.scope,
    ceiling: scopeCeiling(client, server.clients ?? []),
  });
  if (scopes.length === 0) throw new OAuthError('invalid_scope', 'No scope was requested and no default scope is configured for this client.');
  const resource = resolveResource(params.getAll('resource'), server.resources);
  return { clientId: client.client_id, redirectUri, scopes, resource, state, codeChallenge };
}

/** RFC 6749 §4.1.2 / RFC 9207 §2: the authorization response, success or error, always with `iss`. */
export function authorizationResponseUrl(redirectUri: string, issuer: string, params: Record<string, string | undefined>): string {
  const url = new URL(redirectUri);
  for (const [name, value] of Object.entries(params)) if (value !== undefined) url.searchParams.set(name, value);
  url.searchParams.set('iss', issuer);
  return url.href;
}

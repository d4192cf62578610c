import { OAuthError } from '../errors.js';
import type { ClientRecord, TokenEndpointAuthMethod } from '../storage/client-store.js';
import { checkRedirectUriSyntax, isAllowedByPolicy, isLoopbackHost } from './redirect-uri.js';
import { parseScope } from './scope.js';
import { GRANT_TYPES } from '../routes/grants/registry.js';

export type ClientMetadata = Omit<ClientRecord, 'client_id' | 'client_id_issued_at' | 'client_secret_hash' | 'client_secret_expires_at'>;

const AUTH_METHODS: readonly TokenEndpointAuthMethod[] = ['client_secret_basic', 'client_secret_post', 'none'];
const MAX_STRING = 1000;

function invalid(description: string): OAuthError {
  return new OAuthError('invalid_client_metadata', description);
}

function optionalString(body: Record<string, unknown>, name: string): string | undefined {
  const value = body[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' || value.length > MAX_STRING) throw invalid(`${name} must be a string of at most ${MAX_STRING} characters.`);
  return value;
}

function optionalHttpsUrl(body: Record<string, unknown>, name: string): string | undefined {
  const value = optionalString(body, name);
  if (value === undefined) return undefined;
  try {
    const url = new URL(value);
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopbackHost(url.hostname))) throw new Error();
  } catch {
    throw invalid(`${name} must be an https URL.`);
  }
  return value;
}

function stringArray(body: Record<string, unknown>, name: string, max = 20): string[] | undefined {
  const value = body[name];
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || value.length > max || value.some((v) => typeof v !== 'string' || v.length > MAX_STRING))
    throw invalid(`${name} must be an array of at most ${max} strings.`);
  return value as string[];
}

/**
 * RFC 7591 §2 client metadata, validated strictly. Defaults (§2): `client_secret_basic`,
 * `["authorization_code"]`, `["code"]`; `application_type` `web`, or `native` when every
 * redirect is a loopback URI (MCP 2026-07).
 */
export function validateClientMetadata(
  body: unknown,
  policy: { allowedRedirectUris?: readonly (string | RegExp)[]; scopes: readonly string[] },
): ClientMetadata {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw invalid('The registration request must be a JSON object.');
  const input = body as Record<string, unknown>;

  const redirectUris = stringArray(input, 'redirect_uris', 10);
  if (!redirectUris || redirectUris.length === 0) throw new OAuthError('invalid_redirect_uri', 'redirect_uris must list at least one redirect URI.');
  for (const uri of redirectUris) {
    checkRedirectUriSyntax(uri);
    if (!isAllowedByPolicy(uri, policy.allowedRedirectUris))
      throw new OAuthError('invalid_redirect_uri', `Redirect URI "${uri}" is not allowed by this server's policy.`);
  }

  const method = (input.token_endpoint_auth_method ?? 'client_secret_basic') as TokenEndpointAuthMethod;
  if (!AUTH_METHODS.includes(method)) throw invalid(`token_endpoint_auth_method must be one of ${AUTH_METHODS.join(', ')}.`);

  const grantTypes = stringArray(input, 'grant_types') ?? ['authorization_code'];
  // Only the grant types the token endpoint serves (its registry, src/routes/grants/registry.ts).
  const unknownGrant = grantTypes.find((g) => !(GRANT_TYPES as readonly string[]).includes(g));
  if (unknownGrant) throw invalid(`Unsupported grant type "${unknownGrant}".`);
  if (!grantTypes.includes('authorization_code')) throw invalid('grant_types must include authorization_code.');

  const responseTypes = stringArray(input, 'response_types') ?? ['code'];
  if (responseTypes.length !== 1 || responseTypes[0] !== 'code') throw invalid('response_types must be ["code"].');

  const allLoopback = redirectUris.every((uri) => isLoopbackHost(new URL(uri).hostname));
  const applicationType = input.application_type ?? (allLoopback ? 'native' : 'web');
  if (applicationType !== 'web' && applicationType !== 'native') throw invalid('application_type must be "web" or "native".');

  const scope = optionalString(input, 'scope');
  if (scope !== undefined) {
    const unknown = parseScope(scope).filter((s) => !policy.scopes.includes(s));
    if (unknown.length > 0) throw invalid(`Unsupported scope: ${unknown.join(' ')}.`);
  }

  const metadata: ClientMetadata = {
    redirect_uris: [...new Set(redirectUris)],
    token_endpoint_auth_method: method,
    grant_types: [...new Set(grantTypes)],
    response_types: ['code'],
    application_type: applicationType,
  };
  const optional = {
    client_name: optionalString(input, 'client_name'),
    client_uri: optionalHttpsUrl(input, 'client_uri'),
    logo_uri: optionalHttpsUrl(input, 'logo_uri'),
    tos_uri: optionalHttpsUrl(input, 'tos_uri'),
    policy_uri: optionalHttpsUrl(input, 'policy_uri'),
    scope,
    contacts: stringArray(input, 'contacts', 10),
    software_id: optionalString(input, 'software_id'),
    software_version: optionalString(input, 'software_version'),
  };
  // The response never carries null or absent-as-null fields (MCP SDK client requirement).
  for (const [key, value] of Object.entries(optional)) if (value !== undefined) (metadata as unknown as Record<string, unknown>)[key] = value;
  return metadata;
}

import type { ResolvedOptions } from '../options.js';
import { protectedResourceMetadataDocument } from '../protocol/resource-metadata.js';
import { GRANT_TYPES } from '../routes/grants/registry.js';

/** The endpoint paths under the issuer's path: one table for the routes and the metadata. */
export const ENDPOINT_PATHS = {
  authorization: '/authorize',
  token: '/token',
  registration: '/register',
  introspection: '/introspect',
  revocation: '/revoke',
  jwks: '/.well-known/jwks.json',
} as const;

/** The endpoint URLs (RFC 8414 §2), all under the issuer. */
export function endpoints(options: ResolvedOptions): Record<keyof typeof ENDPOINT_PATHS, string> {
  const urls = {} as Record<keyof typeof ENDPOINT_PATHS, string>;
  for (const [name, path] of Object.entries(ENDPOINT_PATHS) as [keyof typeof ENDPOINT_PATHS, string][]) urls[name] = `${options.issuer}${path}`;
  return urls;
}

/** RFC 8414 §2: exactly the endpoints and capabilities this server has. */
export function authorizationServerMetadata(options: ResolvedOptions): Record<string, unknown> {
  const urls = endpoints(options);
  const authMethods = ['client_secret_basic', 'client_secret_post', 'none'];
  return {
    issuer: options.issuer,
    authorization_endpoint: urls.authorization,
    token_endpoint: urls.token,
    jwks_uri: urls.jwks,
    ...(options.registrationEnabled ? { registration_endpoint: urls.registration } : {}),
    scopes_supported: options.scopes,
    response_types_supported: ['code'],
    response_modes_supported: ['query'],
    grant_types_supported: [...GRANT_TYPES], // the token endpoint's registry
    token_endpoint_auth_methods_supported: authMethods,
    introspection_endpoint: urls.introspection,
    introspection_endpoint_auth_methods_supported: authMethods,
    revocation_endpoint: urls.revocation,
    revocation_endpoint_auth_methods_supported: authMethods,
    code_challenge_methods_supported: ['S256'], // MCP 2025-11: MUST be present
    authorization_response_iss_parameter_supported: true, // RFC 9207
    ...(options.clientMetadataDocuments ? { client_id_metadata_document_supported: true } : {}), // MCP 2025-11
  };
}

/** RFC 9728 documents for the resources that live on the issuer's origin, by metadata path. */
export function protectedResourceDocuments(options: ResolvedOptions): Map<string, Record<string, unknown>> {
  const documents = new Map<string, Record<string, unknown>>();
  for (const resource of options.resources) {
    const url = new URL(resource);
    if (url.origin !== options.issuerUrl.origin) continue;
    const path = url.pathname === '/' ? '' : url.pathname.replace(/\/$/, '');
    const doc = { ...protectedResourceMetadataDocument({ resource, authorizationServers: [options.issuer], scopesSupported: options.scopes }) };
    documents.set(`/.well-known/oauth-protected-resource${path}`, doc);
    // RFC 9728 §3.3 binds the root document to the origin itself; older MCP clients fall back
    // to the root, so it is served for the first resource only (docs/architecture.md).
    if (!documents.has('/.well-known/oauth-protected-resource')) documents.set('/.well-known/oauth-protected-resource', doc);
  }
  return documents;
}

import { OAuthError } from '../errors.js';
import { validateClientMetadata } from '../protocol/client-metadata.js';
import type { ClientRecord } from '../storage/client-store.js';
import { hostRefusal } from '../protocol/public-host.js';
import { parseUriStrictly } from '../protocol/uri-syntax.js';

// Client ID Metadata Documents (MCP 2025-11, draft-ietf-oauth-client-id-metadata-document): what
// a URL client_id and the document it names must be. Pure; the fetcher is metadata-document-fetcher.ts.

/** The client_id is a metadata document URL (rather than an issued id). */
export function isClientIdUrl(clientId: string): boolean {
  return clientId.startsWith('https://');
}

/**
 * MCP: https, a path, no fragment, no userinfo, no dot segments; written as the URL parser
 * serialises it (RFC 3986 §6.2, so the host checked and shown is the host fetched); and a
 * public host (IANA special-use names and special-purpose addresses refused, RFC 6761, RFC 6890).
 */
export function checkClientIdUrl(clientId: string): URL {
  if (clientId.includes('#')) throw new OAuthError('invalid_client', 'A client_id URL must not have a fragment.');
  const form = parseUriStrictly(clientId);
  if ('problem' in form)
    throw new OAuthError(
      'invalid_client',
      form.problem === 'syntax'
        ? 'A client_id URL must be an absolute URI in RFC 3986 syntax: ASCII only, percent-encoding as %HH, no backslash.'
        : 'A client_id URL must be written as browsers serialise it: lowercase scheme and host, no default port, canonical IP addresses, no dot segments (RFC 3986 section 6.2).',
    );
  const { url } = form;
  if (url.protocol !== 'https:') throw new OAuthError('invalid_client', 'A client_id URL must use https.');
  // Dot segments (also %2e forms) are resolved by the parser, so the round trip above refused them.
  if (url.pathname === '/') throw new OAuthError('invalid_client', 'A client_id URL must have a path.');
  if (url.username || url.password) throw new OAuthError('invalid_client', 'A client_id URL must not contain credentials.');
  const refusal = hostRefusal(url.hostname);
  if (refusal) throw new OAuthError('invalid_client', `A client_id URL must name a public host (refused: ${refusal}).`);
  return url;
}

/** Validates a fetched document: its `client_id` is the URL, it has redirect URIs and no shared secret. */
export function clientFromMetadataDocument(
  clientId: string,
  document: unknown,
  policy: { allowedRedirectUris?: readonly (string | RegExp)[]; scopes: readonly string[] },
): ClientRecord {
  if (typeof document !== 'object' || document === null || Array.isArray(document))
    throw new OAuthError('invalid_client', 'The client metadata document is not a JSON object.');
  const doc = document as Record<string, unknown>;
  if (doc.client_id !== clientId) throw new OAuthError('invalid_client', 'The client metadata document names another client_id.');
  const method = doc.token_endpoint_auth_method ?? 'none';
  // Shared secrets cannot be part of a public document.
  if (method !== 'none') throw new OAuthError('invalid_client', 'A client metadata document must use token_endpoint_auth_method "none".');
  if ('client_secret' in doc || 'client_secret_expires_at' in doc)
    throw new OAuthError('invalid_client', 'A client metadata document must not contain a client secret.');
  let metadata;
  try {
    metadata = validateClientMetadata({ ...doc, token_endpoint_auth_method: 'none' }, policy);
  } catch (err) {
    if (err instanceof OAuthError) throw new OAuthError('invalid_client', `The client metadata document is invalid: ${err.description}`);
    throw err;
  }
  return { client_id: clientId, client_id_issued_at: 0, ...metadata };
}

import { OAuthError } from '../errors.js';
import { validateClientMetadata } from '../protocol/client-metadata.js';
import type { ClientRecord, ClientStore } from './client-store.js';
import { readLimited } from '../body.js';

/**
 * Client ID Metadata Documents (MCP 2025-11, draft-ietf-oauth-client-id-metadata-document): a
 * `client_id` that is an https URL names a JSON document, fetched by this server, that describes
 * the client. Fetches are SSRF-hardened: no redirects, 200 only, a size cap, a timeout, no
 * special-use hosts (and, on Workers, the `global_fetch_strictly_public` flag for resolved
 * addresses). Successful documents are cached per `Cache-Control: max-age`; failures never.
 */
export interface ClientMetadataDocumentOptions {
  /** Default true. */
  enabled?: boolean;
  fetch?: typeof fetch;
  /** Default 5120 bytes. */
  maxBytes?: number;
  /** Default 5000 ms. */
  timeoutMs?: number;
  /** Upper bound on caching, seconds. Default 86400. */
  maxCacheSeconds?: number;
}

/** The client_id is a metadata document URL (rather than an issued id). */
export function isClientIdUrl(clientId: string): boolean {
  return clientId.startsWith('https://');
}

const PRIVATE_V4 = [/^10\./, /^127\./, /^169\.254\./, /^172\.(1[6-9]|2\d|3[01])\./, /^192\.168\./, /^0\./, /^100\.(6[4-9]|[7-9]\d|1[01]\d|12[0-7])\./];

/** MCP: https, a path, no fragment, no userinfo, no dot segments; and never a special-use host. */
export function checkClientIdUrl(clientId: string): URL {
  let url: URL;
  try {
    url = new URL(clientId);
  } catch {
    throw new OAuthError('invalid_client', 'The client_id URL is not a valid URL.');
  }
  const path = clientId.slice(url.origin.length).split(/[?#]/)[0] ?? '';
  if (url.protocol !== 'https:') throw new OAuthError('invalid_client', 'A client_id URL must use https.');
  if (!path || path === '/') throw new OAuthError('invalid_client', 'A client_id URL must have a path.');
  if (clientId.includes('#')) throw new OAuthError('invalid_client', 'A client_id URL must not have a fragment.');
  if (url.username || url.password || clientId.slice(8).split('/')[0]!.includes('@'))
    throw new OAuthError('invalid_client', 'A client_id URL must not contain credentials.');
  if (path.split('/').some((segment) => segment === '.' || segment === '..' || /^%2e%2e?$/i.test(segment) || /^%2e\.?$/i.test(segment) || /^\.%2e$/i.test(segment)))
    throw new OAuthError('invalid_client', 'A client_id URL must not contain dot segments.');
  const host = url.hostname.toLowerCase();
  const special =
    host === 'localhost' ||
    host.endsWith('.localhost') ||
    host.endsWith('.local') ||
    host.endsWith('.internal') ||
    host.startsWith('[') ||
    PRIVATE_V4.some((range) => range.test(host)) ||
    /^\d+$/.test(host);
  if (special) throw new OAuthError('invalid_client', 'A client_id URL must name a public host.');
  return url;
}

/** Validates a fetched document: its `client_id` is the URL, it has redirect URIs and no shared secret. */
export function clientFromMetadataDocument(clientId: string, document: unknown, policy: { allowedRedirectUris?: readonly (string | RegExp)[]; scopes: readonly string[] }): ClientRecord {
  if (typeof document !== 'object' || document === null || Array.isArray(document)) throw new OAuthError('invalid_client', 'The client metadata document is not a JSON object.');
  const doc = document as Record<string, unknown>;
  if (doc.client_id !== clientId) throw new OAuthError('invalid_client', 'The client metadata document names another client_id.');
  const method = doc.token_endpoint_auth_method ?? 'none';
  // Shared secrets cannot be part of a public document.
  if (method !== 'none') throw new OAuthError('invalid_client', 'A client metadata document must use token_endpoint_auth_method "none".');
  if ('client_secret' in doc || 'client_secret_expires_at' in doc) throw new OAuthError('invalid_client', 'A client metadata document must not contain a client secret.');
  let metadata;
  try {
    metadata = validateClientMetadata({ ...doc, token_endpoint_auth_method: 'none' }, policy);
  } catch (err) {
    if (err instanceof OAuthError) throw new OAuthError('invalid_client', `The client metadata document is invalid: ${err.description}`);
    throw err;
  }
  return { client_id: clientId, client_id_issued_at: 0, ...metadata };
}

/** `max-age` of a response, 0 when it must not be cached. */
export function cacheSeconds(cacheControl: string | null, max: number): number {
  if (!cacheControl || /no-store|no-cache|private/i.test(cacheControl)) return 0;
  const maxAge = /max-age=(\d+)/i.exec(cacheControl);
  return maxAge ? Math.min(Number(maxAge[1]), max) : 0;
}

/** A ClientStore that answers URL client_ids from their metadata documents and the rest from `store`. */
export function withClientMetadataDocuments(
  store: ClientStore,
  policy: { allowedRedirectUris?: readonly (string | RegExp)[]; scopes: readonly string[] },
  options: ClientMetadataDocumentOptions = {},
  now: () => number = () => Math.floor(Date.now() / 1000),
): ClientStore {
  const maxBytes = options.maxBytes ?? 5120;
  const timeoutMs = options.timeoutMs ?? 5000;
  const maxCache = options.maxCacheSeconds ?? 86_400;
  const cache = new Map<string, { client: ClientRecord; until: number }>();

  async function fetchClient(clientId: string): Promise<ClientRecord> {
    const cached = cache.get(clientId);
    if (cached && cached.until > now()) return cached.client;
    cache.delete(clientId);
    const url = checkClientIdUrl(clientId);
    let response: Response;
    try {
      response = await (options.fetch ?? fetch)(url.href, { redirect: 'manual', headers: { Accept: 'application/json' }, signal: AbortSignal.timeout(timeoutMs) });
    } catch {
      throw new OAuthError('invalid_client', 'The client metadata document could not be fetched.');
    }
    if (response.status !== 200) {
      await response.body?.cancel();
      throw new OAuthError('invalid_client', `The client metadata document answered ${response.status}.`);
    }
    let document: unknown;
    try {
      const bytes = await readLimited(response.body, response.headers.get('Content-Length'), maxBytes);
      if (!bytes) throw new OAuthError('invalid_client', 'The client metadata document is too large.');
      document = JSON.parse(new TextDecoder().decode(bytes));
    } catch (err) {
      if (err instanceof OAuthError) throw err;
      throw new OAuthError('invalid_client', 'The client metadata document is not valid JSON.');
    }
    const client = clientFromMetadataDocument(clientId, document, policy);
    const seconds = cacheSeconds(response.headers.get('Cache-Control'), maxCache);
    if (seconds > 0) {
      if (cache.size >= 1000) cache.delete(cache.keys().next().value!);
      cache.set(clientId, { client, until: now() + seconds });
    }
    return client;
  }

  return {
    async get(clientId) {
      if (!isClientIdUrl(clientId)) return store.get(clientId);
      try {
        return await fetchClient(clientId);
      } catch (err) {
        if (err instanceof OAuthError) {
          console.warn(`mcp-auth-edge: client metadata document ${clientId}: ${err.description}`);
          return undefined; // an unknown client to every caller: error page at /authorize, invalid_client at /token
        }
        throw err;
      }
    },
    put: (client) => store.put(client),
  };
}

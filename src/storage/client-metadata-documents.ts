import { OAuthError } from '../errors.js';
import { validateClientMetadata } from '../protocol/client-metadata.js';
import type { ClientRecord, ClientStore } from './client-store.js';
import { readLimited } from '../body.js';
import { consoleLogger, type Logger } from '../log.js';
import { hostRefusal } from '../protocol/public-host.js';
import { parseUriStrictly } from '../protocol/uri-syntax.js';

/**
 * Client ID Metadata Documents (MCP 2025-11, draft-ietf-oauth-client-id-metadata-document): a
 * `client_id` that is an https URL names a JSON document, fetched by this server, that describes
 * the client. Fetches are SSRF-hardened: no redirects, 200 only, a size cap, a timeout, and no
 * host that is not public (public-host.ts) before any connection; the addresses a public name
 * resolves to are checked only by the platform (`global_fetch_strictly_public` on Cloudflare).
 * Successful documents are cached per `Cache-Control: max-age`; failures for
 * `failureCacheSeconds`, and concurrent requests share one fetch, so requests for one URL
 * never turn into one outbound fetch each.
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
  /** How long a failed fetch is remembered, seconds. Default 60. */
  failureCacheSeconds?: number;
}

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

/** `max-age` of a response, 0 when it must not be cached. */
export function cacheSeconds(cacheControl: string | null, max: number): number {
  if (!cacheControl || /no-store|no-cache|private/i.test(cacheControl)) return 0;
  const maxAge = /max-age=(\d+)/i.exec(cacheControl);
  return maxAge ? Math.min(Number(maxAge[1]), max) : 0;
}

/** A ClientStore that answers URL client_ids from their metadata documents and the rest from `store`. */
export function withClientMetadataDocuments(
  store: ClientStore,
  policy: { allowedRedirectUris?: readonly (string | RegExp)[]; scopes: readonly string[]; logger?: Logger },
  options: ClientMetadataDocumentOptions = {},
  now: () => number = () => Math.floor(Date.now() / 1000),
): ClientStore {
  const maxBytes = options.maxBytes ?? 5120;
  const timeoutMs = options.timeoutMs ?? 5000;
  const maxCache = options.maxCacheSeconds ?? 86_400;
  const failureSeconds = options.failureCacheSeconds ?? 60;
  const documents = new ExpiringCache<ClientRecord>(CACHE_ENTRIES);
  const failures = new ExpiringCache<OAuthError>(CACHE_ENTRIES);
  const inFlight = new Map<string, Promise<ClientRecord>>();

  /** One client_id URL: from the caches, from a fetch already under way, or one new fetch. */
  function loadClient(clientId: string): Promise<ClientRecord> {
    const url = checkClientIdUrl(clientId); // pure: refused URLs never reach the caches or the network
    const t = now();
    const document = documents.get(clientId, t);
    if (document) return Promise.resolve(document);
    const failure = failures.get(clientId, t);
    if (failure) return Promise.reject(failure);
    let pending = inFlight.get(clientId);
    if (!pending) {
      pending = fetchClient(clientId, url)
        .catch((err: unknown) => {
          if (err instanceof OAuthError) failures.set(clientId, err, now() + failureSeconds);
          throw err;
        })
        .finally(() => inFlight.delete(clientId));
      inFlight.set(clientId, pending);
    }
    return pending;
  }

  async function fetchClient(clientId: string, url: URL): Promise<ClientRecord> {
    let response: Response;
    try {
      response = await (options.fetch ?? fetch)(url.href, {
        redirect: 'manual',
        headers: { Accept: 'application/json' },
        signal: AbortSignal.timeout(timeoutMs),
      });
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
    if (seconds > 0) documents.set(clientId, client, now() + seconds);
    return client;
  }

  return {
    async get(clientId) {
      if (!isClientIdUrl(clientId)) return store.get(clientId);
      try {
        return await loadClient(clientId);
      } catch (err) {
        if (err instanceof OAuthError) {
          (policy.logger ?? consoleLogger).warn('client metadata document refused', { clientId, reason: err.description });
          return undefined; // an unknown client to every caller: error page at /authorize, invalid_client at /token
        }
        throw err;
      }
    },
    put: (client) => store.put(client),
  };
}

/** Entries per cache (documents, failures): a per-isolate memory bound. */
const CACHE_ENTRIES = 1000;

/** A map whose entries expire (`until`, seconds) and that holds at most `capacity`, forgetting the oldest first. */
class ExpiringCache<T> {
  private readonly entries = new Map<string, { value: T; until: number }>();

  constructor(private readonly capacity: number) {}

  get(key: string, now: number): T | undefined {
    const entry = this.entries.get(key);
    if (entry && entry.until > now) return entry.value;
    this.entries.delete(key);
    return undefined;
  }

  set(key: string, value: T, until: number): void {
    this.entries.delete(key);
    if (this.entries.size >= this.capacity) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(key, { value, until });
  }
}

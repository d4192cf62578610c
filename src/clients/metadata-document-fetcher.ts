import { OAuthError } from '../errors.js';
import type { ClientRecord, ClientStore } from '../storage/client-store.js';
import { readLimited } from '../body.js';
import { currentNumericDate } from '../protocol/numeric-date.js';
import { consoleLogger, type Logger } from '../log.js';
import { checkClientIdUrl, clientFromMetadataDocument, isClientIdUrl } from './metadata-document.js';

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
  now: () => number = currentNumericDate,
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

import { isStorableClientId, issuerKey, kvKeys } from './keys.js';
import { currentNumericDate } from '../protocol/numeric-date.js';

export type TokenEndpointAuthMethod = 'client_secret_basic' | 'client_secret_post' | 'none';

/** A registered client as stored (RFC 7591 §2 metadata; the secret only as its SHA-256). */
export interface ClientRecord {
  client_id: string;
  client_id_issued_at: number;
  /** base64url SHA-256 of the client secret; absent for public clients. */
  client_secret_hash?: string;
  /** 0 = never expires (RFC 7591 §3.2.1). */
  client_secret_expires_at?: number;
  redirect_uris: string[];
  token_endpoint_auth_method: TokenEndpointAuthMethod;
  grant_types: string[];
  response_types: string[];
  application_type: 'web' | 'native';
  client_name?: string;
  client_uri?: string;
  logo_uri?: string;
  scope?: string;
  contacts?: string[];
  tos_uri?: string;
  policy_uri?: string;
  software_id?: string;
  software_version?: string;
}

/** Where clients live. Implement it to keep clients elsewhere (upstream option `clientStore`). */
export interface ClientStore {
  get(clientId: string): Promise<ClientRecord | undefined>;
  put(client: ClientRecord): Promise<void>;
}

/**
 * The default store: one Workers KV entry per client of one issuer,
 * `client:<issuer key>:<client_id>` → JSON record (src/storage/keys.ts). Clients of another
 * issuer in the same namespace are invisible to it.
 */
export class KvClientStore implements ClientStore {
  private readonly namespace: Promise<string>;

  constructor(
    private readonly kv: KVNamespace,
    issuer: string,
  ) {
    this.namespace = issuerKey(issuer);
  }

  async get(clientId: string): Promise<ClientRecord | undefined> {
    if (!isStorableClientId(clientId)) return undefined;
    return (await this.kv.get<ClientRecord>(kvKeys.client(await this.namespace, clientId), 'json')) ?? undefined;
  }

  async put(client: ClientRecord): Promise<void> {
    const ttl = client.client_secret_expires_at ? client.client_secret_expires_at - currentNumericDate() : 0;
    await this.kv.put(kvKeys.client(await this.namespace, client.client_id), JSON.stringify(client), ttl > 60 ? { expirationTtl: ttl } : undefined);
  }
}

/**
 * The storage boundary of every client lookup: an id outside RFC 6749 Appendix A.1 bounds
 * (`isStorableClientId`) is an unknown client at once, so no route, store or metadata-document
 * fetch ever sees it.
 */
export function withBoundedClientIds(store: ClientStore): ClientStore {
  return {
    get: async (id) => (isStorableClientId(id) ? store.get(id) : undefined),
    put: (client) => store.put(client),
  };
}

/** Clients from configuration first, then the store. */
export function withStaticClients(store: ClientStore, clients: readonly ClientRecord[]): ClientStore {
  if (clients.length === 0) return store;
  const byId = new Map(clients.map((c) => [c.client_id, c]));
  return {
    get: async (id) => byId.get(id) ?? store.get(id),
    put: (client) => store.put(client),
  };
}

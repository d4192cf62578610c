import { OAuthError } from '../errors.js';
import { secretMatchesHash } from '../crypto.js';
import type { ClientRecord, TokenEndpointAuthMethod } from '../storage/client-store.js';

export interface ClientCredentials {
  method: TokenEndpointAuthMethod;
  clientId: string;
  secret?: string;
}

/** RFC 6749 §2.3.1: `Basic` credentials are the form-urlencoded id and secret. */
function formDecode(value: string): string {
  return decodeURIComponent(value.replace(/\+/g, ' '));
}

/**
 * Which authentication method the request used (RFC 6749 §2.3). Using more than one is an
 * error (§2.3.1: "MUST NOT use more than one authentication method in each request").
 */
export function extractClientCredentials(authorization: string | null | undefined, body: URLSearchParams): ClientCredentials {
  const bodyId = body.get('client_id') ?? undefined;
  const bodySecret = body.get('client_secret') ?? undefined;
  if (authorization) {
    const match = /^Basic +([A-Za-z0-9+/=]+)$/i.exec(authorization.trim());
    if (!match) throw invalidClient('Malformed Authorization header.', true);
    if (bodySecret !== undefined) throw new OAuthError('invalid_request', 'Use one client authentication method, not several (RFC 6749 §2.3).');
    let decoded: string;
    try {
      decoded = atob(match[1]!);
    } catch {
      throw invalidClient('Malformed Basic credentials.', true);
    }
    const colon = decoded.indexOf(':');
    if (colon < 0) throw invalidClient('Malformed Basic credentials.', true);
    let clientId: string;
    let secret: string;
    try {
      clientId = formDecode(decoded.slice(0, colon));
      secret = formDecode(decoded.slice(colon + 1));
    } catch {
      throw invalidClient('Malformed Basic credentials.', true);
    }
    if (bodyId !== undefined && bodyId !== clientId) throw new OAuthError('invalid_request', 'client_id does not match the Authorization header.');
    return { method: 'client_secret_basic', clientId, secret };
  }
  if (!bodyId) throw invalidClient('Client authentication is required.', false);
  return bodySecret !== undefined ? { method: 'client_secret_post', clientId: bodyId, secret: bodySecret } : { method: 'none', clientId: bodyId };
}

/**
 * RFC 6749 §2.3 / OAuth 2.1 §2.4: the client must use the method it registered, and a secret
 * is compared as a SHA-256 hash in constant time. One message for every failure.
 */
export async function authenticateClient(credentials: ClientCredentials, client: ClientRecord | undefined, now: number): Promise<ClientRecord> {
  const basic = credentials.method === 'client_secret_basic';
  if (!client) throw invalidClient('Client authentication failed.', basic);
  if (client.token_endpoint_auth_method !== credentials.method) throw invalidClient('Client authentication failed.', basic);
  if (credentials.method === 'none') return client;
  if (!client.client_secret_hash || credentials.secret === undefined) throw invalidClient('Client authentication failed.', basic);
  const matches = await secretMatchesHash(credentials.secret, client.client_secret_hash);
  if (!matches) throw invalidClient('Client authentication failed.', basic);
  if (client.client_secret_expires_at && client.client_secret_expires_at <= now) throw invalidClient('Client authentication failed.', basic);
  return client;
}

/** RFC 6749 §5.2: 401 with a `WWW-Authenticate` challenge when the client used the header. */
export function invalidClient(description: string, usedBasic: boolean): OAuthError {
  return new OAuthError('invalid_client', description, {
    status: 401,
    headers: usedBasic ? { 'WWW-Authenticate': 'Basic realm="token", charset="UTF-8"' } : {},
  });
}

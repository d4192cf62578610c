import type { AppContext } from '../http/context.js';
import { defer } from '../services.js';
import { mediaType, readJson } from '../http/request-body.js';
import { noStoreJson } from '../http/responses.js';
import { OAuthError } from '../errors.js';
import { validateClientMetadata } from '../protocol/client-metadata.js';
import { randomToken, sha256 } from '../crypto.js';
import type { ClientRecord } from '../storage/client-store.js';

/** RFC 7591 §3: dynamic client registration. Public clients (`none`) get no secret. */
export async function registerClient(c: AppContext): Promise<Response> {
  const { options, clients, emit, now } = c.var.services;
  if (mediaType(c) !== 'application/json')
    throw new OAuthError('invalid_client_metadata', 'The registration request must be application/json (RFC 7591 §3.1).');
  let body: unknown;
  try {
    body = await readJson(c);
  } catch (err) {
    // RFC 7591 §3.2.2 error code; a 413 (RFC 9110 §15.5.14) keeps its status.
    throw err instanceof OAuthError ? new OAuthError('invalid_client_metadata', err.description, { status: err.status }) : err;
  }
  const metadata = validateClientMetadata(body, { allowedRedirectUris: options.allowedRedirectUris, scopes: options.scopes });

  const issuedAt = now();
  const record: ClientRecord = { client_id: randomToken(16), client_id_issued_at: issuedAt, ...metadata };
  let secret: string | undefined;
  if (metadata.token_endpoint_auth_method !== 'none') {
    secret = randomToken(32);
    record.client_secret_hash = await sha256(secret); // stored only as a hash
    record.client_secret_expires_at = 0; // RFC 7591 §3.2.1: 0 = does not expire
  }
  await clients.put(record);
  defer(
    c,
    emit({ type: 'client.registered', clientId: record.client_id, clientName: record.client_name, tokenEndpointAuthMethod: record.token_endpoint_auth_method }),
  );

  const { client_secret_hash: _hash, ...publicRecord } = record;
  return noStoreJson(c, secret ? { ...publicRecord, client_secret: secret } : publicRecord, 201);
}

import { authenticateClient, extractClientCredentials, type ClientCredentials } from '../protocol/client-auth.js';
import type { ClientRecord } from '../storage/client-store.js';
import type { AppContext } from './context.js';
import { countClient } from './rate-limit.js';

/** Authenticates the client of a token, introspection or revocation request (RFC 6749 §2.3). */
export async function authenticatedClient(c: AppContext, form: URLSearchParams): Promise<ClientRecord> {
  let credentials: ClientCredentials;
  try {
    credentials = extractClientCredentials(c.req.header('Authorization'), form);
  } catch (err) {
    await countClient(c, undefined);
    throw err;
  }
  await countClient(c, credentials.clientId);
  const services = c.var.services;
  return authenticateClient(credentials, await services.clients.get(credentials.clientId), services.now());
}

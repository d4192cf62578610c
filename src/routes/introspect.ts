import type { AppContext } from '../http/context.js';
import { authenticatedClient } from '../http/client-authentication.js';
import { readForm } from '../http/request-body.js';
import { noStoreJson } from '../http/responses.js';
import type { Services } from '../services.js';
import type { ClientRecord } from '../storage/client-store.js';
import type { GrantRecord } from '../grants/grant-record.js';
import { lookupToken, tokenParameter } from '../tokens/lookup.js';

const INACTIVE = { active: false } as const;

/** POST /introspect (RFC 7662 §2): only the owning client (or a configured resource server) sees a token. */
export async function introspectToken(c: AppContext): Promise<Response> {
  const form = await readForm(c, { acceptJson: true });
  const client = await authenticatedClient(c, form);
  const services = c.var.services;
  const found = await lookupToken(services, tokenParameter(form), form.get('token_type_hint'));
  if (!found || !mayInspect(client, found.grant, services)) return noStoreJson(c, INACTIVE);
  const { grant } = found;
  // RFC 7662 §2.2; the client is the one the grant is bound to (never Grantex's `dev`).
  if (found.kind === 'access_token') return noStoreJson(c, { active: true, ...found.view.fields, client_id: grant.client_id });
  return noStoreJson(c, {
    active: true,
    scope: grant.scope,
    client_id: grant.client_id,
    sub: grant.sub,
    aud: grant.resource,
    iss: services.options.issuer,
    exp: grant.refresh_expires_at,
    token_type: 'refresh_token',
    ...services.authority.refreshTokenFields(grant),
  });
}

function mayInspect(client: ClientRecord, grant: GrantRecord, services: Services): boolean {
  return grant.client_id === client.client_id || services.options.introspectionClients.includes(client.client_id);
}

import type { AppContext } from '../http/context.js';
import { authenticatedClient } from '../http/client-authentication.js';
import { readForm } from '../http/request-body.js';
import { OAuthError } from '../errors.js';
import { defer } from '../services.js';
import { GRANT_HANDLERS } from './grants/registry.js';

/**
 * POST /token (OAuth 2.1 §3.2): the common parts (client authentication, `grant_type`, RFC 8707
 * `resource`), then the handler registered for the grant type (src/routes/grants/registry.ts).
 */
export async function issueToken(c: AppContext): Promise<Response> {
  const form = await readForm(c, { repeatable: ['resource'] });
  const client = await authenticatedClient(c, form);
  const grantType = form.get('grant_type');
  if (!grantType) throw new OAuthError('invalid_request', 'grant_type is required.');
  const handler = GRANT_HANDLERS.get(grantType);
  if (!handler) throw new OAuthError('unsupported_grant_type', `grant_type "${grantType}" is not supported.`);
  if (!client.grant_types.includes(grantType)) throw new OAuthError('unauthorized_client', `This client may not use the ${grantType} grant.`);
  const resources = form.getAll('resource');
  if (resources.length > 1) throw new OAuthError('invalid_target', 'Only one resource may be requested per token.');
  const services = c.var.services;
  return handler({ c, form, client, resource: resources[0], services, now: services.now(), defer: (work) => defer(c, work) });
}

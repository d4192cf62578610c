import type { AppContext } from '../http/context.js';
import { authenticatedClient } from '../http/client-authentication.js';
import { readForm } from '../http/request-body.js';
import { defer } from '../services.js';
import { lookupToken, tokenParameter } from '../tokens/lookup.js';

/** POST /revoke (RFC 7009 §2): 200 whatever the token, so nothing is learnt from the answer. */
export async function revokeToken(c: AppContext): Promise<Response> {
  const form = await readForm(c, { acceptJson: true });
  const client = await authenticatedClient(c, form);
  const services = c.var.services;
  const found = await lookupToken(services, tokenParameter(form), form.get('token_type_hint'));
  if (found && found.grant.client_id === client.client_id) {
    const revoked = await services.authority.revoke(services, found);
    if (revoked) {
      defer(
        c,
        services.emit({
          type: 'token.revoked',
          clientId: client.client_id,
          sub: revoked.sub,
          grantId: revoked.grant_id,
          upstreamGrantId: revoked.upstream_grant_id ?? undefined,
          jti: found.kind === 'access_token' ? found.view.jti : undefined,
          tokenType: found.kind,
          reason: 'client_request',
        }),
      );
    }
  }
  return c.body(null, 200, { 'Cache-Control': 'no-store' });
}

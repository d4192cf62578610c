import type { AppContext } from './http.js';
import { readForm } from './http.js';
import { defer } from '../services.js';
import { lookupToken, tokenParameter } from '../tokens/lookup.js';
import { authenticatedClient } from './token.js';

/** POST /revoke (RFC 7009 §2): 200 whatever the token, so nothing is learnt from the answer. */
export async function revokeToken(c: AppContext): Promise<Response> {
  const form = await readForm(c, { acceptJson: true });
  const client = await authenticatedClient(c, form);
  const services = c.var.services;
  const found = await lookupToken(services, tokenParameter(form), form.get('token_type_hint'));
  if (found && found.grant.client_id === client.client_id) {
    const stub = services.grant(found.grant.grant_id);
    const revoked =
      found.kind === 'access_token'
        ? await stub.revokeAccessToken({ jti: found.claims.jti, exp: found.claims.exp, clientId: client.client_id })
        : await stub.revokeGrant({ clientId: client.client_id, refreshTokenHash: found.tokenHash });
    if (revoked) {
      defer(c, services.emit({
        type: 'token.revoked',
        clientId: client.client_id,
        grantId: found.grant.grant_id,
        jti: found.kind === 'access_token' ? found.claims.jti : undefined,
        tokenType: found.kind,
        reason: 'client_request',
      }));
    }
  }
  return c.body(null, 200, { 'Cache-Control': 'no-store' });
}

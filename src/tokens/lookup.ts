import { OAuthError } from '../errors.js';
import { sha256 } from '../crypto.js';
import type { Services } from '../services.js';
import { grantIdOf } from '../storage/keys.js';
import type { AccessTokenView } from './access-token-view.js';
import type { GrantRecord } from '../grants/grant-record.js';

export type TokenLookup =
  { kind: 'access_token'; view: AccessTokenView; grant: GrantRecord } | { kind: 'refresh_token'; grant: GrantRecord; tokenHash: string } | undefined;

/**
 * Finds an active token of ours. `token_type_hint` only orders the attempts (RFC 7662 §2.1,
 * RFC 7009 §2.1): a wrong hint never makes a token unfindable.
 */
export async function lookupToken(services: Services, token: string, hint: string | null): Promise<TokenLookup> {
  const now = services.now();
  const asAccess = async (): Promise<TokenLookup> => {
    if (token.split('.').length !== 3) return undefined;
    const view = await services.authority.readAccessToken(services, token);
    if (!view) return undefined;
    const status = await services.grant(view.grantId).accessTokenStatus(view.jti);
    return status.active && status.grant ? { kind: 'access_token', view, grant: status.grant } : undefined;
  };
  const asRefresh = async (): Promise<TokenLookup> => {
    const grantId = grantIdOf(token);
    if (!grantId || token.split('.').length !== 2) return undefined;
    const tokenHash = await sha256(token);
    const status = await services.grant(grantId).refreshTokenStatus(tokenHash, now);
    return status.active && status.grant ? { kind: 'refresh_token', grant: status.grant, tokenHash } : undefined;
  };
  const order = hint === 'refresh_token' ? [asRefresh, asAccess] : [asAccess, asRefresh];
  for (const attempt of order) {
    const found = await attempt();
    if (found) return found;
  }
  return undefined;
}

/** Token parameter of introspection/revocation requests. */
export function tokenParameter(form: URLSearchParams): string {
  const token = form.get('token');
  if (!token) throw new OAuthError('invalid_request', 'token is required.');
  if (token.length > 8192) throw new OAuthError('invalid_request', 'token is too long.');
  return token;
}

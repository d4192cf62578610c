import type { GrantHandler } from './grant-handler.js';
import { authorizationCodeGrant } from './authorization-code.js';
import { refreshTokenGrant } from './refresh-token.js';

/**
 * The grant types of the token endpoint, by `grant_type` (OAuth 2.1 §3.2.2): one module each.
 * Everything else that names grant types is derived from this object: the metadata's
 * `grant_types_supported` (RFC 8414 §2), the grant types a client may register (RFC 7591 §2)
 * and the `grantType` of `token.issued` events.
 */
const handlers = {
  authorization_code: authorizationCodeGrant,
  refresh_token: refreshTokenGrant,
} satisfies Record<string, GrantHandler>;

/** A `grant_type` the token endpoint serves. */
export type GrantType = keyof typeof handlers;

/** A Map, so a `grant_type` named like an object property (`constructor`, `__proto__`) finds nothing. */
export const GRANT_HANDLERS: ReadonlyMap<string, GrantHandler> = new Map(Object.entries(handlers));

/** The served grant types, in registration order. */
export const GRANT_TYPES = [...GRANT_HANDLERS.keys()] as readonly GrantType[];

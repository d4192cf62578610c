/**
 * What introspection and revocation need to know about a valid access token, whoever signed it
 * (the grant authority reads it back: `GrantAuthority.readAccessToken`, src/authority).
 */
export interface AccessTokenView {
  jti: string;
  exp: number;
  /** Our grant (its Durable Object holds the client binding and the denylist). */
  grantId: string;
  /** The authority's own grant id (Grantex `grnt`), when it has one. */
  upstreamGrantId?: string;
  /** RFC 7662 §2.2 members of an active answer (client_id is added from the grant). */
  fields: Record<string, string | number | undefined>;
}

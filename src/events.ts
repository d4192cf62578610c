import type { GrantType } from './routes/grants/registry.js';

/** Structured audit events (see docs/storage.md#audit-events). Never contain secrets or raw tokens. */
export interface TokenIssuedEvent {
  type: 'token.issued';
  /** A grant type of the token endpoint's registry (src/routes/grants/registry.ts). */
  grantType: GrantType;
  clientId: string;
  sub: string;
  scopes: string[];
  resource: string;
  grantId: string;
  /** Grantex mode: the upstream grant id (the token's `grnt`). */
  upstreamGrantId?: string;
  jti: string;
  expiresAt: number;
  refreshTokenIssued: boolean;
}

export interface RevocationEvent {
  type: 'token.revoked';
  clientId: string;
  /** The user of the revoked grant, when known. */
  sub?: string;
  grantId?: string;
  /** Grantex mode: the upstream grant id. */
  upstreamGrantId?: string;
  jti?: string;
  tokenType: 'access_token' | 'refresh_token';
  /** 'client_request' (RFC 7009), 'refresh_token_reuse', 'code_replay', 'operator_request' (the operator API). */
  reason: 'client_request' | 'refresh_token_reuse' | 'code_replay' | 'operator_request';
}

export interface ReplayEvent {
  type: 'security.replay_detected';
  what: 'authorization_code' | 'refresh_token';
  clientId: string;
  grantId: string;
}

export interface RateLimitedEvent {
  type: 'security.rate_limited';
  endpoint: string;
  key: string;
  limit: number;
  windowSeconds: number;
}

export interface ClientRegisteredEvent {
  type: 'client.registered';
  clientId: string;
  clientName?: string;
  tokenEndpointAuthMethod: string;
}

export type AuditEvent = TokenIssuedEvent | RevocationEvent | ReplayEvent | RateLimitedEvent | ClientRegisteredEvent;

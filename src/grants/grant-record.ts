/** One authorization grant as kept in its own Durable Object instance (docs/storage.md). */
export interface GrantRecord {
  grant_id: string;
  client_id: string;
  sub: string;
  /** Space-joined granted scopes. */
  scope: string;
  resource: string;
  redirect_uri: string;
  code_hash: string;
  code_challenge: string;
  code_expires_at: number;
  /** When the code was redeemed; a second redemption is a replay (OAuth 2.1 §4.1.3). */
  code_redeemed_at: number | null;
  /** Expiry of the refresh-token family; null until the code is redeemed or when none is issued. */
  refresh_expires_at: number | null;
  created_at: number;
}

export interface RefreshTokenRow {
  token_hash: string;
  status: 'active' | 'rotated';
  created_at: number;
}

import type { CodeRedemptionInput } from '../../src/grants/authorization-code';
import { NO_UPSTREAM, type GrantRecord } from '../../src/grants/grant-record';

/** The clock the grant fixture is written against (seconds since the epoch). */
export const NOW = 1_700_000_000;

/** A first-party grant whose code was issued at NOW and is not yet redeemed; `overrides` change any field. */
export function grantRecord(overrides: Partial<GrantRecord> = {}): GrantRecord {
  return {
    grant_id: 'grant-0123456789abcdef',
    client_id: 'client-1',
    sub: 'alice',
    scope: 'read write',
    resource: 'http://localhost:8787/mcp',
    redirect_uri: 'http://127.0.0.1:9999/callback',
    code_hash: 'hash-of-code-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',
    code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
    code_expires_at: NOW + 600,
    code_redeemed_at: null,
    refresh_expires_at: null,
    created_at: NOW,
    ...NO_UPSTREAM,
    ...overrides,
  };
}

/** The redemption of grantRecord()'s code by its own client at NOW + 10: right verifier, redirect_uri and resource. */
export function redemptionInput(overrides: Partial<CodeRedemptionInput> = {}): CodeRedemptionInput {
  const grant = grantRecord();
  return {
    codeHash: grant.code_hash,
    clientId: grant.client_id,
    redirectUri: grant.redirect_uri,
    verifierChallenge: grant.code_challenge,
    resource: grant.resource,
    now: NOW + 10,
    ...overrides,
  };
}

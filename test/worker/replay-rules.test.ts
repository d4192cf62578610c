import { describe, expect, it } from 'vitest';
import { decideCodeRedemption, type CodeRedemptionInput } from '../../src/grants/authorization-code';
import type { GrantRecord } from '../../src/grants/grant-record';
import { codeFor, exchangeCode, pkce, postForm, refresh, registerClient, tokensFor, type TokenResponse } from './helpers';
import { NOW, grantRecord, redemptionInput } from './grant-fixture';

/** A grant whose code was redeemed at NOW + 5 and which holds a refresh token. */
const redeemedGrant = (overrides: Partial<GrantRecord> = {}): GrantRecord =>
  grantRecord({ scope: 'read', code_redeemed_at: NOW + 5, refresh_expires_at: NOW + 3600, ...overrides });

describe('decideCodeRedemption: only the code owner revokes by replay (OAuth 2.1 §4.1.3, RFC 9700 §4.5.3)', () => {
  const cases: [string, Partial<CodeRedemptionInput>, 'replay' | 'reject', string?][] = [
    ['RFC 9700 §4.5.3: a used code with the right verifier, client and redirect_uri is a replay', {}, 'replay'],
    ['RFC 9700 §4.5.3: a used code with the right verifier and no redirect_uri is a replay', { redirectUri: undefined }, 'replay'],
    ['RFC 9700 §4.5.3: a used code replayed by its owner after expiry is still a replay', { now: NOW + 10_000 }, 'replay'],
    ['RFC 9700 §4.5.3: a used code with the right verifier but another resource is still a replay', { resource: 'https://other.example/mcp' }, 'replay'],
    ['RFC 7636 §4.6: a used code with a wrong verifier is invalid_grant, not a replay', { verifierChallenge: 'X'.repeat(43) }, 'reject', 'invalid_grant'],
    [
      'RFC 7636 §4.6: a used code with a wrong verifier after expiry is invalid_grant, not a replay',
      { verifierChallenge: 'X'.repeat(43), now: NOW + 10_000 },
      'reject',
      'invalid_grant',
    ],
    [
      'RFC 6749 §4.1.3: a used code with a different redirect_uri is invalid_grant, not a replay',
      { redirectUri: 'http://127.0.0.1:9999/other' },
      'reject',
      'invalid_grant',
    ],
    ['RFC 6749 §4.1.3: a used code presented by another client is invalid_grant, not a replay', { clientId: 'client-2' }, 'reject', 'invalid_grant'],
  ];
  for (const [what, overrides, outcome, error] of cases) {
    it(what, () => {
      const decision = decideCodeRedemption(redeemedGrant(), redemptionInput(overrides));
      expect(decision.outcome).toBe(outcome);
      if (error) expect(decision).toMatchObject({ outcome: 'reject', error });
    });
  }
});

describe('POST /token: a code replay revokes only when the presenter owns the code (RFC 9700 §4.5.3)', () => {
  it('RFC 9700 §4.5.3: a used code replayed with a wrong verifier is invalid_grant and the grant lives on', async () => {
    const flow = await codeFor();
    const first = await exchangeCode(flow);
    expect(first.status).toBe(200);
    const tokens = (await first.json()) as TokenResponse;
    const attacker = await pkce();
    const replay = await exchangeCode({ ...flow, verifier: attacker.verifier });
    expect(replay.status).toBe(400);
    expect(((await replay.json()) as { error: string }).error).toBe('invalid_grant');
    // The legitimate session is untouched: its access token is active and its refresh token works.
    const introspection = await postForm('/introspect', { token: tokens.access_token, client_id: flow.client.client_id });
    expect(((await introspection.json()) as { active: boolean }).active).toBe(true);
    const refreshed = await refresh(flow.client, tokens.refresh_token!);
    expect(refreshed.status).toBe(200);
  });

  it('RFC 9700 §4.5.3: a used code replayed with its own verifier revokes the grant', async () => {
    const flow = await codeFor();
    const tokens = (await (await exchangeCode(flow)).json()) as TokenResponse;
    const replay = await exchangeCode(flow);
    expect(replay.status).toBe(400);
    expect(((await replay.json()) as { error: string }).error).toBe('invalid_grant');
    expect((await refresh(flow.client, tokens.refresh_token!)).status).toBe(400);
  });

  it('RFC 6749 §6, RFC 9700 §4.14.2: a rotated refresh token presented by another client is invalid_grant and the family lives on', async () => {
    const { flow, tokens } = await tokensFor();
    const rotated = (await (await refresh(flow.client, tokens.refresh_token!)).json()) as TokenResponse;
    const other = await registerClient();
    const stolen = await refresh(other, tokens.refresh_token!);
    expect(stolen.status).toBe(400);
    expect(((await stolen.json()) as { error: string }).error).toBe('invalid_grant');
    expect((await refresh(flow.client, rotated.refresh_token!)).status).toBe(200);
  });
});

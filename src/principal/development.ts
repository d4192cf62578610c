import type { PrincipalResolver } from './types.js';
import { isLoopbackHost } from '../protocol/redirect-uri.js';

const NAME = /^[\p{L}\p{N} ._@'-]{1,64}$/u;

export const DEVELOPMENT_SIGN_IN_REFUSED =
  'The development sign-in (a typed name) runs only on a localhost issuer reached at its own address. ' +
  'Set ISSUER to the address users reach, and sign users in with cloudflareAccess (CF_ACCESS_TEAM_DOMAIN, CF_ACCESS_AUD) or customPrincipal; ' +
  'developmentSignIn({ force: true }) (DEVELOPMENT_SIGN_IN=force) is for testing only.';

/**
 * Whether a request may use the development sign-in: it must arrive on the issuer's own origin
 * (scheme, host, port), and that origin must be loopback unless forced. Pure.
 */
export function developmentSignInRefusal(input: { requestUrl: URL; issuerUrl: URL; force: boolean }): string | undefined {
  if (input.requestUrl.origin !== input.issuerUrl.origin) return DEVELOPMENT_SIGN_IN_REFUSED;
  if (!input.force && !isLoopbackHost(input.requestUrl.hostname)) return DEVELOPMENT_SIGN_IN_REFUSED;
  return undefined;
}

export interface DevelopmentSignInOptions {
  /** Also on a public https issuer. For testing only: a typed name proves nothing. */
  force?: boolean;
}

/**
 * Development sign-in: whoever approves types a name on the consent page; it becomes `sub`.
 * It proves nothing about the user, so it is the default only on loopback issuers, refuses
 * a public issuer unless `force: true`, and is offered only to requests that arrive on the
 * issuer's own origin (never because of an issuer string alone).
 *
 * @example
 * ```ts
 * import { createMcpAuth, developmentSignIn } from 'mcp-auth-edge';
 *
 * // The default on a localhost issuer; named here for clarity.
 * const auth = createMcpAuth({
 *   issuer: 'http://localhost:8787',
 *   resources: ['http://localhost:8787/mcp'],
 *   scopes: ['mcp:tools:read'],
 *   principal: developmentSignIn(),
 * });
 * ```
 */
export function developmentSignIn(options: DevelopmentSignInOptions = {}): PrincipalResolver {
  const force = options.force === true;
  return {
    kind: 'development',
    signInField: true,
    allowedOnPublicIssuer: force,
    refusal: ({ requestUrl, issuerUrl }) => developmentSignInRefusal({ requestUrl, issuerUrl, force }),
    async resolve({ form }) {
      const name = form?.get('username')?.trim();
      if (!name || !NAME.test(name)) return undefined;
      return { id: name, displayName: name };
    },
  };
}

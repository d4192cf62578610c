import type { PrincipalResolver } from './types.js';

const NAME = /^[\p{L}\p{N} ._@'-]{1,64}$/u;

/**
 * Development sign-in: whoever approves types a name on the consent page; it becomes `sub`.
 * It proves nothing about the user, so it is the default only on loopback issuers and refuses
 * a public issuer unless `force: true`.
 */
export function developmentSignIn(options: { force?: boolean } = {}): PrincipalResolver {
  return {
    kind: 'development',
    signInField: true,
    production: options.force === true,
    async resolve({ form }) {
      const name = form?.get('username')?.trim();
      if (!name || !NAME.test(name)) return undefined;
      return { id: name, displayName: name };
    },
  };
}

import type { Principal, PrincipalResolver } from './types.js';

/** Your own way of knowing the user: a session cookie, an upstream header, … */
export function customPrincipal(resolve: (request: Request, env: unknown) => Principal | undefined | Promise<Principal | undefined>): PrincipalResolver {
  return {
    kind: 'custom',
    allowedOnPublicIssuer: true,
    resolve: ({ request, env }) => Promise.resolve(resolve(request, env)),
  };
}

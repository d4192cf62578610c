import type { Principal, PrincipalResolver } from './types.js';

/** Who the user of a request is (undefined: nobody, `access_denied`). `env` is the worker's bindings. */
export type ResolvePrincipal = (request: Request, env: unknown) => Principal | undefined | Promise<Principal | undefined>;

/**
 * Your own way of knowing the user: a session cookie, an upstream header, … `resolve` answers
 * the user, or undefined for nobody (the authorization ends with `access_denied`).
 *
 * @example
 * ```ts
 * import { createMcpAuth, customPrincipal } from 'mcp-auth-edge';
 *
 * const auth = createMcpAuth({
 *   issuer: 'https://mcp.example.com',
 *   resources: ['https://mcp.example.com/mcp'],
 *   scopes: ['mcp:tools:read'],
 *   // A header set by your own authenticating proxy (never one a browser can set).
 *   principal: customPrincipal((request) => {
 *     const user = request.headers.get('X-Authenticated-User');
 *     return user ? { id: user, displayName: user } : undefined;
 *   }),
 * });
 * ```
 */
export function customPrincipal(resolve: ResolvePrincipal): PrincipalResolver {
  return {
    kind: 'custom',
    allowedOnPublicIssuer: true,
    resolve: ({ request, env }) => Promise.resolve(resolve(request, env)),
  };
}

import { createRemoteJWKSet, jwtVerify, type JWTVerifyGetKey } from 'jose';
import type { PrincipalResolver } from './types.js';

export interface CloudflareAccessOptions {
  /** The Access team domain, `https://<team>.cloudflareaccess.com`. */
  teamDomain: string;
  /** The Access application's AUD tag. */
  audience: string;
  /** The keys to verify with; default the team's JWKS (`/cdn-cgi/access/certs`). */
  keys?: JWTVerifyGetKey;
}

/**
 * Cloudflare Access: the user signed in at Access, which forwards a signed JWT in
 * `Cf-Access-Jwt-Assertion`. It is verified against the team's JWKS (`/cdn-cgi/access/certs`)
 * with the application's AUD tag; `sub` (or email) becomes the principal. A request without a
 * valid assertion is nobody (`access_denied`).
 *
 * @example
 * ```ts
 * import { createMcpAuth, cloudflareAccess } from 'mcp-auth-edge';
 *
 * const auth = createMcpAuth({
 *   issuer: 'https://mcp.example.com',
 *   resources: ['https://mcp.example.com/mcp'],
 *   scopes: ['mcp:tools:read'],
 *   principal: cloudflareAccess({ teamDomain: 'https://acme.cloudflareaccess.com', audience: '<AUD tag>' }),
 * });
 * ```
 */
export function cloudflareAccess(options: CloudflareAccessOptions): PrincipalResolver {
  const teamDomain = options.teamDomain.replace(/\/$/, '');
  if (!/^https:\/\/[^/]+$/.test(teamDomain)) throw new TypeError('mcp-auth-edge: cloudflareAccess teamDomain must be https://<team>.cloudflareaccess.com');
  if (!options.audience) throw new TypeError('mcp-auth-edge: cloudflareAccess audience (the application AUD tag) is required');
  const keys = options.keys ?? createRemoteJWKSet(new URL(`${teamDomain}/cdn-cgi/access/certs`));
  return {
    kind: 'cloudflare-access',
    allowedOnPublicIssuer: true,
    async resolve({ request }) {
      const assertion = request.headers.get('Cf-Access-Jwt-Assertion');
      if (!assertion) return undefined;
      try {
        const { payload } = await jwtVerify(assertion, keys, { issuer: teamDomain, audience: options.audience, algorithms: ['RS256'] });
        const email = typeof payload.email === 'string' ? payload.email : undefined;
        const id = payload.sub || email;
        return id ? { id, displayName: email ?? id } : undefined;
      } catch {
        return undefined;
      }
    },
  };
}

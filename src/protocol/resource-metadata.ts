/** RFC 9728 §2 protected resource metadata for one MCP resource. */
export interface ProtectedResourceMetadata {
  resource: string;
  authorization_servers: string[];
  scopes_supported?: string[];
  bearer_methods_supported: ['header'];
  resource_name?: string;
  resource_documentation?: string;
}

export function protectedResourceMetadataDocument(input: {
  resource: string;
  authorizationServers: string[];
  scopesSupported?: readonly string[];
  resourceName?: string;
}): ProtectedResourceMetadata {
  const doc: ProtectedResourceMetadata = {
    resource: input.resource,
    authorization_servers: input.authorizationServers,
    bearer_methods_supported: ['header'], // MCP: tokens only in the Authorization header
  };
  // MCP 2026-07: never advertise offline_access for a resource.
  const scopes = input.scopesSupported?.filter((s) => s !== 'offline_access');
  if (scopes && scopes.length > 0) doc.scopes_supported = scopes;
  if (input.resourceName) doc.resource_name = input.resourceName;
  return doc;
}

/**
 * RFC 9728 §3.1: the metadata URL inserts `/.well-known/oauth-protected-resource` between the
 * host and the path of the resource identifier.
 */
export function protectedResourceMetadataUrl(resource: string): string {
  const url = new URL(resource);
  const path = url.pathname === '/' ? '' : url.pathname.replace(/\/$/, '');
  return `${url.origin}/.well-known/oauth-protected-resource${path}`;
}

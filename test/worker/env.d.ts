// Types of the bindings and exports the workerd tests see (wrangler.toml).
declare namespace Cloudflare {
  interface GlobalProps {
    mainModule: typeof import('../../src/index');
    durableNamespaces: 'McpAuthState';
  }
  interface Env {
    ISSUER: string;
    RESOURCE: string;
    SCOPES: string;
    MCP_AUTH_CLIENTS: KVNamespace;
    MCP_AUTH_STATE: DurableObjectNamespace<import('../../src/storage/state-object').McpAuthState>;
  }
}

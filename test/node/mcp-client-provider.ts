import { auth, type OAuthClientProvider } from '@modelcontextprotocol/sdk/client/auth.js';
import type { OAuthClientInformationMixed, OAuthClientMetadata, OAuthTokens } from '@modelcontextprotocol/sdk/shared/auth.js';
import type {
  OAuthClientMetadata as OAuthClientMetadataV2,
  OAuthClientProvider as OAuthClientProviderV2,
  OAuthDiscoveryState,
  StoredOAuthClientInformation,
  StoredOAuthTokens,
} from '@modelcontextprotocol/client';
import { approveHeadlessly } from '../../scripts/lib/headless-consent.mjs';
import { startWorker, type RunningWorker } from './worker-server';

/**
 * An OAuthClientProvider for the official MCP SDK client, driven without a browser: the
 * "redirect" goes through the consent page headlessly and keeps the authorization code.
 * Everything the SDK hands over is stored unchanged (it carries an `issuer`).
 */
export class HeadlessOAuthProvider implements OAuthClientProvider {
  client?: OAuthClientInformationMixed;
  saved?: OAuthTokens;
  verifier = '';
  /** The code from the last authorization, for `finishAuth` / `auth({ authorizationCode })`. */
  lastCode?: string;
  lastAuthorizationUrl?: URL;
  authorizations = 0;

  constructor(
    readonly redirectUrl: string,
    private readonly options: { username?: string; scope?: string; clientName?: string; upstreamConsent?: (consentUrl: URL) => Promise<URL> } = {},
  ) {}

  get clientMetadata(): OAuthClientMetadata {
    return {
      client_name: this.options.clientName ?? 'MCP SDK test client',
      redirect_uris: [this.redirectUrl],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
      ...(this.options.scope ? { scope: this.options.scope } : {}),
    };
  }

  clientInformation() {
    return this.client;
  }
  saveClientInformation(info: OAuthClientInformationMixed) {
    this.client = info;
  }
  tokens() {
    return this.saved;
  }
  saveTokens(tokens: OAuthTokens) {
    this.saved = tokens;
  }
  saveCodeVerifier(verifier: string) {
    this.verifier = verifier;
  }
  codeVerifier() {
    return this.verifier;
  }
  async redirectToAuthorization(url: URL) {
    this.authorizations += 1;
    this.lastAuthorizationUrl = url;
    const callback = await approveHeadlessly(url.href, { username: this.options.username ?? 'sdk-user', upstreamConsent: this.options.upstreamConsent });
    const code = callback.searchParams.get('code');
    if (!code) throw new Error(`authorization failed: ${callback.search}`);
    this.lastCode = code;
  }
}

/**
 * The same headless provider for the MCP SDK v2 client (`@modelcontextprotocol/client`). v2 binds
 * the callback to the authorization server it was sent to (RFC 9207 `iss`, SEP-2352): it keeps the
 * discovery state across the "redirect" and the whole callback URL, for `finishAuth(searchParams)`.
 */
export class HeadlessOAuthProviderV2 implements OAuthClientProviderV2 {
  client?: StoredOAuthClientInformation;
  saved?: StoredOAuthTokens;
  discovery?: OAuthDiscoveryState;
  verifier = '';
  /** The last callback URL (code and iss), for `transport.finishAuth(lastCallback.searchParams)`. */
  lastCallback?: URL;
  lastAuthorizationUrl?: URL;
  authorizations = 0;

  constructor(
    readonly redirectUrl: string,
    private readonly options: { username?: string; upstreamConsent?: (consentUrl: URL) => Promise<URL> } = {},
  ) {}

  get clientMetadata(): OAuthClientMetadataV2 {
    return {
      client_name: 'MCP SDK v2 test client',
      redirect_uris: [this.redirectUrl],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    };
  }

  clientInformation() {
    return this.client;
  }
  saveClientInformation(info: StoredOAuthClientInformation) {
    this.client = info;
  }
  tokens() {
    return this.saved;
  }
  saveTokens(tokens: StoredOAuthTokens) {
    this.saved = tokens;
  }
  saveCodeVerifier(verifier: string) {
    this.verifier = verifier;
  }
  codeVerifier() {
    return this.verifier;
  }
  saveDiscoveryState(state: OAuthDiscoveryState) {
    this.discovery = state;
  }
  discoveryState() {
    return this.discovery;
  }
  async redirectToAuthorization(url: URL) {
    this.authorizations += 1;
    this.lastAuthorizationUrl = url;
    const callback = await approveHeadlessly(url.href, { username: this.options.username ?? 'sdk-user', upstreamConsent: this.options.upstreamConsent });
    if (!callback.searchParams.get('code')) throw new Error(`authorization failed: ${callback.search}`);
    this.lastCallback = callback;
  }
}

/**
 * The example MCP server (bundled by global-setup) on a real port, and an access token for its
 * `/mcp` with `mcp:tools:read`, obtained by the MCP SDK client's own flow.
 */
export async function startAuthorizedExample(options: {
  callbackPort: number;
  username: string;
}): Promise<{ worker: RunningWorker; mcp: string; accessToken: string }> {
  const worker = await startWorker({}, '.test-dist/example/index.js');
  const mcp = `${worker.url}/mcp`;
  const provider = new HeadlessOAuthProvider(`http://127.0.0.1:${options.callbackPort}/callback`, { username: options.username });
  if ((await auth(provider, { serverUrl: mcp, scope: 'mcp:tools:read' })) !== 'REDIRECT') throw new Error('the MCP SDK client did not start an authorization');
  if ((await auth(provider, { serverUrl: mcp, authorizationCode: provider.lastCode })) !== 'AUTHORIZED')
    throw new Error('the MCP SDK client was not authorized');
  return { worker, mcp, accessToken: provider.saved!.access_token };
}

/** A fetch for the client that notes the grant_type of every token request it sends. */
export function recordingTokenGrants(): { fetch: typeof fetch; grantTypes: string[] } {
  const grantTypes: string[] = [];
  return {
    grantTypes,
    fetch: async (input, init) => {
      const body = init?.body;
      if (body instanceof URLSearchParams && body.has('grant_type')) grantTypes.push(body.get('grant_type')!);
      return fetch(input, init);
    },
  };
}

/** The text of a tool result's first content item. */
export function toolText(result: unknown): string {
  return (result as { content: { text: string }[] }).content[0]!.text;
}

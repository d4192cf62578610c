export function approveHeadlessly(
  authorizationUrl: string,
  options?: {
    username?: string;
    action?: 'approve' | 'deny';
    fetch?: typeof fetch;
    /** Grantex mode: decide on the grant authority's consent page; return where it sends the browser. */
    upstreamConsent?: (consentUrl: URL) => Promise<URL>;
  },
): Promise<URL>;

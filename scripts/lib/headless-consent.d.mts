export function approveHeadlessly(
  authorizationUrl: string,
  options?: { username?: string; action?: 'approve' | 'deny'; fetch?: typeof fetch },
): Promise<URL>;

// Drives the consent page like a browser would, without one: GET the authorization URL, read
// the form's signed request and the CSRF cookie, POST the decision, return the redirect.
// Used by the Node tests with real clients and by scripts/conformance.mjs.

/**
 * @param {string} authorizationUrl
 * @param {{ username?: string, action?: 'approve' | 'deny', fetch?: typeof fetch }} [options]
 * @returns {Promise<URL>} the Location the server redirected to (the client's redirect URI)
 */
export async function approveHeadlessly(authorizationUrl, options = {}) {
  const doFetch = options.fetch ?? fetch;
  const page = await doFetch(authorizationUrl, { redirect: 'manual' });
  if (page.status === 302 || page.status === 303) return new URL(page.headers.get('location'));
  const html = await page.text();
  if (page.status !== 200) throw new Error(`authorization page answered ${page.status}: ${html.slice(0, 200)}`);
  const request = /name="request" value="([^"]+)"/.exec(html)?.[1];
  const action = /<form method="post" action="([^"]+)"/.exec(html)?.[1];
  const cookie = page.headers.get('set-cookie')?.split(';')[0];
  if (!request || !action || !cookie) throw new Error('the authorization page has no consent form');
  const target = new URL(action, authorizationUrl);
  const decision = await doFetch(target, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', Cookie: cookie, Origin: target.origin },
    body: new URLSearchParams({ request, action: options.action ?? 'approve', username: options.username ?? 'alice' }),
  });
  if (decision.status !== 303) throw new Error(`consent answered ${decision.status}: ${(await decision.text()).slice(0, 200)}`);
  return new URL(decision.headers.get('location'));
}

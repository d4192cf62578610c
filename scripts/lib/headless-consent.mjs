// Drives the consent page like a browser would, without one: GET the authorization URL, read
// the form's signed request and the CSRF cookie, POST the decision, return the redirect.
// Used by the Node tests with real clients and by scripts/conformance.mjs.

/** `name=value` pairs of every Set-Cookie of a response (what a browser would send back). */
function cookiesOf(response) {
  return response.headers
    .getSetCookie()
    .map((c) => c.split(';')[0])
    .filter((c) => !c.endsWith('='));
}

/**
 * @param {string} authorizationUrl
 * @param {{ username?: string, action?: 'approve' | 'deny', fetch?: typeof fetch,
 *           upstreamConsent?: (consentUrl: URL) => Promise<URL> }} [options]
 *   `upstreamConsent` (Grantex mode): decides on the grant authority's consent page and returns
 *   the URL it sends the browser back to (our callback).
 * @returns {Promise<URL>} the Location the server finally redirected to (the client's redirect URI)
 */
export async function approveHeadlessly(authorizationUrl, options = {}) {
  const doFetch = options.fetch ?? fetch;
  const origin = new URL(authorizationUrl).origin;
  const page = await doFetch(authorizationUrl, { redirect: 'manual' });
  let location;
  let cookies = [];
  if (page.status === 302 || page.status === 303) {
    location = new URL(page.headers.get('location'), authorizationUrl);
    cookies = cookiesOf(page);
  } else {
    const html = await page.text();
    if (page.status !== 200) throw new Error(`authorization page answered ${page.status}: ${html.slice(0, 200)}`);
    const request = /name="request" value="([^"]+)"/.exec(html)?.[1];
    const action = /<form method="post" action="([^"]+)"/.exec(html)?.[1];
    const cookie = cookiesOf(page)[0];
    if (!request || !action || !cookie) throw new Error('the authorization page has no consent form');
    const target = new URL(action, authorizationUrl);
    const decision = await doFetch(target, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', Cookie: cookie, Origin: target.origin },
      body: new URLSearchParams({ request, action: options.action ?? 'approve', username: options.username ?? 'alice' }),
    });
    if (decision.status !== 303) throw new Error(`consent answered ${decision.status}: ${(await decision.text()).slice(0, 200)}`);
    location = new URL(decision.headers.get('location'));
    cookies = cookiesOf(decision);
  }
  // Grantex mode: the user is sent on to the grant authority's consent page, then back to us.
  if (options.upstreamConsent && location.origin !== origin) {
    const callback = await options.upstreamConsent(location);
    const back = await doFetch(callback, { redirect: 'manual', headers: cookies.length ? { Cookie: cookies.join('; ') } : {} });
    if (back.status !== 303) throw new Error(`callback answered ${back.status}: ${(await back.text()).slice(0, 200)}`);
    location = new URL(back.headers.get('location'));
  }
  return location;
}

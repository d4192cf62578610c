// A transparent loopback reverse proxy in front of `wrangler dev`, used by scripts/conformance.mjs.
// The proxy's origin is the issuer the worker is configured with, so every request the
// conformance tool (and the headless consent driver) makes passes through it unchanged. It
// records each POST /token exchange (request headers and form body, response status and body)
// so the script can tell *why* a token request failed — e.g. that a confidential client's run
// failed only because the tool authenticated with `none` and the server answered 401
// `invalid_client` — instead of guessing from the tool's "Invalid status code: 401".

import http from 'node:http';

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer']);

/**
 * @param {{ upstreamPort: number, recordPaths?: string[] }} options
 * @returns {Promise<{ port: number, exchanges: Array<object>, close: () => Promise<void> }>}
 */
export async function startRecordingProxy({ upstreamPort, recordPaths = ['/token'] }) {
  /** @type {Array<{ at: string, method: string, path: string, request: { authorization: string | null, form: Record<string, string[]> }, status?: number, response?: unknown, error?: string }>} */
  const exchanges = [];
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const record = req.method === 'POST' && recordPaths.includes(path);
    const requestChunks = [];
    const headers = {};
    for (const [name, value] of Object.entries(req.headers)) if (!HOP_BY_HOP.has(name)) headers[name] = value;
    const upstream = http.request({ host: '127.0.0.1', port: upstreamPort, method: req.method, path: req.url, headers }, (upstreamRes) => {
      const responseHeaders = {};
      for (const [name, value] of Object.entries(upstreamRes.headers)) if (!HOP_BY_HOP.has(name)) responseHeaders[name] = value;
      res.writeHead(upstreamRes.statusCode ?? 502, responseHeaders);
      const responseChunks = [];
      upstreamRes.on('data', (chunk) => {
        if (record) responseChunks.push(chunk);
        res.write(chunk);
      });
      upstreamRes.on('end', () => {
        res.end();
        if (!record) return;
        const entry = exchangeEntry(req, path, Buffer.concat(requestChunks).toString('utf8'));
        entry.status = upstreamRes.statusCode;
        entry.wwwAuthenticate = upstreamRes.headers['www-authenticate'] ?? null;
        const text = Buffer.concat(responseChunks).toString('utf8');
        try {
          entry.response = redactTokens(JSON.parse(text));
        } catch {
          entry.response = text.slice(0, 500);
        }
        exchanges.push(entry);
      });
    });
    upstream.on('error', (err) => {
      if (record) exchanges.push({ ...exchangeEntry(req, path, Buffer.concat(requestChunks).toString('utf8')), error: err.message });
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(`proxy: upstream error: ${err.message}`);
    });
    req.on('data', (chunk) => {
      if (record) requestChunks.push(chunk);
      upstream.write(chunk);
    });
    req.on('end', () => upstream.end());
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  return {
    port: /** @type {import('node:net').AddressInfo} */ (server.address()).port,
    exchanges,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections?.();
      }),
  };
}

function exchangeEntry(req, path, body) {
  const form = {};
  for (const [name, value] of new URLSearchParams(body))
    (form[name] ??= []).push(name === 'client_secret' || name === 'code' || name === 'code_verifier' || name === 'refresh_token' ? '[redacted]' : value);
  const authorization = req.headers.authorization ?? null;
  return {
    at: new Date().toISOString(),
    method: req.method,
    path,
    request: {
      // Only the scheme is kept: a Basic header carries the client secret.
      authorization: authorization ? authorization.split(' ')[0] : null,
      form,
    },
  };
}

function redactTokens(body) {
  if (!body || typeof body !== 'object') return body;
  const copy = { ...body };
  for (const key of ['access_token', 'refresh_token', 'id_token']) if (typeof copy[key] === 'string') copy[key] = '[redacted]';
  return copy;
}

// One load run with autocannon's programmatic API, on 127.0.0.1 only, bounded in time and count.
import autocannon from 'autocannon';

/**
 * @typedef {object} LoadSpec
 * @property {string} url            base URL (http://127.0.0.1:PORT), the only target allowed
 * @property {string} path
 * @property {'GET'|'POST'} [method]
 * @property {Record<string,string>} [headers]
 * @property {string} [body]         a fixed body
 * @property {() => string | undefined} [nextValue]  a fresh value per request (code, refresh token)
 * @property {(value: string) => string} [bodyFor]   the body carrying that value
 * @property {number} connections
 * @property {number} seconds        upper bound on the run's length
 * @property {number} [maxRequests]  upper bound on the requests sent
 * @property {(status: number, body: string) => void} [onResponse]
 */

/** Exact percentile of a sorted sample (nearest rank). */
function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/** @param {LoadSpec} spec */
export async function load(spec) {
  const target = new URL(spec.url);
  if (target.hostname !== '127.0.0.1') throw new Error(`load: refusing a non-loopback target ${spec.url}`);
  const request = { method: spec.method ?? 'GET', path: spec.path, headers: spec.headers ?? {} };
  if (spec.body !== undefined) request.body = spec.body;
  let exhausted = 0;
  if (spec.nextValue) {
    const { nextValue, bodyFor } = spec;
    request.setupRequest = (req) => {
      const value = nextValue();
      if (value === undefined) exhausted++;
      return { ...req, body: bodyFor(value ?? 'exhausted') };
    };
  }
  if (spec.onResponse) request.onResponse = (status, body) => spec.onResponse(status, body);
  const startedAt = performance.now();
  let lastAt = startedAt;
  const run = autocannon({
    url: spec.url,
    connections: spec.connections,
    pipelining: 1,
    duration: spec.seconds,
    ...(spec.maxRequests !== undefined ? { maxOverallRequests: spec.maxRequests } : {}),
    requests: [request],
    timeout: 10,
  });
  // autocannon's own histogram has 1 ms resolution; keep every 2xx latency for exact percentiles.
  const latencies = [];
  run.on('response', (_client, status, _bytes, ms) => {
    lastAt = performance.now();
    if (status >= 200 && status < 300) latencies.push(ms);
  });
  const result = await run;
  latencies.sort((a, b) => a - b);
  // From the start to the last response: autocannon's own duration is the configured one even
  // when the run stopped early at maxOverallRequests.
  const seconds = (lastAt - startedAt) / 1000;
  return {
    seconds,
    requests: result.requests.total,
    ok: result['2xx'],
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
    exhausted,
    rps: result['2xx'] / seconds,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
  };
}

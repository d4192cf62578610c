// In-isolate microbenchmark of token verification, driven from Node. Each request to the micro
// worker (bench/micro) runs one variant N times inside workerd. Timers inside a Worker are coarse
// (frozen during compute in production), so the time per verification is taken here:
// (t(N) − t(0)) / N, with t(0) the median time of an empty request. Variants are interleaved and
// the median of the rounds kept.

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

async function timed(url) {
  const start = performance.now();
  const res = await fetch(url);
  const text = await res.text();
  const ms = performance.now() - start;
  if (res.status !== 200) throw new Error(`micro ${url} answered ${res.status}: ${text.slice(0, 200)}`);
  return ms;
}

/**
 * @param {string} base  the micro worker's URL
 * @param {{ rounds?: number, targetMs?: number }} [options]
 * @returns {Promise<{ n: number, rounds: number, emptyRequestMs: number, variants: Record<string, { usPerOp: number, opsPerSec: number, spreadPct: number }> }>}
 */
export async function runMicro(base, { rounds = 9, targetMs = 200 } = {}) {
  const names = await (await fetch(`${base}/variants`)).json();
  const run = (name, n) => timed(`${base}/run?variant=${encodeURIComponent(name)}&n=${n}`);
  // Warm-up: JIT every variant, then size N so the slowest variant takes about targetMs a request.
  let slowest = 0;
  for (const name of names) {
    await run(name, 300);
    slowest = Math.max(slowest, (await run(name, 300)) / 300);
  }
  const n = Math.max(200, Math.round(targetMs / slowest));
  const empty = [];
  const samples = Object.fromEntries(names.map((name) => [name, []]));
  for (let round = 0; round < rounds; round++) {
    // A different order each round, so drift is spread over every variant.
    const order = names.map((name, i) => names[(i + round) % names.length]);
    for (const name of order) {
      empty.push(await run(name, 0));
      samples[name].push(await run(name, n));
    }
  }
  const emptyRequestMs = median(empty);
  const variants = {};
  for (const name of names) {
    const perOp = samples[name].map((ms) => ((ms - emptyRequestMs) / n) * 1000);
    const usPerOp = median(perOp);
    variants[name] = {
      usPerOp,
      opsPerSec: 1e6 / usPerOp,
      spreadPct: ((Math.max(...perOp) - Math.min(...perOp)) / usPerOp) * 100,
      roundsUs: perOp,
    };
  }
  return { n, rounds, emptyRequestMs, variants };
}

/**
 * A ratio computed within each round (the variants of one round ran back to back) and its
 * median over the rounds: steadier than a ratio of medians when the machine drifts.
 */
export function pairedMedian(micro, f) {
  const rounds = micro.variants[Object.keys(micro.variants)[0]].roundsUs.length;
  const values = [];
  for (let i = 0; i < rounds; i++) values.push(f((name) => micro.variants[name].roundsUs[i]));
  return median(values);
}

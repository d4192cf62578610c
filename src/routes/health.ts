import type { Handler } from 'hono';
import type { AppEnv } from '../http/context.js';
import type { ResolvedOptions } from '../options.js';
import type { Services } from '../services.js';
import { errorFields, type Logger } from '../log.js';

/** The Workers KV key read by health checks; it never exists, a read of it only proves KV answers. */
export const HEALTH_KV_KEY = 'health:probe';
/** How long one isolate reuses a result: a busy monitor costs at most one KV read and one call per interval. */
export const HEALTH_CACHE_SECONDS = 5;
/** RFC 9110 §10.2.3: when a monitor should look again after a failure. */
const RETRY_AFTER_SECONDS = 10;

export type PartStatus = 'ok' | 'failed' | 'not_used';
export interface HealthReport {
  status: 'ok' | 'unavailable';
  checks: { kv: PartStatus; durable_object: PartStatus };
}

/** The overall verdict of the parts' checks. Pure. */
export function healthReport(checks: HealthReport['checks']): HealthReport {
  const failed = Object.values(checks).includes('failed');
  return { status: failed ? 'unavailable' : 'ok', checks };
}

async function check(logger: Logger, part: string, probe: () => Promise<unknown>): Promise<PartStatus> {
  try {
    await probe();
    return 'ok';
  } catch (err) {
    logger.error('health check failed', { part, ...errorFields(err) });
    return 'failed';
  }
}

/**
 * GET /healthz: 200 `{"status":"ok"}` when Workers KV (a read of a fixed key) and the Durable
 * Object (a call that stores nothing) answer, else 503 with `Retry-After` and the part that
 * failed. No secret, no configuration in the answer; never cached downstream (`no-store`). Not
 * counted against a rate limit (which itself needs the Durable Object): the per-isolate result
 * cache bounds what it costs instead.
 */
export function healthCheck(options: ResolvedOptions, services: (env: Record<string, unknown>) => Services): Handler<AppEnv> {
  const cache = new WeakMap<object, { report: Promise<HealthReport>; until: number }>();
  const probe = async (env: Record<string, unknown>): Promise<HealthReport> => {
    const kv = env[options.bindings.clients] as KVNamespace | undefined;
    const [kvStatus, objectStatus] = await Promise.all([
      !kv && options.clientStore ? ('not_used' as const) : check(options.logger, 'kv', async () => kv!.get(HEALTH_KV_KEY)),
      // A missing binding fails here too: the instance's services cannot be built without it.
      check(options.logger, 'durable_object', async () => services(env).health().ping()),
    ]);
    return healthReport({ kv: kvStatus, durable_object: objectStatus });
  };
  return async (c) => {
    const now = options.clock();
    const env = (c.env ?? {}) as Record<string, unknown>;
    let cached = cache.get(env);
    if (!cached || cached.until <= now) cache.set(env, (cached = { report: probe(env), until: now + HEALTH_CACHE_SECONDS }));
    const report = await cached.report;
    const ok = report.status === 'ok';
    return c.json(report, ok ? 200 : 503, {
      'Cache-Control': 'no-store',
      ...(ok ? {} : { 'Retry-After': String(RETRY_AFTER_SECONDS) }),
    });
  };
}

import type { MiddlewareHandler } from 'hono';
import { OAuthError } from '../errors.js';
import { defer } from '../services.js';
import {
  addressLimitOf,
  policyHeaders,
  type ClientKeyedEndpoint,
  type RateLimit,
  type RateLimitDecision,
  type RateLimitedEndpoint,
} from '../rate-limit/limits.js';
import { sha256 } from '../crypto.js';
import type { AppContext, AppEnv } from './context.js';

/** The request's client address to count against (option `clientAddress`); undefined: none known. */
export function clientAddress(c: AppContext): string | undefined {
  return c.var.services.options.clientAddress(c.req.raw);
}

/**
 * How the requests of an endpoint name their client for counting: not at all (per address
 * only), in the `client_id` query parameter, or in the body, which the route reads first and
 * then reports with `countClient`.
 */
export type ClientIdSource = 'none' | 'query' | 'route';

/** GET /authorize names its client in the query; /token in the body (or Basic credentials). */
const CLIENT_ID_SOURCE: Record<ClientKeyedEndpoint, ClientIdSource> = { authorize: 'query', token: 'route' };

/** A request counted per client and address from the route (/token), waiting for its client id. */
export interface ClientCount {
  endpoint: RateLimitedEndpoint;
  limit: RateLimit;
  address: string;
  /** The per-address count, started before the route ran. */
  perAddress: Promise<RateLimitDecision>;
  /** Set once the route has named its client. */
  perClient?: RateLimitDecision;
}

/**
 * Counts the request in fixed-window buckets, one Durable Object each. With `clientId` 'none',
 * one bucket per address at `limit`. Otherwise one per (client, address) at `limit` and one per
 * address at `addressLimit`, counted together: users of one hosted client behind one address
 * share only that client's budget, and one client cannot exhaust another's. With 'route' the
 * per-address count starts at once and the route names the client before any storage work
 * (`countClient`); a request that fails before that counts against the address only. Without a
 * client address nothing is counted (see `ClientAddressSource`), and the operator is told once.
 */
export function rateLimit(endpoint: RateLimitedEndpoint, limit: RateLimit): MiddlewareHandler<AppEnv> {
  const clientId = CLIENT_ID_SOURCE[endpoint as ClientKeyedEndpoint] ?? 'none';
  let warned = false;
  return async (c, next) => {
    const services = c.var.services;
    const address = clientAddress(c);
    if (address === undefined) {
      if (!warned) services.options.logger.warn('no client address, so requests are not rate limited; set the clientAddress option', { endpoint });
      warned = true;
      return next();
    }
    if (clientId === 'route') return countPerClientInRoute(c, next, { endpoint, limit, address, perAddress: hit(c, endpoint, address, addressLimitOf(limit)) });
    let headers: Record<string, string>;
    if (clientId === 'query') {
      const counted = await countPerClient(
        c,
        { endpoint, limit, address, perAddress: hit(c, endpoint, address, addressLimitOf(limit)) },
        c.req.query('client_id') ?? '',
      );
      if (counted.refused) throw counted.refused;
      headers = counted.headers;
    } else {
      const decision = await hit(c, endpoint, address, limit);
      headers = policyHeaders([[endpoint, decision]]);
      if (!decision.allowed) throw refusal(c, endpoint, address, decision, headers);
    }
    await next();
    for (const [name, value] of Object.entries(headers)) c.res.headers.set(name, value);
  };
}

async function countPerClientInRoute(c: AppContext, next: () => Promise<void>, count: ClientCount): Promise<void> {
  count.perAddress.catch(() => undefined); // awaited by countClient or below
  c.set('clientCount', count);
  await next();
  const perAddress = await count.perAddress;
  const policies = [...(count.perClient ? [[count.endpoint, count.perClient] as const] : []), [`${count.endpoint}-address`, perAddress] as const];
  const headers = policyHeaders(policies);
  if (!count.perClient && !perAddress.allowed) c.res = refusal(c, count.endpoint, count.address, perAddress, headers).toResponse();
  for (const [name, value] of Object.entries(headers)) c.res.headers.set(name, value);
}

/**
 * The route names the client of a request whose endpoint counts per client from the route
 * (/token), before any storage work: 429 when its (client, address) bucket or its address
 * bucket is exhausted. Elsewhere (another endpoint, or no client address) it does nothing.
 */
export async function countClient(c: AppContext, clientId: string | undefined): Promise<void> {
  const count = c.var.clientCount;
  if (!count || count.perClient) return;
  const counted = await countPerClient(c, count, clientId ?? '');
  count.perClient = counted.perClient;
  if (counted.refused) throw counted.refused;
}

/**
 * Counts a request in its (client, address) bucket at `limit`, beside its per-address count
 * (already started). The refusal, when either is exhausted, names the exhausted bucket; the
 * headers describe both policies.
 */
async function countPerClient(
  c: AppContext,
  count: Pick<ClientCount, 'endpoint' | 'limit' | 'address' | 'perAddress'>,
  clientId: string,
): Promise<{ perClient: RateLimitDecision; headers: Record<string, string>; refused?: OAuthError }> {
  const { endpoint, address } = count;
  const client = `${address} ${await clientKey(clientId)}`;
  const [perClient, perAddress] = await Promise.all([hit(c, `${endpoint}-client`, client, count.limit), count.perAddress]);
  const headers = policyHeaders([
    [endpoint, perClient],
    [`${endpoint}-address`, perAddress],
  ]);
  const refused = !perClient.allowed
    ? refusal(c, endpoint, client, perClient, headers)
    : !perAddress.allowed
      ? refusal(c, endpoint, address, perAddress, headers)
      : undefined;
  return { perClient, headers, refused };
}

function hit(c: AppContext, bucket: string, key: string, limit: RateLimit): Promise<RateLimitDecision> {
  const services = c.var.services;
  return services.rateLimitBucket(bucket, key).hitRateLimit({ limit: limit.limit, windowSeconds: limit.windowSeconds, now: services.now() });
}

/** A client id as it names its bucket: as sent, or its hash when it is long or not visible ASCII. */
async function clientKey(clientId: string): Promise<string> {
  return /^[\x21-\x7E]{0,256}$/.test(clientId) ? clientId : `sha256:${await sha256(clientId)}`;
}

/** The 429 of an exhausted bucket (`key` names it), audited as `security.rate_limited`. */
function refusal(c: AppContext, endpoint: RateLimitedEndpoint, key: string, refused: RateLimitDecision, headers: Record<string, string>): OAuthError {
  defer(c, c.var.services.emit({ type: 'security.rate_limited', endpoint, key, limit: refused.limit, windowSeconds: refused.windowSeconds }));
  return new OAuthError('temporarily_unavailable', 'Too many requests; retry later.', { status: 429, headers });
}

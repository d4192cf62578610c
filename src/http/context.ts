import type { Context } from 'hono';
import type { Services } from '../services.js';
import type { ClientCount } from './rate-limit.js';

/** The Hono environment of the authorization server's app: the request's services and its pending per-client count. */
export type AppEnv = { Bindings: Record<string, unknown>; Variables: { services: Services; clientCount: ClientCount | undefined } };
export type AppContext = Context<AppEnv>;

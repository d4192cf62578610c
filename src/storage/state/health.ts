import type { HealthProbe } from '../stores.js';

/** Instance `health`: answers `GET /healthz` and holds no table. */
export class HealthState implements HealthProbe {
  /** The Durable Object answers (no storage touched). */
  async ping(): Promise<'ok'> {
    return 'ok';
  }
}

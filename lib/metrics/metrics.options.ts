import type { Registry } from 'prom-client';

export interface ResqueMetricsModuleOptions {
  /** Where the Resque metrics are registered. Default prom-client's global `register` (your other metrics included). */
  registry?: Registry;
  /** How long a scrape waits for Redis before it reports `resque_redis_up 0`. Default 2000 ms. */
  timeoutMs?: number;
}

/** The module's options (its own file, so the service does not import the module definition). */
export const RESQUE_METRICS_OPTIONS = Symbol('RESQUE_METRICS_OPTIONS');

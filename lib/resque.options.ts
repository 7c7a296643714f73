import type { Cluster, Redis, RedisOptions } from 'ioredis';
import type { ResqueClusterConnection } from './connection/connection.types.js';

/**
 * Where Redis is: a URL (`redis://`, `rediss://`, `tcp://`, `unix://`), php-resque's `host:port` /
 * REDIS_BACKEND forms (db index included), ioredis options (Sentinel included), an existing ioredis
 * `Redis` or `Cluster` client (used, never closed), or `{ cluster: [{ host, port }, …], clusterOptions? }`
 * for a Redis Cluster we create and close (see ResqueClusterConnection).
 *
 * With a Cluster (either form) the namespace must carry a hash tag, e.g. `namespace: '{resque}'`, so every
 * key lands in one slot; without one the connection throws at construction.
 */
export type ResqueConnectionInput = string | RedisOptions | Redis | Cluster | ResqueClusterConnection;

import type { RecurringScheduleConfig } from './scheduler/scheduler.types.js';
export type { RecurringScheduleConfig };

export interface ResqueModuleOptions {
  /** Defaults to 127.0.0.1:6379, db 0. */
  connection?: ResqueConnectionInput;
  /**
   * Key namespace; `foo` and php's `foo:` both give `foo:` keys. Defaults to `resque`. A Redis Cluster
   * needs a hash tag here (`'{resque}'`), which other Resque clients must then use as their namespace too.
   */
  namespace?: string;
  /** Recurring schedules (used by the scheduler). */
  schedules?: Record<string, RecurringScheduleConfig>;
  /**
   * Take an unset `namespace` / `connection` from php-resque's PREFIX / REDIS_BACKEND(_DB). Unset (default):
   * only inside ResqueWorkerHost, ResqueSchedulerHost and the CLI, which read them as php-resque's worker
   * does; elsewhere these generic names (`PREFIX=/usr/local`) are ignored. `true`: always; `false`: never.
   */
  fromEnv?: boolean;
  /**
   * `false` silences every line the library logs for this module: connection, events, scheduler, worker
   * host and scheduler host (Nest's own lines follow the app's `logger` option). Default true.
   */
  logger?: boolean;
}

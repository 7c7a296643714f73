import type { Redis, RedisOptions } from 'ioredis';

/**
 * Where Redis is: a URL (`redis://`, `rediss://`, `tcp://`, `unix://`), php-resque's `host:port` /
 * REDIS_BACKEND forms (db index included), ioredis options (Sentinel included), or an existing ioredis
 * client, which we use but never close.
 */
export type ResqueConnectionInput = string | RedisOptions | Redis;

import type { RecurringScheduleConfig } from './scheduler/scheduler.types.js';
export type { RecurringScheduleConfig };

export interface ResqueModuleOptions {
  /** Defaults to 127.0.0.1:6379, db 0. */
  connection?: ResqueConnectionInput;
  /** Key namespace; `foo` and php's `foo:` both give `foo:` keys. Defaults to `resque`. */
  namespace?: string;
  /** Recurring schedules (used by the scheduler). */
  schedules?: Record<string, RecurringScheduleConfig>;
  /** Log library warnings (e.g. event-listener errors nobody subscribed to). Default true. */
  logger?: boolean;
}

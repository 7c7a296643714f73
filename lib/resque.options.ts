import type { Redis, RedisOptions } from 'ioredis';

/**
 * Where Redis is: a URL (`redis://`, `rediss://`, `tcp://`, `unix://`), php-resque's `host:port` /
 * REDIS_BACKEND forms (db index included), ioredis options (Sentinel included), or an existing ioredis
 * client, which we use but never close.
 */
export type ResqueConnectionInput = string | RedisOptions | Redis;

/**
 * A recurring schedule, resque-scheduler's config shape (used by the scheduler): `cron` or `every`,
 * plus the job's class, queue and args.
 */
export interface RecurringScheduleConfig {
  cron?: string;
  every?: string | [string, Record<string, unknown>];
  class: string;
  queue?: string;
  args?: unknown;
  description?: string;
  persist?: boolean;
  [extra: string]: unknown;
}

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

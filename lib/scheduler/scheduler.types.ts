import type { ResqueRedis } from '../connection/connection.types.js';
import type { JobClass } from '../decorators/decorators.types.js';
import type { ResqueConnectionInput } from '../resque.options.js';
import type { ResqueKeys } from '../protocol/index.js';
import type { FiredTick } from './scheduler.recurring.js';

/**
 * A recurring schedule, in resque-scheduler's config shape (`persistent_schedules` values) plus our
 * conveniences. Exactly one of `cron` / `every`.
 * - `cron`: 5 or 6 fields (seconds first), optionally followed by an IANA zone as rufus allows
 *   (`"0 5 * * * Europe/Paris"`); `timezone` is the same thing as a separate member.
 * - `every`: `"30s"`, `"5m"`, `"1h"`, `"1d"`, `"1w"`, combinations (`"1h30m"`), or Ruby's `["1h", {opts}]`.
 *   Ticks are aligned to multiples of the period since the unix epoch, so every scheduler agrees on them.
 * - The job: `class` (the job name, Ruby's member) or `job` (a name or a @Job class).
 * - Args: `args` follows Ruby (a Hash becomes `[args]`, an Array is spread as is, anything else `[args]`);
 *   `params` is ours and always becomes `[params]`.
 * - `catchUp`: after downtime, fire once for the missed ticks (Ruby never replays them; neither do we by default).
 */
export interface RecurringScheduleConfig {
  cron?: string;
  every?: string | [string, Record<string, unknown>];
  class?: string;
  job?: string | JobClass;
  queue?: string;
  args?: unknown;
  params?: unknown;
  timezone?: string;
  catchUp?: boolean;
  description?: string;
  /** Ruby's flag; accepted and ignored (runtime schedules are always persisted, static ones never). */
  persist?: boolean;
  [extra: string]: unknown;
}

/** The commands client and keys the scheduler works with (a ResqueConnection satisfies this). */
export interface SchedulerRedis {
  readonly client: ResqueRedis;
  readonly keys: ResqueKeys;
}

/** What `beforeDelayedEnqueue` receives for each promoted job (php's order: queue, class, args). */
export interface PromotedJob {
  queue: string;
  className: string;
  args: unknown[];
  id: string;
  /** The timestamp the item was scheduled for. */
  at: number;
  /** The item as it was stored in `delayed:<ts>`. */
  raw: string;
}

/** What the scheduler tells its host about (events and logs). */
export interface SchedulerObserver {
  promoted?(job: PromotedJob): void | Promise<void>;
  fired?(tick: FiredTick): void | Promise<void>;
  error?(error: unknown, context: string): void;
  leadership?(leader: boolean, holder: string | null): void;
}

export interface SchedulerOptions {
  /** Seconds between passes (fractions allowed). Default 1: a due item is promoted within this. */
  interval?: number;
  /** Lock owner value; Ruby's `host:pid` by default. Unique per scheduler. */
  owner?: string;
  /**
   * Master lock ttl in seconds, refreshed on every pass: how long a dead master blocks the others. Default
   * 10, or 3 × interval when longer; 1 to 180 (Ruby's LOCK_TIMEOUT), and longer than `interval`.
   */
  lockTtl?: number;
  /** Ruby's RESQUE_SCHEDULER_MASTER_LOCK_PREFIX. */
  lockPrefix?: string;
  /** Items promoted per script call (default 500). */
  batchSize?: number;
  /** Process delayed items (default true). */
  delayed?: boolean;
  /** Fire recurring schedules (default true). */
  recurring?: boolean;
  /** Redis for the scheduler instead of the module's connection (REDIS_BACKEND / REDIS_BACKEND_DB). */
  connection?: ResqueConnectionInput;
  /** Key namespace instead of the module's (PREFIX). */
  namespace?: string;
}

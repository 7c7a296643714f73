import type { RetryPolicy } from '../policies/policy.retry.types.js';
import type { ThrottleRate } from '../policies/policy.throttle.js';
import type { UniqueOptions } from '../policies/policy.unique.js';

/** A recurring schedule declared on a job class (run by the scheduler). */
export interface JobScheduleOptions {
  /** Cron expression (5 or 6 fields, optional trailing time zone), as resque-scheduler's `cron`. */
  cron?: string;
  /** resque-scheduler's `every` (e.g. `"30s"`, `"1h"`). */
  every?: string | [string, Record<string, unknown>];
  /** IANA time zone for `cron` (e.g. `Europe/Paris`). */
  timezone?: string;
  /** Fire once on start-up for a tick missed while no scheduler ran (Ruby never replays). */
  catchUp?: boolean;
  /** Schedule name (defaults to the job name). */
  name?: string;
  /** Queue to enqueue to (defaults to the job's queue). */
  queue?: string;
  /** Params passed to the job on every firing. */
  params?: unknown;
  description?: string;
}

export interface JobOptions {
  /** Default queue for this job (used by schedules and helpers that take no queue). */
  queue?: string;
  /** A recurring schedule for this job. */
  schedule?: JobScheduleOptions;
  /** Milliseconds a perform may run before the worker fails it. */
  timeout?: number;
  /** Track status by default when enqueued through the class. */
  track?: boolean;
  /** Retries with back-off, resque-retry's way (README "Job policies"). */
  retry?: RetryPolicy;
  /**
   * Rate limit of this class across every worker on the Redis: at most `max` jobs claimed in any
   * `perSeconds` (README "Job policies"). A throttled job stays at the head of its queue.
   */
  throttle?: ThrottleRate;
  /** At most this many jobs of this class claimed or running at once across every worker. */
  maxConcurrent?: number;
  /**
   * Unique jobs: while an equal job (same class and key) holds the lock, enqueueing through the class
   * returns that job's id or rejects (README, "Unique jobs").
   */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the key function takes the job's own params type
  unique?: UniqueOptions<any>;
}

/** The stored `resque:job` metadata. */
export interface JobMetadata {
  name: string;
  options: JobOptions;
}

/** A per-job hook method (`@BeforePerform()`, `@AfterPerform()`, `@OnFailure()`): static or instance. */
export interface JobHookRef {
  method: string;
  isStatic: boolean;
}

export interface JobHooks {
  beforePerform: JobHookRef[];
  afterPerform: JobHookRef[];
  onFailure: JobHookRef[];
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- constructor parameters are DI-resolved, any is exact
export type JobClass<T = object> = new (...args: any[]) => T;

/** Everything the worker needs to run a job class: method names resolved from the decorators. */
export interface JobDefinition {
  name: string;
  options: JobOptions;
  classRef: JobClass;
  setUp?: string;
  perform: string;
  tearDown?: string;
  hooks: JobHooks;
}

/**
 * The params type a `@Job` class accepts: the first parameter of its `perform` method, or the type of a
 * phantom `declare readonly resqueParams: P` field when the `@Perform()` method has another name.
 */
export type JobParamsOf<C> = C extends JobClass<infer I>
  ? 'resqueParams' extends keyof I
    ? I['resqueParams' & keyof I]
    : I extends { perform(params: infer P, ...rest: never[]): unknown }
      ? P
      : unknown
  : unknown;

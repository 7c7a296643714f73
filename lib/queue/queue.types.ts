import type { DecodedJob } from '../protocol/index.js';
import type { RetryOverride } from '../policies/policy.retry.types.js';
import type { JobClass } from '../decorators/decorators.types.js';

export interface EnqueueOptions {
  /** Create the `job:<id>:status` packet (WAITING) so status() can follow the job. Default: the @Job's `track`, else false. */
  track?: boolean;
  /**
   * Overrides the `@Job`'s retry `limit`/`backoff` for this job (JSON only; carried in the payload's `retry`
   * key, which Ruby and php ignore). See README "Job policies".
   */
  retry?: RetryOverride;
}

/** Options of `enqueueIn`/`enqueueAt`: the retry override (carried by the delayed item into the payload). */
export type DelayedEnqueueOptions = Pick<EnqueueOptions, 'retry'>;

/** One job of enqueueBulk: a job-name string or a `@Job` class, and its params. */
export interface BulkJob {
  job: string | JobClass;
  params?: unknown;
}

/** A queue entry that could not be decoded: kept visible, never dropped by peek(). */
export interface UnreadableJob {
  readonly raw: string;
  /** Why it could not be decoded. */
  readonly unreadable: string;
}

/** What peek() returns per entry: a decoded job or an unreadable one (`'unreadable' in entry`). */
export type PeekedJob = DecodedJob | UnreadableJob;

import type { RetryVerdict } from '../policies/policy.retry.types.js';
import type { ResqueProgress, ResquePayload } from '../protocol/index.js';

/** The second argument of a job's `@Perform()` method (and of its per-job hooks). */
export interface ResqueJobContext {
  /** The payload's id (php-resque's token), null for Ruby-style payloads without one. */
  id: string | null;
  queue: string;
  /** The payload's raw `args` array (`params` is `args[0]`). */
  args: unknown[];
  payload: ResquePayload;
  className: string;
  workerId: string;
  /**
   * Aborted when the job should stop: TERM/INT (reason: a `TermException`, after `preShutdownTimeoutMs`) or
   * its timeout (reason: a `JobTimeoutError`). The job then has `termTimeoutMs` to return or throw.
   */
  signal: AbortSignal;
  /**
   * Reports how far the job is: a number from 0 to 100 or a small plain JSON object (at most 1 KB encoded).
   * Emits onProgress (every call) and writes `progress` into the job's status packet while it runs (at most
   * one write per 250 ms; the last value is written before the outcome). Throws a RangeError/TypeError for
   * an invalid value, writing nothing. Untracked jobs emit the event but write nothing.
   */
  progress(value: ResqueProgress): void;
  /**
   * Which attempt this run is: 1 the first, n+1 after n retries (retry policy). Read from the payload's
   * `retry_attempt`, which our retries write; a retry re-enqueued by Ruby's resque-retry has none and reads 1.
   */
  attempt: number;
}

/** A reserved job handed to a JobRunner: the exact popped string plus where it came from. */
export interface RunnableJob {
  raw: string;
  queue: string;
  workerId: string;
}

/** How a job ended, as the worker records it. */
export type JobOutcome =
  | { kind: 'complete'; resultJson: string }
  /** DoNotPerformError: not a failure; processed +1 and status COMPLETE. */
  | { kind: 'skipped'; reason: string }
  /** `interrupted`: TERM/INT stopped the job (the slot fails or requeues it per `onInterrupted`). */
  | {
      kind: 'failed';
      exception: string;
      error: string;
      backtrace: string[];
      interrupted?: true;
      /** Retry policy, decided where the error was (the child): retryable, and the wait. Absent: decide from the record. */
      retry?: RetryVerdict;
      /** An onFailure listener threw DoNotRecordFailureError: no failure record. */
      stopRecord?: true;
    };

/** An error class `on` may list (matched with instanceof; a worker-made DirtyExit/timeout error matches by name too). */
export type RetryErrorClass = abstract new (...args: never[]) => Error;

/**
 * How long to wait before retry n (seconds):
 * - an array: the n-th entry (index = retries already made), the last one repeats (resque-retry's `@backoff_strategy`);
 * - a number: the same wait every time;
 * - `{ exponential: { base, factor?, max? } }`: `base * factor^(n-1)` seconds, factor 2 by default, capped at `max`;
 * - a function `(attempt, error) => seconds`, `attempt` being the attempt that just failed (1 = the first run).
 */
export type RetryBackoff =
  | readonly number[]
  | number
  | { exponential: { base: number; factor?: number; max?: number } }
  | ((attempt: number, error: Error) => number);

/** Which errors retry: a list of error classes (instanceof, or same `name`), or a predicate. Default: every error. */
export type RetryFilter = readonly RetryErrorClass[] | ((error: Error) => boolean);

/** `@Job(name, { retry })`: resque-retry's semantics (see README "Job policies"). */
export interface RetryPolicy {
  /** Retries after the first attempt: 0 never retries, `Infinity` retries forever (resque-retry's `@retry_limit`). */
  limit: number;
  /** Wait before each retry; 0 (re-enqueue at once) by default. */
  backoff?: RetryBackoff;
  /** Only these errors retry; others are recorded at once. */
  on?: RetryFilter;
  /**
   * The `<identifier>` of the counter key `resque-retry:<class>:<identifier>` from the job's args; default
   * resque-retry's SHA1 of `args.join('-')` for scalar args, SHA1 of the canonical JSON of args otherwise.
   */
  identifier?: (args: readonly unknown[]) => string;
  /** Seconds the counter key lives beyond the wait of the retry that set it (default 86400): no crash keeps it forever. */
  keyTtlSeconds?: number;
}

/** The per-enqueue override (`enqueue(job, params, { retry })`): JSON only, carried in the payload's `retry` key. */
export interface RetryOverride {
  limit?: number;
  backoff?: readonly number[] | number | { exponential: { base: number; factor?: number; max?: number } };
}

/** What the process that saw the error decided: retry after `delay` seconds, or not retryable. */
export interface RetryVerdict {
  retry: boolean;
  /** Seconds before the retry (0 = re-enqueue at once); 0 when not retryable. */
  delay: number;
}

import type { FailureRecord } from '../protocol/index.js';

/** One entry of the `failed` list, as read (written by Ruby, php-resque, its fork, node-resque or us). */
export interface FailureEntry {
  /** Position in the `failed` list (0 = oldest, the head): what resque-web's Retry/Remove address. */
  readonly index: number;
  /** The exact stored string (used to find the entry again if the list shifts). */
  readonly raw: string;
  /** The decoded record, or null for an entry that is not a JSON object (still listable and removable). */
  readonly record: FailureRecord | null;
  /** `payload.class`, or null when the payload is unreadable. */
  readonly className: string | null;
  /** `failed_at` / `retried_at` parsed from any peer's format; null when absent or unreadable. */
  readonly failedAt: Date | null;
  readonly retriedAt: Date | null;
}

/** Which failures an action applies to: every given criterion must hold. */
export interface FailureFilter {
  queue?: string;
  /** The payload's class (the job name). */
  class?: string;
  /** The exception class name as recorded (e.g. `RuntimeError`, `Resque::DirtyExit`). */
  exception?: string;
  predicate?: (entry: FailureEntry) => boolean;
}

export interface FailureListOptions {
  /**
   * `'list'` (default): list order, oldest first, like Ruby's `Failure.all(start, count)`.
   * `'newest'`: newest first, like resque-web's page (start 0 = the last entry). Indexes stay list indexes.
   */
  order?: 'list' | 'newest';
}

export interface RequeueOptions {
  /** Push to this queue instead of the entry's own `queue`. */
  queue?: string;
  /** Remove the entry instead of marking it `retried_at` (Ruby keeps it). Default false. */
  remove?: boolean;
}

/** A registered worker, read from `workers`, `worker:<id>`, `:started`, `workers:heartbeat` and stats. */
export interface WorkerInfo {
  id: string;
  host: string | null;
  pid: number | null;
  queues: string[];
  state: 'working' | 'idle';
  /** The job being performed (`worker:<id>`), null when idle. */
  job: WorkerJobInfo | null;
  /** `worker:<id>:started` parsed (Ruby, PHP and fork formats), and raw as stored. */
  started: Date | null;
  startedRaw: string | null;
  /** `workers:heartbeat` (Ruby and us; php-resque writes none). */
  heartbeat: Date | null;
  processed: number;
  failed: number;
}

export interface WorkerJobInfo {
  queue: string | null;
  runAt: Date | null;
  runAtRaw: string | null;
  className: string | null;
  payload: Record<string, unknown> | null;
  /** The stored `worker:<id>` string. */
  raw: string;
}

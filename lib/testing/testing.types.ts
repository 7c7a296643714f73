import type { ResqueProgress } from '../protocol/protocol.progress.js';
import type { ResqueConnectionInput } from '../resque.options.js';
import type { JobOutcome } from '../worker/worker.types.js';

/**
 * `'inline'`: enqueue performs the job at once in the test process (with DI of your providers) and resolves
 * once it finished. `'record'`: enqueue only records the job; `runAll()` performs the waiting ones.
 */
export type ResqueTestingMode = 'inline' | 'record';

export interface ResqueTestingOptions {
  mode: ResqueTestingMode;
  /**
   * Optional real Redis: then ResqueConnection is provided too (for code that injects it), and ResqueQueue
   * methods the testing queue does not replace reach Redis. Without it nothing connects anywhere.
   */
  connection?: ResqueConnectionInput;
  namespace?: string;
}

/** A job as enqueued through the testing queue (the payload is what Redis would have received). */
export interface RecordedJob {
  readonly id: string;
  readonly queue: string;
  readonly className: string;
  readonly params: unknown;
  /** The payload's `args` (`[params]`). */
  readonly args: unknown[];
  /** The exact payload string ResqueQueue would have pushed. */
  readonly raw: string;
  readonly tracked: boolean;
}

/** A job the testing queue performed, with its outcome. */
export interface PerformedJob extends RecordedJob {
  readonly outcome: JobOutcome;
  /** What perform returned (through JSON, as the status packet stores it); undefined unless complete. */
  readonly result: unknown;
  /** Every `ctx.progress()` value the job reported, in order (the testing queue does not throttle). */
  readonly progress: readonly ResqueProgress[];
}

/** A delayed job held by the testing queue (enqueueIn / enqueueAt), not yet moved to its queue. */
export interface DelayedJob {
  /** Unix seconds it is due. */
  readonly at: number;
  readonly queue: string;
  readonly className: string;
  readonly params: unknown;
  /** The item's `args` (`[params]`). */
  readonly args: unknown[];
  /** The exact delayed item string (resque-scheduler's `{"class","args","queue"}`). */
  readonly raw: string;
}

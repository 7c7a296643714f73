import type { Logger } from '@nestjs/common';
import type { HeldUnique } from '../policies/policy.unique.js';
import type { CycleRequest, SlotStore } from './worker.store.js';
import type { RunnableJob } from './worker.types.js';
import type { JobAbort } from './worker.abort.js';

/** What a slot's parts (pipeline, outcomes) read from the slot, which passes itself. */
export interface SlotContext {
  /** The id the slot is registered under now (log lines, the claim list). */
  readonly id: string;
  readonly stopping: boolean;
  /** The worker was pruned and the slot has not registered again yet. */
  readonly pruned: boolean;
  readonly logger: Logger;
  /** The store bound to the current id. */
  store(): SlotStore;
  /** A script found the worker no longer registered (see WorkerSlot.notePruned). */
  notePruned(where: string, request?: CycleRequest): void;
}

/** The job a slot is performing. */
export interface RunningJob {
  job: RunnableJob;
  className: string;
  jobId: string | null;
  statusKey: string | null;
  /** The unique lock the job holds, null for plain jobs. */
  unique: HeldUnique | null;
  /**
   * Aborted when the slot learns its worker was pruned while this job runs (the job was taken back; its
   * outcome will be fenced): the executor aborts the job's `ctx.signal` with a WorkerPrunedError.
   */
  abort: JobAbort;
}

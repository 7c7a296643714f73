import { buildFailure, encodeFailure, errorMessage, TERM_EXCEPTION } from '../protocol/index.js';
import type { SlotContext, RunningJob } from './worker.slot.context.js';
import { logFenced } from './worker.slot.log.js';
import type { SlotPipeline } from './worker.slot.pipeline.js';
import type { CycleRequest, FailPolicy, FailReply, FinishedJob } from './worker.store.js';
import type { JobOutcome } from './worker.types.js';

/**
 * Writes a slot's job outcomes, never dropping one: while Redis refuses a failure record or completion
 * (OOM, failover) the job stays in `worker:<id>`, nothing is reserved and the write is retried with
 * back-off; giving up (only once stopping) leaves the worker registered, so a pruner finds the job.
 */
export class SlotOutcomes {
  /** An outcome could not be written while stopping: leave the id registered for a pruner. */
  keepRegistered = false;

  constructor(
    private readonly slot: SlotContext,
    private readonly pipeline: SlotPipeline,
  ) {}

  /**
   * Writes a failed job's record (or, with `policy`, counts the attempt and retries it, or leaves the record
   * out as a listener asked); retried while Redis refuses it (the job stays in `worker:<id>`). Resolves with
   * the script's verdict, undefined when it could not be written.
   */
  async recordFailure(current: RunningJob, outcome: JobOutcome & { kind: 'failed' }, policy: FailPolicy | null = null): Promise<FailReply | undefined> {
    const failure = encodeFailure(
      buildFailure({
        rawPayload: current.job.raw,
        exception: outcome.exception,
        error: outcome.error,
        backtrace: outcome.backtrace,
        worker: this.slot.id,
        queue: current.job.queue,
      }),
    );
    // One token for every try of this write: a try whose reply was lost but which Redis ran is not applied twice.
    const token = this.slot.store().failToken();
    const recorded = await this.untilWritten(`the failure of job ${current.className} (id ${current.jobId ?? 'none'})`, () =>
      this.slot.store().fail(failure, current.statusKey, current.job.queue, policy, {
        className: current.className,
        raw: current.job.raw,
        unique: current.unique,
        token,
      }),
    );
    if (recorded === undefined) {
      this.slot.logger.error(`worker ${this.slot.id}: failure record not written: ${failure}`);
    } else if (recorded.kind === 'fenced') {
      logFenced(this.slot.logger, this.slot.id, 'failure', current.className, current.jobId);
      this.slot.notePruned('failure record');
    }
    return recorded;
  }

  /** Writes a finished job's bookkeeping without starting or claiming (retried while Redis refuses it). */
  async flush(finished: FinishedJob): Promise<null> {
    const request: CycleRequest = { finished, start: null, claim: 0, queues: [] };
    const reply = await this.untilWritten(`the completion of job ${finished.className} (id ${finished.jobId ?? 'none'})`, () =>
      this.slot.store().cycle(request),
    );
    if (reply === 'pruned') this.slot.notePruned('completion record', request);
    return null;
  }

  /**
   * A job TERM/INT interrupted, with `onInterrupted: 'requeue'`: back to the head of its queue, ahead of the
   * jobs claimed after it, in one script with clearing `worker:<id>`; recorded as failed if that cannot be
   * done (never dropped).
   */
  async requeue(current: RunningJob): Promise<void> {
    // No cycle in flight or unconfirmed: the job is out of the claim list, and claimed jobs go back behind it.
    await this.pipeline.settle();
    for (let attempt = 1; ; attempt++) {
      try {
        await this.slot.store().requeue(current.job.raw, current.job.queue, current.statusKey);
        this.pipeline.claimed = [];
        return;
      } catch (error) {
        if (attempt >= 5) {
          this.slot.logger.error(
            `worker ${this.slot.id}: could not put an interrupted ${current.className} back on ${current.job.queue}: ${errorMessage(error)}`,
          );
          await this.recordFailure(current, {
            kind: 'failed',
            exception: TERM_EXCEPTION,
            error: `interrupted, and could not be put back on its queue: ${errorMessage(error)}`,
            backtrace: [],
          });
          return;
        }
        await new Promise((r) => setTimeout(r, 200 * attempt));
      }
    }
  }

  /**
   * Retries a write Redis refuses (OOM, failover) with back-off until it goes through: a job leaves the
   * in-flight record only once its outcome is written, and the slot reserves nothing meanwhile. Once
   * stopping it gives up after a few tries (undefined) and leaves the worker registered, so a pruner
   * recovers the job.
   */
  async untilWritten<T>(what: string, write: () => Promise<T>): Promise<T | undefined> {
    const { logger } = this.slot;
    for (let attempt = 1; ; attempt++) {
      try {
        const result = await write();
        if (attempt > 1) logger.log(`worker ${this.slot.id}: ${what} written after ${attempt} tries`);
        return result;
      } catch (error) {
        if (this.slot.stopping && attempt >= 5) {
          this.keepRegistered = true;
          logger.error(`worker ${this.slot.id}: could not write ${what} before stopping: ${errorMessage(error)}`);
          return undefined;
        }
        if (attempt === 1 || attempt % 20 === 0) {
          logger.error(`worker ${this.slot.id}: could not write ${what}: ${errorMessage(error)}; retrying, no job is reserved meanwhile`);
        }
        await new Promise((r) => setTimeout(r, Math.min(5_000, 100 * 2 ** Math.min(attempt, 6))));
      }
    }
  }
}

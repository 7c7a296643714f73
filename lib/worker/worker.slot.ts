import type { Logger } from '@nestjs/common';
import type { Redis } from 'ioredis';
import type { ResqueEvents } from '../events/events.service.js';
import {
  buildFailure,
  buildWorkerId,
  decodePayload,
  DIRTY_EXIT_EXCEPTION,
  encodeFailure,
  errorMessage,
  PayloadDecodeError,
  type DecodedJob,
} from '../protocol/index.js';
import type { SlotExecutor } from './worker.executor.js';
import { failed, type JobRunner } from './worker.job-runner.js';
import type { ResolvedWorkerOptions } from './worker.options.js';
import type { QueueSelection } from './worker.queues.js';
import { statusKeyOfRaw, type FinishedJob, type ReservedJob, type WorkerStore } from './worker.store.js';
import { processingTitle, waitingTitle, pausedTitle } from './worker.title.js';
import type { JobOutcome, RunnableJob } from './worker.types.js';

/** With globs or several queues, blocking mode polls at most this often (BLMOVE takes one source list). */
const BLOCKING_FALLBACK_POLL_SECONDS = 0.5;

export interface SlotDeps {
  index: number;
  options: ResolvedWorkerOptions;
  store: WorkerStore;
  selection: QueueSelection;
  executor: SlotExecutor;
  runner: JobRunner;
  events: ResqueEvents;
  logger: Logger;
  /** Dedicated connection for BLMOVE (blocking mode with one literal queue), else null. */
  blockingClient: Redis | null;
  /** Sets the host's process title (slot 0 only). */
  title: ((title: string) => void) | null;
}

interface Current {
  job: RunnableJob;
  className: string;
  statusKey: string | null;
  settled: boolean;
}

/**
 * One Resque worker: its own id in `workers`, its own `worker:<id>`, its own stats. Loop: one script call
 * finishes the previous job and reserves the next; the job is performed by the executor; a failure is one
 * more script call.
 */
export class WorkerSlot {
  id = '';
  private stopping = false;
  private paused = false;
  private current: Current | null = null;
  private wake: (() => void) | null = null;
  private knownQueues: string[] = [];

  constructor(private readonly deps: SlotDeps) {}

  get isBusy(): boolean {
    return this.current !== null;
  }

  /** host:pid:queues, the pid being the executor's (host pid, or the slot's child pid). */
  computeId(): string {
    this.id = buildWorkerId(this.deps.options.hostname, `${this.deps.executor.idPid}${this.deps.executor.idSuffix}`, this.deps.selection.configured);
    return this.id;
  }

  /** Registers the slot (SADD workers, :started, heartbeat at `now`, Redis time). */
  async register(now: Date): Promise<void> {
    this.computeId();
    await this.deps.store.register(this.id, new Date(), now);
  }

  async unregister(): Promise<void> {
    if (!this.id) return;
    const claimQueue = this.deps.blockingClient ? this.deps.selection.configured[0]! : null;
    await this.deps.store.unregister(this.id, claimQueue);
  }

  stop(): void {
    this.stopping = true;
    this.deps.blockingClient?.disconnect();
    this.poke();
  }

  pause(): void {
    this.paused = true;
    this.deps.title?.(pausedTitle());
  }

  resume(): void {
    this.paused = false;
    this.deps.title?.(waitingTitle(this.deps.selection.configured));
    this.poke();
  }

  /**
   * Inline TERM after the grace period: the job cannot be stopped, so record it now as a dirty exit
   * (the process exits right after).
   */
  async abandonCurrent(signal: string): Promise<void> {
    const current = this.current;
    if (!current || current.settled) return;
    current.settled = true;
    await this.recordFailure(current, {
      kind: 'failed',
      exception: DIRTY_EXIT_EXCEPTION,
      error: `Worker received ${signal} while performing ${current.className} inline; the job was abandoned`,
      backtrace: [],
    });
  }

  async run(): Promise<void> {
    const { store, selection, options, logger } = this.deps;
    let finished: FinishedJob | null = null;
    this.deps.title?.(waitingTitle(selection.configured));
    while (!this.stopping) {
      if (this.paused) {
        this.deps.title?.(pausedTitle());
        if (finished) finished = await this.flush(finished);
        await this.sleep(options.interval);
        continue;
      }
      let reserved: ReservedJob | null | 'paused';
      try {
        reserved = await store.cycle(this.id, finished, await this.queues(), true);
        finished = null;
      } catch (error) {
        logger.error(`worker ${this.id}: reserve failed: ${errorMessage(error)}`);
        await this.sleep(options.interval);
        continue;
      }
      if (reserved === 'paused') {
        this.deps.title?.(pausedTitle());
        await this.sleep(options.interval);
        continue;
      }
      if (!reserved) {
        this.deps.title?.(waitingTitle(selection.configured));
        reserved = await this.waitForJob();
      }
      if (!reserved) continue;
      finished = await this.process(reserved);
      if (await this.deps.executor.afterJob()) {
        // A recycled child changed this slot's pid: re-register under the new id.
        if (finished) finished = await this.flush(finished);
        await store.unregister(this.id).catch(() => undefined);
        await this.register(await store.serverTime());
      }
    }
    if (finished) await this.flush(finished);
  }

  /** Performs one reserved job and returns its bookkeeping for the next cycle (null after a failure). */
  private async process(reserved: ReservedJob): Promise<FinishedJob | null> {
    const { store, runner, options, events, executor } = this.deps;
    const job: RunnableJob = { raw: reserved.raw, queue: reserved.queue, workerId: this.id };
    let decoded: DecodedJob | null = null;
    try {
      decoded = decodePayload(reserved.raw);
    } catch (error) {
      const current: Current = { job, className: '?', statusKey: statusKeyOfRaw(store.keys, reserved.raw), settled: false };
      await this.recordFailure(current, failed(error instanceof PayloadDecodeError ? error : new PayloadDecodeError(errorMessage(error), reserved.raw)));
      return null;
    }
    const statusKey = decoded.id === null ? null : store.keys.status(decoded.id, decoded.prefix);
    const current: Current = { job, className: decoded.className, statusKey, settled: false };
    this.current = current;
    this.deps.title?.(processingTitle(reserved.queue, decoded.className));
    try {
      events.emit('beforeFork', {
        workerId: this.id,
        queue: reserved.queue,
        className: decoded.className,
        args: decoded.args,
        params: decoded.params,
        id: decoded.id,
        job: decoded,
      });
      const timeout = runner.timeoutOf(decoded.className) ?? options.timeout;
      // Whatever goes wrong here, the job is recorded (a throw would leave it to unregister, i.e. lost).
      const outcome = await executor.perform(job, decoded, timeout).catch((error: unknown) => failed(error));
      if (current.settled) return null; // abandoned (inline TERM): already recorded
      current.settled = true;
      if (outcome.kind === 'failed') {
        await this.recordFailure(current, outcome);
        return null;
      }
      return { statusKey, resultJson: outcome.kind === 'complete' ? outcome.resultJson : 'null' };
    } finally {
      this.current = null;
    }
  }

  private async recordFailure(current: Current, outcome: JobOutcome & { kind: 'failed' }): Promise<void> {
    const failure = encodeFailure(
      buildFailure({
        rawPayload: current.job.raw,
        exception: outcome.exception,
        error: outcome.error,
        backtrace: outcome.backtrace,
        worker: this.id,
        queue: current.job.queue,
      }),
    );
    for (let attempt = 1; ; attempt++) {
      try {
        await this.deps.store.fail(this.id, failure, current.statusKey);
        return;
      } catch (error) {
        if (attempt >= 5) {
          this.deps.logger.error(`worker ${this.id}: could not record a failure: ${errorMessage(error)}; record: ${failure}`);
          return;
        }
        await new Promise((r) => setTimeout(r, 200 * attempt));
      }
    }
  }

  /** Writes a finished job's bookkeeping without reserving. */
  private async flush(finished: FinishedJob): Promise<null> {
    try {
      await this.deps.store.cycle(this.id, finished, [], false);
    } catch (error) {
      this.deps.logger.error(`worker ${this.id}: could not record a finished job: ${errorMessage(error)}`);
    }
    return null;
  }

  /** Literal lists never change; with globs, SMEMBERS queues is re-read on every reserve cycle. */
  private async queues(): Promise<string[]> {
    const { selection, store } = this.deps;
    if (selection.isLiteral) return selection.configured as string[];
    this.knownQueues = await store.knownQueues();
    return selection.resolve(this.knownQueues);
  }

  /** Nothing was queued: block on the queue (blocking mode, one literal queue) or sleep `interval`. */
  private async waitForJob(): Promise<ReservedJob | null> {
    const { blockingClient, options, selection, store } = this.deps;
    if (!options.blocking) {
      await this.sleep(options.interval);
      return null;
    }
    if (!blockingClient) {
      await this.sleep(Math.min(options.interval, BLOCKING_FALLBACK_POLL_SECONDS));
      return null;
    }
    const queue = selection.configured[0]!;
    try {
      // BLMOVE into worker:<id>:claim: never lost between the pop and the record (the pruner reads it too).
      const moved = await blockingClient.blmove(store.keys.queue(queue), store.keys.workerClaim(this.id), 'LEFT', 'LEFT', options.interval);
      if (moved === null || this.stopping) return null;
      const raw = await store.claim(this.id, queue);
      return raw === null ? null : { queue, raw };
    } catch (error) {
      if (!this.stopping) {
        this.deps.logger.error(`worker ${this.id}: blocking pop failed: ${errorMessage(error)}`);
        await this.sleep(options.interval);
      }
      return null;
    }
  }

  private sleep(seconds: number): Promise<void> {
    if (this.stopping) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, seconds * 1000);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = () => {
        this.wake = null;
        done();
      };
    });
  }

  private poke(): void {
    this.wake?.();
  }
}

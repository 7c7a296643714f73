import { Logger } from '@nestjs/common';
import type { ResqueRedis } from '../connection/connection.types.js';
import type { ResqueEvents } from '../events/events.service.js';
import {
  buildFailure,
  buildWorkerId,
  decodePayload,
  encodeFailure,
  errorMessage,
  PayloadDecodeError,
  TERM_EXCEPTION,
  type DecodedJob,
} from '../protocol/index.js';
import type { SlotExecutor } from './worker.executor.js';
import { failed, type JobRunner } from './worker.job-runner.js';
import type { ResolvedWorkerOptions } from './worker.options.js';
import type { QueueSelection } from './worker.queues.js';
import {
  isJsonObject,
  SlotStore,
  statusKeyOfRaw,
  type ClaimedJob,
  type CycleRequest,
  type FinishedJob,
  type WorkerStore,
} from './worker.store.js';
import { processingTitle, waitingTitle, pausedTitle } from './worker.title.js';
import type { JobOutcome, RunnableJob } from './worker.types.js';

/** `Echo (queue default, id 1f…)`: how log lines name a job. */
function jobLabel(queue: string, decoded: DecodedJob): string {
  return `${decoded.className} (queue ${queue}${decoded.id ? `, id ${decoded.id}` : ''})`;
}

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
  /**
   * Opens the dedicated connection for BLMOVE (blocking mode with one literal queue), else null. Called
   * the first time the slot finds nothing to claim (a busy slot never needs it).
   */
  blockingClient: (() => ResqueRedis) | null;
  /** Sets the host's process title (slot 0 only). */
  title: ((title: string) => void) | null;
}

interface Current {
  job: RunnableJob;
  className: string;
  statusKey: string | null;
}

/** A cycle sent without waiting; `done` never rejects (the outcome lands in the entry). */
interface SentCycle {
  request: CycleRequest;
  settled: boolean;
  jobs: ClaimedJob[] | 'paused';
  error: unknown;
  done: Promise<void>;
}

/**
 * One Resque worker: its own id in `workers`, its own `worker:<id>`, its own stats.
 *
 * Pipelined loop. A slot claims jobs ahead into its claim list `worker:<id>:claim` (ours; up to `prefetch`
 * jobs beyond the one it performs). When a claimed job N starts, one script call is sent without waiting:
 * it finishes N-1 (processed +1, COMPLETE), moves N from the claim list to `worker:<id>` (RUNNING) and claims
 * the next job from the queues (priority order, `pause-all-workers` honoured). The slot performs N
 * meanwhile and starts the next claimed job as soon as N is done, so Redis round trips overlap with
 * performing instead of adding to it; calls are applied in order on the one connection. A failure is one
 * more call. So a job is always in its queue, the claim list or `worker:<id>` (or finished/failed), never
 * only in memory, and `worker:<id>` shows the running job, written about one round trip after its perform
 * began. With nothing claimed, one call finishes the last job and claims (polling every `interval`, or
 * BLMOVE into the claim list in blocking mode).
 *
 * Consequences (documented in the README): each job was first in priority order when it was claimed, up
 * to `prefetch` jobs earlier, so a job pushed to a higher-priority queue after that may run after them;
 * `prefetch: 0` picks every job at its start. After `pause-all-workers` is set, a slot may start one more
 * claimed job (its cycle is what reports the pause), then puts the rest back. A local pause (USR2), QUIT/stop and a
 * pool slot's re-registration put claimed jobs back at the head of their queues (their original places);
 * the pruner treats a dead worker's claim list as in-flight work.
 */
export class WorkerSlot {
  id = '';
  private stopping = false;
  private paused = false;
  /** A cycle found `pause-all-workers` set: stop claiming, put claimed jobs back, poll. */
  private pausedByAll = false;
  private wake: (() => void) | null = null;
  private slotStore: SlotStore | null = null;
  /** Glob selections: the queues resolved from the last `SMEMBERS queues`. */
  private resolvedQueues: string[] | null = null;
  private refreshing: Promise<void> | null = null;
  /** In the claim list, not started, oldest first. */
  private claimed: ClaimedJob[] = [];
  /** Cycles sent and not folded in yet, in send order (their replies come in that order). */
  private sent: SentCycle[] = [];
  /** Jobs the sent cycles may still claim. */
  private claimsInFlight = 0;
  /** Cycles that failed with an unknown effect: resynced once nothing is in flight. */
  private unconfirmed: CycleRequest[] = [];
  /** The BLMOVE connection, once opened. */
  private blocking: ResqueRedis | null = null;
  private titleSecond = -1;
  private titleQueue = '';
  private titleClass = '';

  constructor(private readonly deps: SlotDeps) {
    if (deps.selection.isLiteral) this.resolvedQueues = [...deps.selection.configured];
  }

  /** host:pid:queues, the pid being the executor's (host pid, or the slot's child pid). */
  computeId(): string {
    const { options, executor, selection, store } = this.deps;
    this.id = buildWorkerId(options.hostname, `${executor.idPid}${executor.idSuffix}`, selection.configured);
    if (this.slotStore?.workerId !== this.id) {
      const ownQueue = selection.isLiteral && selection.configured.length === 1 ? selection.configured[0]! : null;
      this.slotStore = new SlotStore(store, this.id, ownQueue, options.concurrency > 1);
    }
    return this.id;
  }

  /** Registers the slot (SADD workers, :started, heartbeat at `now`, Redis time). */
  async register(now: Date): Promise<void> {
    this.computeId();
    await this.deps.store.register(this.id, new Date(), now);
  }

  /** Removes the slot's keys; claimed jobs go back to the head of their queues. */
  async unregister(): Promise<void> {
    if (!this.id) return;
    await this.slots().unregister();
    this.claimed = [];
  }

  stop(): void {
    this.stopping = true;
    this.blocking?.disconnect();
    this.poke();
  }

  pause(): void {
    this.paused = true;
    this.title(pausedTitle());
  }

  resume(): void {
    this.paused = false;
    this.title(waitingTitle(this.deps.selection.configured));
    this.poke();
  }

  async run(): Promise<void> {
    const { options, logger } = this.deps;
    /** Completed, bookkeeping not written yet (folded into the next cycle). */
    let finished: FinishedJob | null = null;
    this.title(waitingTitle(this.deps.selection.configured));
    while (!this.stopping) {
      this.fold();
      if (this.unconfirmed.length > 0) {
        await this.resync();
        continue;
      }
      if (this.paused || this.pausedByAll) {
        if (this.sent.length > 0) {
          await this.drain();
          continue;
        }
        if (finished) finished = await this.flush(finished);
        if (this.claimed.length > 0) await this.release();
        if (this.paused) {
          this.title(pausedTitle());
          await this.sleep(options.interval);
          continue;
        }
      }
      if (this.claimed.length === 0) {
        if (this.sent.length > 0) {
          await this.sent[0]!.done;
          continue;
        }
        let reply: ClaimedJob[] | 'paused';
        try {
          const claim = Math.max(1, options.prefetch);
          reply = await this.slots().cycle({ finished, start: null, claim, queues: await this.freshQueues() });
          finished = null;
        } catch (error) {
          logger.error(`worker ${this.id}: reserve failed: ${errorMessage(error)}`);
          await this.sleep(options.interval);
          continue;
        }
        this.pausedByAll = reply === 'paused';
        if (reply === 'paused') {
          this.title(pausedTitle());
          await this.sleep(options.interval);
        } else if (reply.length === 0) {
          this.title(waitingTitle(this.deps.selection.configured));
          const job = await this.waitForJob();
          if (job) this.claimed.push(job);
        } else {
          this.claimed.push(...reply);
        }
        continue; // re-check stopping/paused before starting a claimed job
      }
      finished = await this.process(this.claimed.shift()!, finished);
      if (await this.deps.executor.afterJob()) {
        // A recycled child changed this slot's pid: re-register under the new id (claimed jobs go back to
        // their queues' heads with the old id's keys).
        await this.drain();
        if (this.unconfirmed.length > 0) await this.resync();
        if (finished) finished = await this.flush(finished);
        await this.unregister().catch((error: unknown) => logger.error(`worker ${this.id}: unregister failed: ${errorMessage(error)}`));
        this.claimed = [];
        await this.register(await this.deps.store.serverTime());
      }
    }
    await this.drain();
    if (this.unconfirmed.length > 0) await this.resync();
    if (finished) await this.flush(finished);
    // Jobs still claimed go back to their queues in unregister (the same script as the rest).
  }

  /**
   * Starts a claimed job: sends its cycle (finish `finished`, start this job, claim ahead), performs
   * meanwhile, and returns the job's bookkeeping for the next cycle (null after a failure, recorded).
   */
  private async process(claimed: ClaimedJob, finished: FinishedJob | null): Promise<FinishedJob | null> {
    const { store, runner, options, events, executor } = this.deps;
    const slots = this.slots();
    const job: RunnableJob = { raw: claimed.raw, queue: claimed.queue, workerId: this.id };
    let decoded: DecodedJob | null = null;
    let decodeError: unknown = null;
    try {
      decoded = decodePayload(claimed.raw);
    } catch (error) {
      decodeError = error;
    }
    const statusKey = decoded
      ? decoded.id === null
        ? null
        : store.keys.status(decoded.id, decoded.prefix)
      : statusKeyOfRaw(store.keys, claimed.raw);
    const claimAhead =
      this.stopping || this.paused || this.pausedByAll ? 0 : Math.max(0, options.prefetch - this.claimed.length - this.claimsInFlight);
    this.send({
      finished,
      start: slots.starting(claimed, statusKey, decoded !== null || isJsonObject(claimed.raw)),
      claim: claimAhead,
      queues: claimAhead > 0 ? this.queuesNow() : [],
    });
    if (!decoded) {
      // Recorded by the fail script, which Redis runs after the cycle that started the job.
      const current: Current = { job, className: '?', statusKey };
      const error = decodeError instanceof PayloadDecodeError ? decodeError : new PayloadDecodeError(errorMessage(decodeError), claimed.raw);
      const outcome = failed(error);
      this.logOutcome(current, null, outcome);
      await this.recordFailure(current, outcome);
      return null;
    }
    if (this.verbose()) this.deps.logger.verbose(`${this.id} got: ${jobLabel(claimed.queue, decoded)}`);
    const current: Current = { job, className: decoded.className, statusKey };
    if (this.deps.title) this.processingTitle(claimed.queue, decoded.className);
    let outcome: JobOutcome;
    try {
      if (events.hasListeners('beforeFork')) {
        await events.emitAsync('beforeFork', {
          workerId: this.id,
          queue: claimed.queue,
          className: decoded.className,
          args: decoded.args,
          params: decoded.params,
          id: decoded.id,
          job: decoded,
        });
      }
      const timeout = runner.timeoutOf(decoded.className) ?? options.timeout;
      // Whatever goes wrong here, the job is recorded (a throw would leave it to unregister, i.e. lost).
      outcome = await executor.perform(job, decoded, timeout).catch((error: unknown) => failed(error));
    } catch (error) {
      outcome = failed(error);
    }
    this.logOutcome(current, decoded, outcome);
    if (outcome.kind === 'failed') {
      if (outcome.interrupted && options.onInterrupted === 'requeue') await this.requeue(current);
      else await this.recordFailure(current, outcome);
      return null;
    }
    return { statusKey, resultJson: outcome.kind === 'complete' ? outcome.resultJson : 'null' };
  }

  private title(title: string): void {
    this.titleSecond = -1;
    this.deps.title?.(title);
  }

  /** "Processing <queue> since <s> [<class>]": rebuilt only when one of them changes. */
  private processingTitle(queue: string, className: string): void {
    const second = Math.floor(Date.now() / 1000);
    if (second === this.titleSecond && queue === this.titleQueue && className === this.titleClass) return;
    this.titleSecond = second;
    this.titleQueue = queue;
    this.titleClass = className;
    this.deps.title?.(processingTitle(queue, className, new Date(second * 1000)));
  }

  private send(request: CycleRequest): void {
    const entry: SentCycle = { request, settled: false, jobs: [], error: null, done: Promise.resolve() };
    entry.done = this.slots()
      .cycle(request)
      .then(
        (jobs) => {
          entry.jobs = jobs;
          entry.settled = true;
        },
        (error: unknown) => {
          entry.error = error ?? new Error('cycle failed');
          entry.settled = true;
        },
      );
    this.claimsInFlight += request.claim;
    this.sent.push(entry);
  }

  /** Takes in the replies that arrived, in send order. */
  private fold(): void {
    while (this.sent.length > 0 && this.sent[0]!.settled) {
      const entry = this.sent.shift()!;
      this.claimsInFlight -= entry.request.claim;
      if (entry.error !== null) {
        this.deps.logger.error(`worker ${this.id}: a job's bookkeeping call failed: ${errorMessage(entry.error)}; resyncing`);
        this.unconfirmed.push(entry.request);
      } else if (entry.jobs === 'paused') {
        this.pausedByAll = true;
      } else if (this.unconfirmed.length === 0) {
        // After a failure the claim list is re-read instead (resync).
        for (const job of entry.jobs) this.claimed.push(job);
      }
    }
  }

  /** Waits until no cycle is in flight. */
  private async drain(): Promise<void> {
    while (this.sent.length > 0) {
      await this.sent[0]!.done;
      this.fold();
    }
  }

  /**
   * Cycles failed with an unknown effect: once none is in flight, apply what did not happen and adopt the
   * claim list as the claimed jobs (retried until it goes through, or a few times once stopping).
   */
  private async resync(): Promise<void> {
    await this.drain();
    const unconfirmed = this.unconfirmed;
    for (let attempt = 1; ; attempt++) {
      try {
        this.claimed = await this.slots().resync(unconfirmed);
        this.unconfirmed = [];
        return;
      } catch (error) {
        if (this.stopping && attempt >= 5) {
          this.deps.logger.error(`worker ${this.id}: giving up resyncing its claimed jobs: ${errorMessage(error)}`);
          this.unconfirmed = [];
          this.claimed = [];
          return;
        }
        await new Promise((r) => setTimeout(r, Math.min(5_000, 200 * attempt)));
      }
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
        await this.slots().fail(failure, current.statusKey);
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

  /**
   * A job TERM/INT interrupted, with `onInterrupted: 'requeue'`: back to the head of its queue, ahead of the
   * jobs claimed after it, in one script with clearing `worker:<id>`; recorded as failed if that cannot be
   * done (never dropped).
   */
  private async requeue(current: Current): Promise<void> {
    // No cycle in flight or unconfirmed: the job is out of the claim list, and claimed jobs go back behind it.
    await this.drain();
    if (this.unconfirmed.length > 0) await this.resync();
    for (let attempt = 1; ; attempt++) {
      try {
        await this.slots().requeue(current.job.raw, current.job.queue, current.statusKey);
        this.claimed = [];
        return;
      } catch (error) {
        if (attempt >= 5) {
          this.deps.logger.error(`worker ${this.id}: could not put an interrupted ${current.className} back on ${current.job.queue}: ${errorMessage(error)}`);
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

  /** Verbose: each job's outcome. Always: failures (php logs them, Ruby at error level). */
  private logOutcome(current: Current, decoded: DecodedJob | null, outcome: JobOutcome): void {
    const { logger, options } = this.deps;
    const label = decoded ? jobLabel(current.job.queue, decoded) : `${current.job.queue} (unreadable payload)`;
    if (outcome.kind === 'failed') {
      const requeued = outcome.interrupted && options.onInterrupted === 'requeue';
      const line = `${this.id} ${requeued ? 'interrupted, back at the head of its queue' : 'failed'}: ${label}: ${outcome.exception}: ${outcome.error}`;
      if (requeued) logger.warn(line);
      else logger.error(line);
    } else if (this.verbose()) {
      logger.verbose(`${this.id} ${outcome.kind === 'complete' ? 'done' : `skipped (${outcome.reason})`}: ${label}`);
    }
  }

  private verbose(): boolean {
    return Logger.isLevelEnabled('verbose');
  }

  /** Writes a finished job's bookkeeping without starting or claiming. */
  private async flush(finished: FinishedJob): Promise<null> {
    try {
      await this.slots().cycle({ finished, start: null, claim: 0, queues: [] });
    } catch (error) {
      this.deps.logger.error(`worker ${this.id}: could not record a finished job: ${errorMessage(error)}`);
    }
    return null;
  }

  /** Puts the claimed jobs back at the head of their queues (paused: other workers may take them). */
  private async release(): Promise<void> {
    try {
      await this.slots().release();
      this.claimed = [];
    } catch (error) {
      // They stay claimed: started after resuming, or put back by unregister.
      this.deps.logger.error(`worker ${this.id}: could not put claimed jobs back: ${errorMessage(error)}`);
    }
  }

  private slots(): SlotStore {
    return this.slotStore ?? (this.computeId(), this.slotStore!);
  }

  /** Literal lists never change; globs re-read `SMEMBERS queues` (awaited when the slot is idle). */
  private async freshQueues(): Promise<readonly string[]> {
    if (this.deps.selection.isLiteral) return this.resolvedQueues!;
    await this.refreshQueues();
    return this.resolvedQueues ?? [];
  }

  /**
   * The queues for a prefetch sent while a job starts: globs use the last `SMEMBERS queues` and refresh it
   * in the background (a queue created just now is seen one job later).
   */
  private queuesNow(): readonly string[] {
    if (!this.deps.selection.isLiteral) void this.refreshQueues().catch(() => undefined);
    return this.resolvedQueues ?? [];
  }

  private refreshQueues(): Promise<void> {
    this.refreshing ??= this.deps.store
      .knownQueues()
      .then((known) => {
        this.resolvedQueues = this.deps.selection.resolve(known);
      })
      .finally(() => {
        this.refreshing = null;
      });
    return this.refreshing;
  }

  /** Nothing was queued: block on the queue (blocking mode, one literal queue) or sleep `interval`. */
  private async waitForJob(): Promise<ClaimedJob | null> {
    const { options, selection, store } = this.deps;
    if (!options.blocking) {
      await this.sleep(options.interval);
      return null;
    }
    if (!this.deps.blockingClient) {
      await this.sleep(Math.min(options.interval, BLOCKING_FALLBACK_POLL_SECONDS));
      return null;
    }
    if (this.stopping) return null;
    const queue = selection.configured[0]!;
    try {
      const blockingClient = (this.blocking ??= this.deps.blockingClient());
      // BLMOVE into worker:<id>:claim: never lost between the pop and the record (the pruner reads it too).
      const raw = await blockingClient.blmove(store.keys.queue(queue), store.keys.workerClaim(this.id), 'LEFT', 'RIGHT', options.interval);
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

import { performance } from 'node:perf_hooks';
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
import { WorkerPrunedError } from './worker.errors.js';
import { failed, type JobRunner } from './worker.job-runner.js';
import { PRUNE_HEARTBEAT_MULTIPLE, type ResolvedWorkerOptions } from './worker.options.js';
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
  /** `onPruned: 'exit'`: the slot found it was pruned and stopped; the host exits non-zero. */
  exitPruned: () => void;
}

interface Current {
  job: RunnableJob;
  className: string;
  jobId: string | null;
  statusKey: string | null;
  /**
   * Aborted when the slot learns its worker was pruned while this job runs (the job was taken back; its
   * outcome will be fenced): the executor aborts the job's `ctx.signal` with a WorkerPrunedError.
   */
  abort: AbortController;
}

/** A cycle sent without waiting; `done` never rejects (the outcome lands in the entry). */
interface SentCycle {
  request: CycleRequest;
  settled: boolean;
  jobs: ClaimedJob[] | 'paused' | 'pruned';
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
 *
 * Fencing. A pruner may take a worker's jobs back while it is alive but frozen (SIGSTOP, a VM pause, a
 * swap storm). Every script that starts a job, records an outcome or claims checks, atomically, that the
 * worker is still in `workers` (the pruner removes it in the script that takes the jobs back); if not, it
 * writes nothing but `stat:fenced` (for an outcome) and says so. A job does not start while its cycle is in
 * flight unless the slot's lease holds: a heartbeat written less than `pruneAfterSeconds / 2` ago (no pruner
 * can have found it stale since); otherwise the slot waits for the start's verdict. A slot that finds out
 * it was pruned (a fenced reply, or the heartbeat) logs it once, stops reserving, aborts its running job's
 * AbortController (Current.abort, not wired to the job yet), and registers again under a fresh id (`host:pid-r<n>:queues`) or stops the host (`onPruned`).
 *
 * Outcomes are never dropped: while Redis refuses a job's failure record or completion (OOM, failover) the
 * slot keeps the job in `worker:<id>`, reserves nothing and retries with back-off; giving up (only once
 * stopping) leaves the worker registered, so a pruner finds the job.
 */
export class WorkerSlot {
  id = '';
  private stopping = false;
  /** The worker was pruned: stop reserving, re-register (or exit) at the next step of the loop. */
  private pruned = false;
  /** Between unregistering an id and registering the next: heartbeat notices about the old id are expected. */
  private reregistering = false;
  /** Re-registrations after a prune: part of the id, so a stale pruner can never match the new one. */
  private generation = 0;
  /** `performance.now()` when a heartbeat (or registration) confirmed this id; see leaseHolds. */
  private confirmedAt = Number.NEGATIVE_INFINITY;
  /** An outcome could not be written while stopping: leave the id registered for a pruner. */
  private keepRegistered = false;
  private paused = false;
  /** A cycle found `pause-all-workers` set: stop claiming, put claimed jobs back, poll. */
  private pausedByAll = false;
  /** The job being performed (its abort controller is what a prune notice aborts). */
  private current: Current | null = null;
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
    const generation = this.generation > 0 ? `-r${this.generation}` : '';
    this.id = buildWorkerId(options.hostname, `${executor.idPid}${executor.idSuffix}${generation}`, selection.configured);
    if (this.slotStore?.workerId !== this.id) {
      const ownQueue = selection.isLiteral && selection.configured.length === 1 ? selection.configured[0]! : null;
      this.slotStore = new SlotStore(store, this.id, ownQueue, options.concurrency > 1);
    }
    return this.id;
  }

  /** Registers the slot (SADD workers, :started, heartbeat at `now`, Redis time). */
  async register(now: Date): Promise<void> {
    this.computeId();
    const sentAt = performance.now();
    await this.deps.store.register(this.id, new Date(), now);
    this.confirmedAt = sentAt;
  }

  /** Removes the slot's keys; claimed jobs go back to the head of their queues. */
  async unregister(): Promise<void> {
    if (!this.id) return;
    if (this.keepRegistered) {
      this.deps.logger.error(`worker ${this.id}: left registered: a job's outcome could not be written, a pruner will recover it`);
      return;
    }
    await this.slots().unregister();
    this.claimed = [];
  }

  /**
   * A heartbeat call sent at `sentAt` (performance.now()) came back: `gone` lists the ids it found no longer
   * registered. Called by the host for every slot it included.
   */
  heartbeatDone(id: string, sentAt: number, gone: readonly string[]): void {
    if (id !== this.id) return; // re-registered meanwhile
    if (gone.includes(id)) {
      if (!this.reregistering && !this.stopping) this.notePruned('heartbeat');
    } else {
      this.confirmedAt = Math.max(this.confirmedAt, sentAt);
    }
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
      if (this.pruned) {
        await this.recoverFromPrune(finished);
        finished = null;
        continue;
      }
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
        let reply: ClaimedJob[] | 'paused' | 'pruned';
        const claim = Math.max(1, options.prefetch);
        const request: CycleRequest = { finished, start: null, claim, queues: [] };
        try {
          request.queues = await this.freshQueues();
          reply = await this.slots().cycle(request);
          finished = null;
        } catch (error) {
          logger.error(`worker ${this.id}: reserve failed: ${errorMessage(error)}`);
          await this.sleep(options.interval);
          continue;
        }
        if (reply === 'pruned') {
          this.notePruned('reserve', request);
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
        this.reregistering = true;
        try {
          await this.unregister().catch((error: unknown) => logger.error(`worker ${this.id}: unregister failed: ${errorMessage(error)}`));
          this.claimed = [];
          await this.register(await this.deps.store.serverTime());
        } finally {
          this.reregistering = false;
        }
      }
    }
    await this.drain();
    if (this.unconfirmed.length > 0) await this.resync();
    if (finished) await this.flush(finished);
    // Jobs still claimed go back to their queues in unregister (the same script as the rest).
  }

  /**
   * Starts a claimed job: sends its cycle (finish `finished`, start this job, claim ahead), performs
   * meanwhile (or, without a lease, once the start is confirmed), and returns the job's bookkeeping for the
   * next cycle (null after a failure, recorded, or when the start was refused).
   */
  private async process(claimed: ClaimedJob, finished: FinishedJob | null): Promise<FinishedJob | null> {
    const { store, runner, options, events, executor, logger } = this.deps;
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
    const className = decoded?.className ?? '?';
    const jobId = decoded ? decoded.id : jobIdOfRaw(claimed.raw);
    const claimAhead =
      this.stopping || this.paused || this.pausedByAll ? 0 : Math.max(0, options.prefetch - this.claimed.length - this.claimsInFlight);
    const leased = this.leaseHolds();
    const entry = this.send({
      finished,
      start: slots.starting(claimed, statusKey, decoded !== null || isJsonObject(claimed.raw)),
      claim: claimAhead,
      queues: claimAhead > 0 ? this.queuesNow() : [],
    });
    if (!leased) {
      // A pruner may have taken this job back while the slot could not heartbeat: wait for the verdict.
      // (A call that fails leaves it unknown: the job is performed and resync sorts the bookkeeping out.)
      await entry.done;
      this.fold();
      if (entry.jobs === 'pruned') {
        logger.warn(`worker ${this.id}: claimed job ${className} (id ${jobId ?? 'none'}) was taken back by a pruner; not started`);
        return null;
      }
    }
    if (!decoded) {
      // Recorded by the fail script, which Redis runs after the cycle that started the job.
      const current: Current = { job, className, jobId, statusKey, abort: new AbortController() };
      const error = decodeError instanceof PayloadDecodeError ? decodeError : new PayloadDecodeError(errorMessage(decodeError), claimed.raw);
      const outcome = failed(error);
      this.logOutcome(current, null, outcome);
      await this.recordFailure(current, outcome);
      return null;
    }
    if (this.verbose()) this.deps.logger.verbose(`${this.id} got: ${jobLabel(claimed.queue, decoded)}`);
    const current: Current = { job, className, jobId, statusKey, abort: new AbortController() };
    this.current = current;
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
      outcome = await executor.perform(job, decoded, timeout, current.abort.signal).catch((error: unknown) => failed(error));
    } catch (error) {
      outcome = failed(error);
    } finally {
      this.current = null;
    }
    this.logOutcome(current, decoded, outcome);
    if (outcome.kind === 'failed') {
      if (outcome.interrupted && options.onInterrupted === 'requeue') await this.requeue(current);
      else await this.recordFailure(current, outcome);
      return null;
    }
    return { statusKey, resultJson: outcome.kind === 'complete' ? outcome.resultJson : 'null', className, jobId };
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

  private send(request: CycleRequest): SentCycle {
    const entry: SentCycle = { request, settled: false, jobs: [], error: null, done: Promise.resolve() };
    entry.done = this.slots()
      .cycle(request)
      .then(
        (jobs) => {
          entry.jobs = jobs;
          entry.settled = true;
          // Noticed now, not at the next fold: the running job's signal is aborted while it runs.
          if (jobs === 'pruned') this.notePruned('job start', request);
        },
        (error: unknown) => {
          entry.error = error ?? new Error('cycle failed');
          entry.settled = true;
        },
      );
    this.claimsInFlight += request.claim;
    this.sent.push(entry);
    return entry;
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
      } else if (entry.jobs === 'pruned') {
        // noticed when the reply came (send)
      } else if (this.unconfirmed.length === 0 && !this.pruned) {
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
        const claimed = await this.slots().resync(unconfirmed);
        this.unconfirmed = [];
        if (claimed === 'pruned') {
          this.notePruned('resync');
          this.claimed = [];
        } else {
          this.claimed = claimed;
        }
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

  /** Writes a failed job's record; retried while Redis refuses it (the job stays in `worker:<id>`). */
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
    const recorded = await this.untilWritten(`the failure of job ${current.className} (id ${current.jobId ?? 'none'})`, () =>
      this.slots().fail(failure, current.statusKey),
    );
    if (recorded === undefined) {
      this.deps.logger.error(`worker ${this.id}: failure record not written: ${failure}`);
    } else if (!recorded) {
      this.logFenced('failure', current.className, current.jobId);
      this.notePruned('failure record');
    }
  }

  /** Writes a finished job's bookkeeping without starting or claiming (retried while Redis refuses it). */
  private async flush(finished: FinishedJob): Promise<null> {
    const request: CycleRequest = { finished, start: null, claim: 0, queues: [] };
    const reply = await this.untilWritten(`the completion of job ${finished.className} (id ${finished.jobId ?? 'none'})`, () =>
      this.slots().cycle(request),
    );
    if (reply === 'pruned') this.notePruned('completion record', request);
    return null;
  }

  /**
   * Retries a write Redis refuses (OOM, failover) with back-off until it goes through: a job leaves the
   * in-flight record only once its outcome is written, and the slot reserves nothing meanwhile. Once
   * stopping it gives up after a few tries (undefined) and leaves the worker registered, so a pruner
   * recovers the job.
   */
  private async untilWritten<T>(what: string, write: () => Promise<T>): Promise<T | undefined> {
    const { logger } = this.deps;
    for (let attempt = 1; ; attempt++) {
      try {
        const result = await write();
        if (attempt > 1) logger.log(`worker ${this.id}: ${what} written after ${attempt} tries`);
        return result;
      } catch (error) {
        if (this.stopping && attempt >= 5) {
          this.keepRegistered = true;
          logger.error(`worker ${this.id}: could not write ${what} before stopping: ${errorMessage(error)}`);
          return undefined;
        }
        if (attempt === 1 || attempt % 20 === 0) {
          logger.error(`worker ${this.id}: could not write ${what}: ${errorMessage(error)}; retrying, no job is reserved meanwhile`);
        }
        await new Promise((r) => setTimeout(r, Math.min(5_000, 100 * 2 ** Math.min(attempt, 6))));
      }
    }
  }

  /**
   * True while no pruner can have found this worker's heartbeat stale: the last heartbeat (or registration)
   * that found it registered was sent less than half of the shortest threshold any pruner applies to it
   * (PRUNE_HEARTBEAT_MULTIPLE of its published heartbeat interval) ago.
   */
  private leaseHolds(): boolean {
    const shortestDeathMs = PRUNE_HEARTBEAT_MULTIPLE * this.deps.options.heartbeatIntervalSeconds * 1000;
    return performance.now() - this.confirmedAt < shortestDeathMs / 2;
  }

  /**
   * The worker is no longer in `workers`: a pruner took its jobs back. Logged once; the slot stops
   * reserving, forgets its claimed jobs (taken back too) and aborts the running job's signal; the loop then
   * re-registers or exits (recoverFromPrune). A fenced outcome in `request` is logged.
   */
  private notePruned(where: string, request?: CycleRequest): void {
    if (request?.finished) this.logFenced('completion', request.finished.className, request.finished.jobId);
    if (this.pruned) return;
    this.pruned = true;
    const next = this.deps.options.onPruned === 'exit' ? 'stops the worker (onPruned: exit)' : 'registers again under a fresh id';
    this.deps.logger.error(
      `worker ${this.id} was pruned (unregistered by a pruner that took its jobs back; noticed at its ${where}): it reserves no more, records no outcome of a job it held, and ${next}`,
    );
    this.claimed = [];
    this.current?.abort.abort(new WorkerPrunedError(this.id));
    this.poke();
  }

  private logFenced(what: string, className: string, jobId: string | null): void {
    this.deps.logger.warn(
      `worker ${this.id}: the ${what} of job ${className} (id ${jobId ?? 'none'}) was not recorded: the worker had been pruned and the job taken back (counted in stat:fenced)`,
    );
  }

  /** After a prune: settle what is in flight (fenced), drop the old id's keys, then re-register or exit. */
  private async recoverFromPrune(finished: FinishedJob | null): Promise<void> {
    const { logger, options, store } = this.deps;
    await this.drain();
    this.unconfirmed = [];
    if (finished) await this.flush(finished);
    this.claimed = [];
    const oldId = this.id;
    this.reregistering = true;
    try {
      // A Ruby pruner leaves our claim list behind: unregister puts those jobs back at the head of their queues.
      await this.untilWritten(`the unregistration of pruned ${oldId}`, () => this.slots().unregister());
      if (this.stopping) return;
      if (options.onPruned === 'exit') {
        this.stopping = true;
        this.deps.exitPruned();
        return;
      }
      this.generation++;
      await this.untilWritten(`the registration after pruned ${oldId}`, async () => this.register(await store.serverTime()));
      this.pruned = false;
      logger.warn(`worker ${oldId} registered again as ${this.id}`);
    } finally {
      this.reregistering = false;
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

/** The `id` of a payload the codec rejected (for log lines), or null. */
function jobIdOfRaw(raw: string): string | null {
  try {
    const parsed: unknown = JSON.parse(raw);
    const id = parsed !== null && typeof parsed === 'object' ? (parsed as Record<string, unknown>)['id'] : undefined;
    return typeof id === 'string' ? id : null;
  } catch {
    return null;
  }
}

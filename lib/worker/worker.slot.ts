import { performance } from 'node:perf_hooks';
import type { Logger } from '@nestjs/common';
import type { ResqueRedis } from '../connection/connection.types.js';
import type { ResqueEvents } from '../events/events.service.js';
import { buildWorkerId, errorMessage, type DecodedJob } from '../protocol/index.js';
import type { SlotExecutor } from './worker.executor.js';
import { WorkerPrunedError } from './worker.errors.js';
import { failed, jobEvent, type JobRunner } from './worker.job-runner.js';
import type { ResolvedWorkerOptions } from './worker.options.js';
import type { QueueSelection } from './worker.queues.js';
import { readClaimed, type ReadJob } from './worker.slot.claimed.js';
import type { RunningJob, SlotContext } from './worker.slot.context.js';
import { prunedMessage, SlotFence } from './worker.slot.fencing.js';
import { isVerbose, jobLabel, logFenced, logOutcome, SlotTitle } from './worker.slot.log.js';
import { SlotOutcomes } from './worker.slot.outcomes.js';
import { SlotPipeline, type SentCycle } from './worker.slot.pipeline.js';
import { SlotQueues } from './worker.slot.queues.js';
import { planFailure, retryKeyOnSuccess, type RetryPolicyOf } from './worker.slot.retry.js';
import { isJsonObject, SlotStore, type ClaimedJob, type CycleRequest, type FinishedJob, type WorkerStore } from './worker.store.js';
import { pausedTitle, waitingTitle } from './worker.title.js';
import type { JobOutcome } from './worker.types.js';
import { JobAbort } from './worker.abort.js';

/** With globs or several queues, blocking mode polls at most this often (BLMOVE takes one source list). */
const BLOCKING_FALLBACK_POLL_SECONDS = 0.5;
/** A slot held back only by a concurrency cap (no one knows when a slot frees) polls at most this often. */
const THROTTLE_CAP_POLL_SECONDS = 0.5;

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
 * abort (RunningJob.abort, which aborts the job's `ctx.signal`), and registers again under a fresh id (`host:pid-r<n>:queues`) or stops the host (`onPruned`).
 *
 * Outcomes are never dropped: while Redis refuses a job's failure record or completion (OOM, failover) the
 * slot keeps the job in `worker:<id>`, reserves nothing and retries with back-off; giving up (only once
 * stopping) leaves the worker registered, so a pruner finds the job.
 */
export class WorkerSlot implements SlotContext {
  id = '';
  private stopRequested = false;
  private paused = false;
  /** The job being performed (its abort controller is what a prune notice aborts). */
  private current: RunningJob | null = null;
  private wake: (() => void) | null = null;
  private slotStore: SlotStore | null = null;
  /** The BLMOVE connection, once opened. */
  private blocking: ResqueRedis | null = null;
  private readonly fence: SlotFence;
  private readonly pipeline = new SlotPipeline(this);
  private readonly outcomes = new SlotOutcomes(this, this.pipeline);
  private readonly queues: SlotQueues;
  private readonly titles: SlotTitle;
  private readonly retryPolicyOf: RetryPolicyOf = (decoded) => this.deps.runner.retryPolicyOf(decoded);

  constructor(private readonly deps: SlotDeps) {
    this.fence = new SlotFence(deps.options.heartbeatIntervalSeconds);
    this.queues = new SlotQueues(deps.selection, deps.store);
    this.titles = new SlotTitle(deps.title);
  }

  get stopping(): boolean {
    return this.stopRequested;
  }

  get pruned(): boolean {
    return this.fence.pruned;
  }

  /** Jobs claimed ahead and not started: work is waiting for this slot. */
  get hasClaimedAhead(): boolean {
    return this.pipeline.claimed.length > 0;
  }

  get logger(): Logger {
    return this.deps.logger;
  }

  /** host:pid:queues, the pid being the executor's (host pid, or the slot's child pid). */
  computeId(): string {
    this.bind();
    return this.id;
  }

  store(): SlotStore {
    return this.slotStore ?? this.bind();
  }

  /** Registers the slot (SADD workers, :started, heartbeat at `now`, Redis time). */
  async register(now: Date): Promise<void> {
    this.computeId();
    const sentAt = performance.now();
    await this.deps.store.register(this.id, new Date(), now);
    this.fence.registered(sentAt);
  }

  /** Removes the slot's keys; claimed jobs go back to the head of their queues. */
  async unregister(): Promise<void> {
    if (!this.id) return;
    if (this.outcomes.keepRegistered) {
      this.deps.logger.error(`worker ${this.id}: left registered: a job's outcome could not be written, a pruner will recover it`);
      return;
    }
    await this.store().unregister();
    this.pipeline.claimed = [];
  }

  /**
   * A heartbeat call sent at `sentAt` (performance.now()) came back: `gone` lists the ids it found no longer
   * registered. Called by the host for every slot it included.
   */
  heartbeatDone(id: string, sentAt: number, gone: readonly string[]): void {
    if (id !== this.id) return; // re-registered meanwhile
    if (gone.includes(id)) {
      if (!this.fence.reregistering && !this.stopping) this.notePruned('heartbeat');
    } else {
      this.fence.confirmed(sentAt);
    }
  }

  /** The bookkeeping connection closed: the slot re-reads its claim list before going on (see the pipeline). */
  noteConnectionLost(): void {
    this.pipeline.noteConnectionLost();
  }

  stop(): void {
    this.stopRequested = true;
    this.blocking?.disconnect();
    this.poke();
  }

  pause(): void {
    this.paused = true;
    this.titles.set(pausedTitle());
  }

  resume(): void {
    this.paused = false;
    this.titles.set(waitingTitle(this.deps.selection.configured));
    this.poke();
  }

  async run(): Promise<void> {
    /** Completed, bookkeeping not written yet (folded into the next cycle). */
    let finished: FinishedJob | null = null;
    this.titles.set(waitingTitle(this.deps.selection.configured));
    while (!this.stopping) finished = await this.step(finished);
    await this.pipeline.settle();
    if (finished) await this.outcomes.flush(finished);
    // Jobs still claimed go back to their queues in unregister (the same script as the rest).
  }

  /**
   * The worker is no longer in `workers`: a pruner took its jobs back. Logged once; the slot stops
   * reserving, forgets its claimed jobs (taken back too) and aborts the running job's signal; the loop then
   * re-registers or exits (recoverFromPrune). A fenced outcome in `request` is logged.
   */
  notePruned(where: string, request?: CycleRequest): void {
    if (request?.finished) logFenced(this.deps.logger, this.id, 'completion', request.finished.className, request.finished.jobId);
    if (this.fence.pruned) return;
    this.fence.pruned = true;
    this.deps.logger.error(prunedMessage(this.id, where, this.deps.options.onPruned));
    this.pipeline.claimed = [];
    this.current?.abort.abort(new WorkerPrunedError(this.id));
    this.poke();
  }

  /** One turn of the loop; returns the finished job whose bookkeeping is still to be written. */
  private async step(finished: FinishedJob | null): Promise<FinishedJob | null> {
    this.pipeline.fold();
    if (this.fence.pruned) {
      await this.recoverFromPrune(finished);
      return null;
    }
    if (this.pipeline.needsResync) {
      await this.pipeline.resync();
      return finished;
    }
    if (this.paused || this.pipeline.pausedByAll) {
      if (this.pipeline.inFlight) {
        await this.pipeline.drain();
        return finished;
      }
      if (finished) finished = await this.outcomes.flush(finished);
      if (this.pipeline.claimed.length > 0) await this.pipeline.release();
      if (this.paused) {
        this.titles.set(pausedTitle());
        await this.sleep(this.deps.options.interval);
        return finished;
      }
    }
    const next = this.pipeline.claimed.shift();
    if (!next) return this.claim(finished);
    finished = await this.process(next, finished);
    const recycled = this.deps.executor.afterJob();
    if (recycled !== false && (await recycled)) finished = await this.reregisterRecycled(finished);
    return finished;
  }

  /**
   * Nothing claimed: once no cycle is in flight, one call finishes `finished` and claims (then waits for a
   * job when there was none: polling every `interval`, or BLMOVE in blocking mode).
   */
  private async claim(finished: FinishedJob | null): Promise<FinishedJob | null> {
    if (this.pipeline.inFlight) {
      await this.pipeline.oldest();
      return finished;
    }
    const { options, logger } = this.deps;
    const request: CycleRequest = { finished, start: null, claim: Math.max(1, options.prefetch), queues: [] };
    let reply: Awaited<ReturnType<SlotStore['cycle']>>;
    try {
      request.queues = await this.queues.fresh();
      reply = await this.store().cycle(request);
    } catch (error) {
      logger.error(`worker ${this.id}: reserve failed: ${errorMessage(error)}`);
      await this.sleep(options.interval);
      return finished;
    }
    if (reply === 'pruned') {
      this.notePruned('reserve', request);
    } else if (reply === 'paused') {
      this.pipeline.pausedByAll = true;
      this.titles.set(pausedTitle());
      await this.sleep(options.interval);
    } else if (!Array.isArray(reply)) {
      this.pipeline.pausedByAll = false;
      await this.throttled(reply.throttledMs);
    } else {
      this.pipeline.pausedByAll = false;
      await this.claimed(reply);
    }
    return null; // re-check stopping/paused before starting a claimed job
  }

  /**
   * Every non-empty queue's head was throttled (policy: throttle): sleep until the first window frees
   * (`ms`), or, held back only by a concurrency cap (ms -1, its end unknown), poll; never longer than
   * `interval`, as an idle worker polls its empty queues.
   */
  private async throttled(ms: number): Promise<void> {
    const { options, events } = this.deps;
    const seconds = Math.min(options.interval, ms > 0 ? ms / 1000 : THROTTLE_CAP_POLL_SECONDS);
    this.titles.set(waitingTitle(this.deps.selection.configured));
    if (events.hasListeners('onThrottled')) void events.emitAsync('onThrottled', { workerId: this.id, queues: [...this.queues.now()], waitMs: ms > 0 ? ms : null });
    await this.sleep(seconds);
  }

  /** Takes in what a claim returned; with nothing, waits for a job. */
  private async claimed(jobs: ClaimedJob[]): Promise<void> {
    if (jobs.length > 0) {
      this.pipeline.claimed.push(...jobs);
      return;
    }
    this.titles.set(waitingTitle(this.deps.selection.configured));
    const job = await this.waitForJob();
    if (job) this.pipeline.claimed.push(job);
  }

  /**
   * A recycled child changed this slot's pid: re-register under the new id (claimed jobs go back to their
   * queues' heads with the old id's keys).
   */
  private async reregisterRecycled(finished: FinishedJob | null): Promise<null> {
    await this.pipeline.settle();
    if (finished) await this.outcomes.flush(finished);
    await this.fence.reregister(async () => {
      await this.unregister().catch((error: unknown) => this.deps.logger.error(`worker ${this.id}: unregister failed: ${errorMessage(error)}`));
      this.pipeline.claimed = [];
      await this.register(await this.deps.store.serverTime());
    });
    return null;
  }

  /**
   * Starts a claimed job: sends its cycle (finish `finished`, start this job, claim ahead), performs
   * meanwhile (or, without a lease, once the start is confirmed), and returns the job's bookkeeping for the
   * next cycle (null after a failure, recorded, or when the start was refused).
   */
  private async process(claimed: ClaimedJob, finished: FinishedJob | null): Promise<FinishedJob | null> {
    const store = this.store();
    const read = readClaimed(this.deps.store.keys, claimed, this.id);
    const started = this.start(store, claimed, read, finished);
    if (started !== true && !(await started)) return null;
    const { runnable: job, className, jobId, statusKey, unique } = read;
    const current: RunningJob = { job, className, jobId, statusKey, unique, abort: new JobAbort() };
    // Unreadable: recorded by the fail script, which Redis runs after the cycle that started the job.
    const outcome = read.decoded ? await this.perform(current, read.decoded) : failed(read.decodeError);
    return this.settle(current, read.decoded, outcome);
  }

  /**
   * Sends the cycle that starts the job. With the lease holding it returns at once (the job is performed
   * while the call is out); without it, a pruner may have taken this job back while the slot could not
   * heartbeat, so it waits for the verdict: false when the start was refused. (A call that fails leaves it
   * unknown: the job is performed and resync sorts the bookkeeping out.) True, not a promise, when the lease
   * holds: the common case costs no await.
   */
  private start(store: SlotStore, claimed: ClaimedJob, read: ReadJob, finished: FinishedJob | null): true | Promise<boolean> {
    const claim = this.stopping || this.paused || this.pipeline.pausedByAll ? 0 : this.pipeline.claimAhead(this.deps.options.prefetch);
    const leased = this.fence.leaseHolds();
    const entry = this.pipeline.send({
      finished,
      start: store.starting(claimed, read.statusKey, read.decoded !== null || isJsonObject(claimed.raw), read.unique),
      claim,
      queues: claim > 0 ? this.queues.now() : [],
    });
    if (leased) return true;
    return this.startConfirmed(entry, read);
  }

  /** Without the lease: waits for the start's verdict; false when a pruner had taken the job back. */
  private async startConfirmed(entry: SentCycle, read: ReadJob): Promise<boolean> {
    await entry.done;
    this.pipeline.fold();
    if (entry.jobs !== 'pruned') return true;
    this.deps.logger.warn(`worker ${this.id}: claimed job ${read.className} (id ${read.jobId ?? 'none'}) was taken back by a pruner; not started`);
    return false;
  }

  /** Performs a decoded job; whatever goes wrong, an outcome comes back (a throw would leave the job to unregister, i.e. lost). */
  private async perform(current: RunningJob, decoded: DecodedJob): Promise<JobOutcome> {
    const { events, executor, runner, options, logger } = this.deps;
    const { queue } = current.job;
    if (isVerbose()) logger.verbose(`${this.id} got: ${jobLabel(queue, decoded)}`);
    this.current = current;
    if (this.titles.enabled) this.titles.processing(queue, decoded.className);
    try {
      if (events.hasListeners('beforeFork')) {
        await events.emitAsync('beforeFork', jobEvent(current.job, decoded));
      }
      const timeout = runner.timeoutOf(decoded.className) ?? options.timeout;
      return await executor.perform(current.job, decoded, timeout, current.abort);
    } catch (error) {
      return failed(error);
    } finally {
      this.current = null;
    }
  }

  /**
   * Logs the outcome; a failure is recorded (or an interrupted job requeued) now, a success in the next cycle
   * (returned at once, without an await: the common case).
   */
  private settle(current: RunningJob, decoded: DecodedJob | null, outcome: JobOutcome): FinishedJob | Promise<null> {
    if (outcome.kind === 'failed') return this.settleFailed(current, decoded, outcome);
    logOutcome(this.deps.logger, this.id, current.job.queue, decoded, outcome, false);
    const resultJson = outcome.kind === 'complete' ? outcome.resultJson : 'null';
    const retryKey = decoded ? retryKeyOnSuccess(this.retryPolicyOf, this.deps.store.keys, decoded) : undefined;
    const finished: FinishedJob = { statusKey: current.statusKey, resultJson, className: current.className, jobId: current.jobId, raw: current.job.raw, unique: current.unique };
    if (retryKey !== undefined) finished.retryKey = retryKey;
    return finished;
  }

  private async settleFailed(current: RunningJob, decoded: DecodedJob | null, outcome: JobOutcome & { kind: 'failed' }): Promise<null> {
    const requeueInterrupted = this.deps.options.onInterrupted === 'requeue';
    if (!(outcome.interrupted && requeueInterrupted)) {
      await this.fail(current, decoded, outcome); // logged once the fail script said whether it retries
      return null;
    }
    logOutcome(this.deps.logger, this.id, current.job.queue, decoded, outcome, requeueInterrupted);
    await this.outcomes.requeue(current);
    return null;
  }

  /** Records a failure, or counts the attempt and retries it (retry policy: then onRetry). */
  private async fail(current: RunningJob, decoded: DecodedJob | null, outcome: JobOutcome & { kind: 'failed' }): Promise<void> {
    const plan = planFailure(this.retryPolicyOf, this.deps.store.keys, decoded, current.job.queue, outcome);
    const reply = await this.outcomes.recordFailure(current, outcome, plan?.write ?? null);
    if (reply?.kind !== 'retried' || !plan || !decoded) {
      logOutcome(this.deps.logger, this.id, current.job.queue, decoded, outcome, false);
      return;
    }
    // Not a failure yet: a warning, so an ERROR line means the job is in `failed`.
    this.deps.logger.warn(
      `${this.id} failed, retrying: ${jobLabel(current.job.queue, decoded)}: attempt ${plan.attempt}: ${outcome.exception}: ${outcome.error}; attempt ${reply.nextAttempt} in ${plan.delay} s`,
    );
    const { events } = this.deps;
    if (!events.hasListeners('onRetry')) return;
    await events.emitAsync('onRetry', {
      ...jobEvent(current.job, decoded),
      attempt: plan.attempt,
      delay: plan.delay,
      error: plan.error,
    });
  }

  /** After a prune: settle what is in flight (fenced), drop the old id's keys, then re-register or exit. */
  private async recoverFromPrune(finished: FinishedJob | null): Promise<void> {
    const { logger, options, store } = this.deps;
    await this.pipeline.drain();
    this.pipeline.forgetUnconfirmed();
    if (finished) await this.outcomes.flush(finished);
    this.pipeline.claimed = [];
    const oldId = this.id;
    await this.fence.reregister(async () => {
      // A Ruby pruner leaves our claim list behind: unregister puts those jobs back at the head of their queues.
      await this.outcomes.untilWritten(`the unregistration of pruned ${oldId}`, () => this.store().unregister());
      if (this.stopping) return;
      if (options.onPruned === 'exit') {
        this.stopRequested = true;
        this.deps.exitPruned();
        return;
      }
      this.fence.generation++;
      await this.outcomes.untilWritten(`the registration after pruned ${oldId}`, async () => this.register(await store.serverTime()));
      this.fence.pruned = false;
      logger.warn(`worker ${oldId} registered again as ${this.id}`);
    });
  }

  /** Computes the id and binds the store to it (a new store when the id changed). */
  private bind(): SlotStore {
    const { options, executor, selection, store } = this.deps;
    this.id = buildWorkerId(options.hostname, `${executor.idPid}${executor.idSuffix}${this.fence.idSuffix}`, selection.configured);
    let bound = this.slotStore;
    if (bound?.workerId !== this.id) {
      bound = new SlotStore(store, this.id, this.queues.only, options.concurrency > 1);
      this.slotStore = bound;
    }
    return bound;
  }

  /** Nothing was queued: block on the queue (blocking mode, one literal queue) or sleep `interval`. */
  private async waitForJob(): Promise<ClaimedJob | null> {
    const { options, store } = this.deps;
    if (!options.blocking) {
      await this.sleep(options.interval);
      return null;
    }
    const queue = this.queues.only;
    // BLMOVE would pop a job whatever its class: with throttles for this queue, poll instead (policy: throttle).
    if (!this.deps.blockingClient || queue === null || store.throttle?.appliesTo(queue)) {
      await this.sleep(Math.min(options.interval, BLOCKING_FALLBACK_POLL_SECONDS));
      return null;
    }
    if (this.stopping) return null;
    try {
      const blockingClient = (this.blocking ??= this.openBlocking(this.deps.blockingClient));
      // BLMOVE into worker:<id>:claim: never lost between the pop and the record (the pruner reads it too).
      const raw = await blockingClient.blmove(store.keys.queue(queue), store.keys.workerClaim(this.id), 'LEFT', 'RIGHT', options.interval);
      return raw === null ? null : { queue, raw };
    } catch (error) {
      // The pop may have moved a job before its reply was lost: re-read the claim list.
      this.pipeline.noteConnectionLost();
      if (!this.stopping) {
        this.deps.logger.error(`worker ${this.id}: blocking pop failed: ${errorMessage(error)}`);
        await this.sleep(options.interval);
      }
      return null;
    }
  }

  /** The BLMOVE connection; a drop may repeat or lose a pop's reply, so the slot then resyncs. */
  private openBlocking(open: () => ResqueRedis): ResqueRedis {
    const client = open();
    client.on('close', () => this.pipeline.noteConnectionLost());
    return client;
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

import { Inject, Injectable, Optional } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { ResqueConnection } from '../connection/connection.service.js';
import { ResqueEvents } from '../events/events.service.js';
import { ResqueJobRegistry } from '../jobs/job.registry.js';
import { MemoryThrottle } from '../policies/policy.throttle.js';
import {
  JobStatus,
  assertSelectors,
  buildFailure,
  encodeFailure,
  decodeDelayedItem,
  decodePayload,
  delayedTimestampOf,
  matchesAnySelector,
  unixSeconds,
  type DequeueSelector,
  type JobStatusInfo,
  type ResqueProgress,
} from '../protocol/index.js';
import type { JobSink, PreparedJob } from '../queue/queue.enqueue.js';
import { ResqueQueue } from '../queue/queue.service.js';
import type { PeekedJob } from '../queue/queue.types.js';
import { assertIndex, assertJobId, assertQueueName } from '../queue/queue.validation.js';
import { JobRunner } from '../worker/worker.job-runner.js';
import type { ProgressSink } from '../worker/worker.progress.js';
import { RESQUE_TESTING_OPTIONS } from './testing.constants.js';
import { MemoryDelayedStore } from './testing.delayed.js';
import { MemoryFailedList } from './testing.failures.js';
import { MemoryRetries } from './testing.retry.js';
import type { DelayedJob, PerformedJob, RecordedJob, ResqueTestingOptions } from './testing.types.js';
import { MemoryUniqueLocks } from './testing.unique.js';
import type { JobOutcome } from '../worker/worker.types.js';

/** Guards against a job that keeps enqueueing itself during runAll(). */
const RUN_ALL_LIMIT = 10_000;

/**
 * ResqueQueue for tests, without Redis (see ResqueTestingModule). It is a ResqueQueue whose jobs and delayed
 * jobs land in memory instead of Redis: enqueue, enqueueBulk and the delayed methods take the very same path
 * (argument checks, beforeEnqueue/afterEnqueue, beforeSchedule/afterSchedule), only the storage differs.
 * - `'record'` mode: `enqueue` records; `jobs(queue?)` lists the waiting ones; `runAll(queue?)` performs them
 *   (and any they enqueue) in order; `clear()` forgets everything.
 * - `'inline'` mode: `enqueue` performs the job before resolving and returns its id.
 * - Delayed jobs are kept in resque-scheduler's layout in memory: `delayedJobs()` lists them,
 *   `enqueueDelayed(until?)` moves the due ones (all by default) to their queues, as the scheduler would.
 * Jobs are performed by the worker's JobRunner in this Nest context: your providers are injected, SetUp →
 * Perform → TearDown and the per-job hooks run, beforePerform/afterPerform/onFailure are emitted (afterFork is
 * not: nothing forks). A failing job does not throw from enqueue: see `failures()` and `status(id)`.
 * `status(id)` follows tracked jobs like Redis would (WAITING, then COMPLETE with the result, or FAILED).
 * Every `ctx.progress()` value is recorded (no throttling): `performed()[i].progress`, and the last one in
 * `status(id).progress` for tracked jobs.
 * Throttles (`@Job({ throttle, maxConcurrent })`) are honoured as a worker would at that instant, without
 * waiting: a job over its class's rate (sliding window on Date.now(), so fake timers move it) or cap is not
 * performed but stays waiting, at the head of its queue: `runAll()` skips that queue and goes on with the
 * others, returning when only held-back jobs remain (`jobs()` lists them; a later `runAll()` performs them
 * once their window has room); in inline mode `enqueue` records such a job as waiting instead of
 * performing it. Jobs run one at a time here, so a cap only holds back a job enqueued inline by a running
 * job of the same capped class.
 */
@Injectable()
export class ResqueTestingQueue extends ResqueQueue {
  /** The `failed` list ResqueFailures reads in the testing module (records of the jobs that failed here). */
  readonly failedList: MemoryFailedList;
  private readonly memory: MemoryJobs;
  private readonly delayedStore: MemoryDelayedStore;
  private readonly locks: MemoryUniqueLocks;

  constructor(
    @Inject(RESQUE_TESTING_OPTIONS) options: ResqueTestingOptions,
    moduleRef: ModuleRef,
    private readonly registry: ResqueJobRegistry,
    events: ResqueEvents,
    @Optional() connection?: ResqueConnection,
  ) {
    const failedList: MemoryFailedList = new MemoryFailedList((queue, job): Promise<void> => memory.requeue(queue, job));
    const throttle = new MemoryThrottle((className) => registry.get(className)?.options);
    const locks = new MemoryUniqueLocks();
    const memory: MemoryJobs = new MemoryJobs(
      options.mode,
      (progress) => new JobRunner({ moduleRef, registry, events, progress }),
      failedList,
      new MemoryRetries(events),
      throttle,
      locks,
    );
    const delayedStore = new MemoryDelayedStore(locks);
    super(connection ?? noRedis(), events, { jobs: memory, delayed: delayedStore });
    this.locks = locks;
    this.memory = memory;
    this.delayedStore = delayedStore;
    this.failedList = failedList;
  }

  get mode(): ResqueTestingOptions['mode'] {
    return this.memory.mode;
  }

  // --- the rest of the ResqueQueue surface, in memory -----------------------------------------

  override async dequeue(queue: string, selectors?: readonly DequeueSelector[]): Promise<number> {
    assertQueueName(queue, 'queue');
    if (selectors !== undefined) assertSelectors(selectors, 'selectors');
    const memory = this.memory;
    const before = memory.waiting.length;
    memory.waiting = memory.waiting.filter((j) => {
      if (j.queue !== queue) return true;
      const keep = selectors !== undefined && !matchesAnySelector(decodePayload(j.raw), selectors);
      if (!keep && selectors !== undefined) this.locks.releaseRemoved(j.raw); // unique: as dequeue with selectors does in Redis
      return keep;
    });
    return before - memory.waiting.length;
  }

  override async status(id: string, prefix?: string): Promise<JobStatusInfo | null> {
    assertJobId(id, 'id');
    if (prefix !== undefined && typeof prefix !== 'string') throw new TypeError('prefix must be a string');
    const status = this.memory.statuses.get(id);
    return status ? { ...status } : null;
  }

  override async queues(): Promise<string[]> {
    return [...new Set(this.memory.history.map((j) => j.queue))].sort();
  }

  override async size(queue: string): Promise<number> {
    assertQueueName(queue, 'queue');
    return this.jobs(queue).length;
  }

  override async peek(queue: string, start = 0, count = 1): Promise<PeekedJob[]> {
    assertQueueName(queue, 'queue');
    assertIndex(start, 'start', 0);
    assertIndex(count, 'count', 1);
    return this.jobs(queue)
      .slice(start, start + count)
      .map((j) => decodePayload(j.raw));
  }

  override async removeQueue(queue: string): Promise<number> {
    assertQueueName(queue, 'queue');
    const removed = await this.dequeue(queue);
    this.memory.history = this.memory.history.filter((j) => j.queue !== queue);
    return removed;
  }

  // --- testing API ---------------------------------------------------------------------------

  /** Jobs waiting to be performed (record mode), oldest first; only those of `queue` when given. */
  jobs(queue?: string): RecordedJob[] {
    return this.memory.waiting.filter((j) => queue === undefined || j.queue === queue);
  }

  /** Every job enqueued since the last clear(), performed or not, oldest first. */
  enqueued(queue?: string): RecordedJob[] {
    return this.memory.history.filter((j) => queue === undefined || j.queue === queue);
  }

  /** Jobs performed since the last clear(), in the order they finished. */
  performed(): PerformedJob[] {
    return [...this.memory.done];
  }

  /** Performed jobs that failed (the outcome holds exception, error and backtrace). */
  failures(): PerformedJob[] {
    return this.memory.done.filter((j) => j.outcome.kind === 'failed');
  }

  /** Delayed jobs not yet moved to their queue, soonest first (only those of `queue` when given). */
  delayedJobs(queue?: string): DelayedJob[] {
    return this.delayedStore
      .all()
      .map(({ at, item }) => toDelayedJob(at, item))
      .filter((j) => queue === undefined || j.queue === queue);
  }

  /**
   * Moves the delayed jobs due at or before `until` (a Date or unix seconds; default: all of them) to their
   * queues through enqueue, soonest first, as the scheduler would; returns their ids (false where a
   * beforeEnqueue listener vetoed). In inline mode they are performed as they are enqueued.
   */
  async enqueueDelayed(until?: Date | number): Promise<Array<string | false>> {
    const limit = until === undefined ? Number.POSITIVE_INFINITY : delayedTimestampOf(until, 'until');
    const ids: Array<string | false> = [];
    for (const { at, item } of this.delayedStore.takeDue(limit)) {
      const job = toDelayedJob(at, item);
      const record = JSON.parse(item) as Record<string, unknown>;
      if (record['unique'] === undefined) ids.push(await this.enqueue(job.queue, job.className, job.params));
      else ids.push(await this.promoteUnique(job, record));
    }
    return ids;
  }

  /**
   * A unique delayed job moves as the scheduler moves it: under the id its lock holds, its 'queued' lock
   * released, a 'started'/'finished' one kept for the job (not checked again: it was checked when scheduled).
   */
  private async promoteUnique(job: DelayedJob, record: Record<string, unknown>): Promise<string | false> {
    const id = typeof record['id'] === 'string' ? record['id'] : undefined;
    this.locks.releaseMarked(record, id ?? null, 'queued');
    const checked = this.enqueuer.check(job.queue, this.registry.get(job.className)?.classRef ?? job.className, job.params);
    const keep = checked.unique && checked.unique.until !== 'queued';
    return this.enqueuer.enqueue(keep ? checked : { ...checked, unique: null }, id);
  }

  /** Performs the waiting jobs (of `queue`, or all) in order, including jobs they enqueue; returns what ran. */
  async runAll(queue?: string): Promise<PerformedJob[]> {
    if (queue !== undefined) assertQueueName(queue, 'queue');
    const memory = this.memory;
    const ran: PerformedJob[] = [];
    for (let n = 0; ; n++) {
      const next = memory.nextRunnable(queue);
      if (!next) return ran;
      if (n >= RUN_ALL_LIMIT) throw new Error(`runAll() stopped after ${RUN_ALL_LIMIT} jobs: a job keeps enqueueing more`);
      memory.waiting.splice(memory.waiting.indexOf(next), 1);
      ran.push(await memory.perform(next));
    }
  }

  /** Forgets every recorded, delayed and performed job, every status and every failure record. */
  clear(): void {
    this.memory.clear();
    this.memory.throttle.clear();
    this.delayedStore.clear();
    this.locks.clear();
    void this.failedList.clear();
  }
}

/** The testing queue's JobSink: jobs are recorded (and, inline, performed once enqueue's events ran). */
class MemoryJobs implements JobSink {
  waiting: RecordedJob[] = [];
  history: RecordedJob[] = [];
  done: PerformedJob[] = [];
  readonly statuses = new Map<string, JobStatusInfo>();
  private runner: JobRunner | null = null;
  private readonly recorded = new Map<string, RecordedJob>();
  /** The progress values of the jobs running now, by id (an inline job may run another one inside). */
  private readonly progress = new Map<string, ResqueProgress[]>();

  constructor(
    readonly mode: ResqueTestingOptions['mode'],
    private readonly newRunner: (progress: ProgressSink) => JobRunner,
    private readonly failed: MemoryFailedList,
    private readonly retries: MemoryRetries,
    readonly throttle: MemoryThrottle,
    private readonly locks: MemoryUniqueLocks,
  ) {}

  /**
   * The first waiting job (of `queue`, or any) that may run now: a queue whose first job is held back by
   * its throttle is skipped whole, as a worker's claim leaves it at the head and moves on.
   */
  nextRunnable(queue: string | undefined): RecordedJob | undefined {
    const blocked = new Set<string>();
    for (const job of this.waiting) {
      if ((queue !== undefined && job.queue !== queue) || blocked.has(job.queue)) continue;
      if (this.throttle.mayRun(job.className)) return job;
      blocked.add(job.queue);
    }
    return undefined;
  }

  /** Inline mode: performs the job now, or leaves it waiting when its throttle holds it back. */
  private async performOrWait(job: RecordedJob): Promise<void> {
    if (this.throttle.mayRun(job.className)) await this.perform(job);
    else this.waiting.push(job);
  }

  /** Records every value of a running job; a tracked job's status shows the last one, as Redis would. */
  private readonly progressSink: ProgressSink = {
    open: (decoded) => {
      const values = decoded.id === null ? undefined : this.progress.get(decoded.id);
      if (!values || decoded.id === null) return null;
      const id = decoded.id;
      return {
        report: (value) => {
          values.push(value);
          const status = this.statuses.get(id);
          if (status?.status === JobStatus.RUNNING) this.statuses.set(id, { ...status, updated: unixSeconds(), progress: value });
        },
        flush: () => Promise.resolve(),
      };
    },
  };

  async push(job: PreparedJob): Promise<string | undefined> {
    const { id, queue, className, params, payload: raw, tracked, unique } = job;
    if (unique) {
      const holder = this.locks.take(unique.lock, id, unique.ttl, unique.until !== 'queued');
      if (holder !== undefined) return holder;
    }
    this.record({ id, queue, className, params, args: [params], raw, tracked });
    return undefined;
  }

  /** A failure requeued by ResqueFailures: its exact payload back in its queue, an existing status back to WAITING. */
  async requeue(queue: string, raw: string): Promise<void> {
    const decoded = decodePayload(raw);
    const id = decoded.id ?? '';
    const tracked = id !== '' && this.statuses.has(id);
    const recorded = this.record({ id, queue, className: decoded.className, params: decoded.params, args: decoded.args, raw, tracked });
    if (this.mode === 'inline') {
      this.recorded.delete(id);
      await this.performOrWait(recorded);
    }
  }

  private record(recorded: RecordedJob): RecordedJob {
    const { id, tracked } = recorded;
    this.history.push(recorded);
    if (this.mode === 'record') this.waiting.push(recorded);
    else this.recorded.set(id, recorded);
    if (tracked) this.setStatus(id, JobStatus.WAITING, null);
    return recorded;
  }

  async pushBulk(_queue: string, jobs: readonly PreparedJob[]): Promise<void> {
    for (const job of jobs) await this.push(job);
  }

  async delivered(jobs: readonly PreparedJob[]): Promise<void> {
    if (this.mode !== 'inline') return;
    for (const job of jobs) {
      const recorded = this.recorded.get(job.id);
      this.recorded.delete(job.id);
      if (recorded) await this.performOrWait(recorded);
    }
  }

  async perform(job: RecordedJob): Promise<PerformedJob> {
    this.runner ??= this.newRunner(this.progressSink);
    if (job.tracked) this.setStatus(job.id, JobStatus.RUNNING, null);
    const workerId = `testing:${process.pid}:${job.queue}`;
    const progress: ResqueProgress[] = [];
    this.progress.set(job.id, progress);
    let outcome: JobOutcome;
    const release = this.throttle.take(job.className);
    const payload = job.raw.includes('"unique"') ? decodePayload(job.raw).payload : null;
    if (payload) this.locks.releaseMarked(payload, job.id, 'started');
    try {
      outcome = await this.runner.run({ raw: job.raw, queue: job.queue, workerId }, { afterFork: false });
    } finally {
      release();
      this.progress.delete(job.id);
    }
    const retry = await this.settleRetry(this.runner, job, workerId, outcome);
    // A job to be retried keeps its 'finished' lock, as in the worker's fail script.
    if (payload && !retry) this.locks.releaseMarked(payload, job.id, 'finished');
    const result = outcome.kind === 'complete' ? (JSON.parse(outcome.resultJson) as unknown) : undefined;
    if (job.tracked) this.setStatus(job.id, outcome.kind === 'failed' ? JobStatus.FAILED : JobStatus.COMPLETE, result ?? null);
    const performed: PerformedJob = { ...job, outcome, result, progress };
    this.done.push(performed);
    if (retry) {
      // Retries run in order, without the wait: inline at once, in record mode at the end of the waiting jobs.
      if (job.tracked) this.setStatus(job.id, JobStatus.WAITING, null);
      if (this.mode === 'inline') await this.perform(retry);
      else this.waiting.push(retry);
    }
    return performed;
  }

  /** The retry policy's verdict: the job to run again, or null (a final failure is recorded here). */
  private async settleRetry(runner: JobRunner, job: RecordedJob, workerId: string, outcome: JobOutcome): Promise<RecordedJob | null> {
    if (outcome.kind !== 'failed') {
      if (job.raw.includes('"retry_attempt"')) this.retries.succeeded(runner, job.raw);
      return null;
    }
    const next = await this.retries.failed(runner, job.raw, job.queue, workerId, outcome);
    if (next.kind === 'retry') return { ...job, raw: next.raw };
    if (!outcome.stopRecord) this.recordFailure(job, workerId, outcome, next.attempts);
    return null;
  }

  private recordFailure(job: RecordedJob, workerId: string, outcome: JobOutcome & { kind: 'failed' }, attempts: number | null): void {
    const { exception, error, backtrace } = outcome;
    const record = encodeFailure(buildFailure({ rawPayload: job.raw, exception, error, backtrace, worker: workerId, queue: job.queue }));
    this.failed.append(attempts === null ? record : `${record.slice(0, -1)},"retry_attempts":${attempts}}`);
  }

  clear(): void {
    this.waiting = [];
    this.history = [];
    this.done = [];
    this.statuses.clear();
    this.recorded.clear();
    this.retries.clear();
  }

  private setStatus(id: string, status: JobStatus, result: unknown): void {
    const now = unixSeconds();
    const previous = this.statuses.get(id);
    const started = previous?.started ?? now;
    // A finished job keeps its last progress (as the worker's scripts do); a new run starts without.
    const progress = status === JobStatus.COMPLETE || status === JobStatus.FAILED ? (previous?.progress ?? null) : null;
    this.statuses.set(id, { status, updated: now, started, result, progress });
  }
}

function toDelayedJob(at: number, item: string): DelayedJob {
  const decoded = decodeDelayedItem(item);
  return { at, queue: decoded.queue, className: decoded.className, args: decoded.args, params: decoded.args[0] ?? null, raw: item };
}

/** Stands in for the Redis connection: any ResqueQueue method not replaced here says what is missing. */
function noRedis(): ResqueConnection {
  return new Proxy({} as ResqueConnection, {
    get(_target, property) {
      if (property === 'then') return undefined; // not a thenable
      throw new Error(
        `ResqueTestingModule has no Redis (tried to use ResqueConnection.${String(property)}): ` +
          'pass { connection } to ResqueTestingModule.forRoot() for methods that need one',
      );
    },
  });
}

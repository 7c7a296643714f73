import { Inject, Injectable, Optional } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { ResqueConnection } from '../connection/connection.service.js';
import { readJobName } from '../decorators/decorators.metadata.js';
import type { JobClass, JobParamsOf } from '../decorators/decorators.types.js';
import { ResqueEvents } from '../events/events.service.js';
import type { EnqueueEvent } from '../events/events.types.js';
import { ResqueJobRegistry } from '../jobs/job.registry.js';
import {
  assertSelectors,
  decodePayload,
  encodePayload,
  JobStatus,
  matchesAnySelector,
  newJobId,
  queueTimeNow,
  unixSeconds,
  type DequeueSelector,
  type JobStatusInfo,
} from '../protocol/index.js';
import { ResqueQueue } from '../queue/queue.service.js';
import type { BulkJob, EnqueueOptions, PeekedJob } from '../queue/queue.types.js';
import { assertIndex, assertJobId, assertOptions, assertQueueName, normalizeParams, typeName } from '../queue/queue.validation.js';
import { JobRunner } from '../worker/worker.job-runner.js';
import { RESQUE_TESTING_OPTIONS } from './testing.constants.js';
import type { PerformedJob, RecordedJob, ResqueTestingOptions } from './testing.types.js';

/** Guards against a job that keeps enqueueing itself during runAll(). */
const RUN_ALL_LIMIT = 10_000;

/**
 * ResqueQueue for tests, without Redis (see ResqueTestingModule). It is a ResqueQueue (same methods, same
 * argument validation and error messages, same beforeEnqueue/afterEnqueue events), but jobs live in memory:
 * - `'record'` mode: `enqueue` records; `jobs(queue?)` lists the waiting ones; `runAll(queue?)` performs them
 *   (and any they enqueue) in order; `clear()` forgets everything.
 * - `'inline'` mode: `enqueue` performs the job before resolving and returns its id.
 * Jobs are performed by the worker's JobRunner in this Nest context: your providers are injected, SetUp →
 * Perform → TearDown and the per-job hooks run, beforePerform/afterPerform/onFailure are emitted (afterFork is
 * not: nothing forks). A failing job does not throw from enqueue: see `failures()` and `status(id)`.
 * `status(id)` follows tracked jobs like Redis would (WAITING, then COMPLETE with the result, or FAILED).
 */
@Injectable()
export class ResqueTestingQueue extends ResqueQueue {
  private waiting: RecordedJob[] = [];
  private history: RecordedJob[] = [];
  private done: PerformedJob[] = [];
  private statuses = new Map<string, JobStatusInfo>();
  private runner: JobRunner | null = null;
  private readonly jobRegistry: ResqueJobRegistry;
  private readonly jobEvents: ResqueEvents;

  constructor(
    @Inject(RESQUE_TESTING_OPTIONS) private readonly testingOptions: ResqueTestingOptions,
    private readonly moduleRef: ModuleRef,
    registry: ResqueJobRegistry,
    events: ResqueEvents,
    @Optional() connection?: ResqueConnection,
  ) {
    super(connection ?? noRedis(), registry, events);
    this.jobRegistry = registry;
    this.jobEvents = events;
  }

  get mode(): ResqueTestingOptions['mode'] {
    return this.testingOptions.mode;
  }

  // --- the ResqueQueue surface, in memory -------------------------------------------------------

  override enqueue<C extends JobClass>(queue: string, job: C, params?: JobParamsOf<C>, options?: EnqueueOptions): Promise<string | false>;
  override enqueue(queue: string, job: string, params?: unknown, options?: EnqueueOptions): Promise<string | false>;
  override async enqueue(queue: string, job: string | JobClass, params?: unknown, options?: EnqueueOptions): Promise<string | false> {
    // The same checks, in the same order, with the same messages as ResqueQueue.enqueue.
    assertQueueName(queue, 'queue');
    const className = this.resolveJobName(job, 'job');
    const value = normalizeParams(params, 'params');
    assertOptions(options, 'options');
    const recorded = await this.record(queue, job, className, value, options);
    if (recorded === false) return false;
    if (this.mode === 'inline') await this.perform(recorded);
    return recorded.id;
  }

  override async enqueueBulk(queue: string, jobs: readonly BulkJob[], options?: EnqueueOptions): Promise<Array<string | false>> {
    assertQueueName(queue, 'queue');
    if (!Array.isArray(jobs)) throw new TypeError(`jobs must be an array of { job, params }, got ${typeName(jobs)}`);
    assertOptions(options, 'options');
    const checked = jobs.map((entry: BulkJob | undefined, i) => {
      if (!entry || typeof entry !== 'object') throw new TypeError(`jobs[${i}] must be an object { job, params }, got ${typeName(entry)}`);
      return { job: entry.job, className: this.resolveJobName(entry.job, `jobs[${i}].job`), params: normalizeParams(entry.params, `jobs[${i}].params`) };
    });
    const recorded: Array<RecordedJob | false> = [];
    for (const c of checked) recorded.push(await this.record(queue, c.job, c.className, c.params, options));
    if (this.mode === 'inline') for (const r of recorded) if (r) await this.perform(r);
    return recorded.map((r) => (r ? r.id : false));
  }

  override async dequeue(queue: string, selectors?: readonly DequeueSelector[]): Promise<number> {
    assertQueueName(queue, 'queue');
    if (selectors !== undefined) assertSelectors(selectors, 'selectors');
    const before = this.waiting.length;
    this.waiting = this.waiting.filter((j) => {
      if (j.queue !== queue) return true;
      if (selectors === undefined) return false;
      return !matchesAnySelector(decodePayload(j.raw), selectors);
    });
    return before - this.waiting.length;
  }

  override async status(id: string, prefix?: string): Promise<JobStatusInfo | null> {
    assertJobId(id, 'id');
    if (prefix !== undefined && typeof prefix !== 'string') throw new TypeError('prefix must be a string');
    const status = this.statuses.get(id);
    return status ? { ...status } : null;
  }

  override async queues(): Promise<string[]> {
    return [...new Set(this.history.map((j) => j.queue))].sort();
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
    this.history = this.history.filter((j) => j.queue !== queue);
    return removed;
  }

  // --- testing API ---------------------------------------------------------------------------

  /** Jobs waiting to be performed (record mode), oldest first; only those of `queue` when given. */
  jobs(queue?: string): RecordedJob[] {
    return this.waiting.filter((j) => queue === undefined || j.queue === queue);
  }

  /** Every job enqueued since the last clear(), performed or not, oldest first. */
  enqueued(queue?: string): RecordedJob[] {
    return this.history.filter((j) => queue === undefined || j.queue === queue);
  }

  /** Jobs performed since the last clear(), in the order they finished. */
  performed(): PerformedJob[] {
    return [...this.done];
  }

  /** Performed jobs that failed (the outcome holds exception, error and backtrace). */
  failures(): PerformedJob[] {
    return this.done.filter((j) => j.outcome.kind === 'failed');
  }

  /** Performs the waiting jobs (of `queue`, or all) in order, including jobs they enqueue; returns what ran. */
  async runAll(queue?: string): Promise<PerformedJob[]> {
    if (queue !== undefined) assertQueueName(queue, 'queue');
    const ran: PerformedJob[] = [];
    for (let n = 0; ; n++) {
      const next = this.waiting.find((j) => queue === undefined || j.queue === queue);
      if (!next) return ran;
      if (n >= RUN_ALL_LIMIT) throw new Error(`runAll() stopped after ${RUN_ALL_LIMIT} jobs: a job keeps enqueueing more`);
      this.waiting.splice(this.waiting.indexOf(next), 1);
      ran.push(await this.perform(next));
    }
  }

  /** Forgets every recorded and performed job and every status. */
  clear(): void {
    this.waiting = [];
    this.history = [];
    this.done = [];
    this.statuses.clear();
  }

  // --- internals -----------------------------------------------------------------------------

  private async record(queue: string, job: string | JobClass, className: string, params: unknown, options?: EnqueueOptions): Promise<RecordedJob | false> {
    const tracked = options?.track ?? (typeof job === 'function' && readJobName(job)?.options.track === true);
    const id = newJobId();
    const args = [params];
    if (this.jobEvents.hasListeners('beforeEnqueue') || this.jobEvents.hasListeners('afterEnqueue')) {
      const event: EnqueueEvent = { className, args, queue, id, params, jobClass: typeof job === 'function' ? job : null, tracked };
      if (this.jobEvents.hasListeners('beforeEnqueue') && !(await this.jobEvents.emitAsync('beforeEnqueue', event))) return false;
      const recorded = this.store(queue, className, id, params, tracked);
      if (this.jobEvents.hasListeners('afterEnqueue')) await this.jobEvents.emitAsync('afterEnqueue', event);
      return recorded;
    }
    return this.store(queue, className, id, params, tracked);
  }

  private store(queue: string, className: string, id: string, params: unknown, tracked: boolean): RecordedJob {
    const raw = encodePayload(className, params, { id, queueTime: queueTimeNow() });
    const recorded: RecordedJob = { id, queue, className, params, args: [params], raw, tracked };
    this.history.push(recorded);
    if (this.mode === 'record') this.waiting.push(recorded);
    if (tracked) this.setStatus(id, JobStatus.WAITING, null);
    return recorded;
  }

  private async perform(job: RecordedJob): Promise<PerformedJob> {
    this.runner ??= new JobRunner({ moduleRef: this.moduleRef, registry: this.jobRegistry, events: this.jobEvents });
    if (job.tracked) this.setStatus(job.id, JobStatus.RUNNING, null);
    const outcome = await this.runner.run({ raw: job.raw, queue: job.queue, workerId: `testing:${process.pid}:${job.queue}` }, { afterFork: false });
    const result = outcome.kind === 'complete' ? (JSON.parse(outcome.resultJson) as unknown) : undefined;
    if (job.tracked) this.setStatus(job.id, outcome.kind === 'failed' ? JobStatus.FAILED : JobStatus.COMPLETE, result ?? null);
    const performed: PerformedJob = { ...job, outcome, result };
    this.done.push(performed);
    return performed;
  }

  private setStatus(id: string, status: JobStatus, result: unknown): void {
    const now = unixSeconds();
    const started = this.statuses.get(id)?.started ?? now;
    this.statuses.set(id, { status, updated: now, started, result });
  }
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

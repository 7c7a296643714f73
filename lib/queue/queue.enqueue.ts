import { randomBytes } from 'node:crypto';
import type { JobClass } from '../decorators/decorators.types.js';
import type { ResqueEvents } from '../events/events.service.js';
import type { EnqueueEvent } from '../events/events.types.js';
import { resolveJobName, typeName } from '../jobs/job.name.js';
import { DuplicateJobError, uniqueLockOf, withUniqueMarker, type UniqueLock } from '../policies/policy.unique.js';
import { encodePayload, queueTimeNow } from '../protocol/index.js';
import { assertRetryOverride, encodeRetryOverride, withRetryOverride } from '../policies/policy.retry.js';
import type { BulkJob, EnqueueOptions } from './queue.types.js';
import { assertOptions, assertQueueName, normalizeParams } from './queue.validation.js';

/** A job that passed every check: what enqueue announces and pushes. */
export interface CheckedJob {
  readonly queue: string;
  readonly className: string;
  readonly jobClass: JobClass | null;
  /** Params as stored in `args[0]` (undefined became null). */
  readonly params: unknown;
  /** Whether a WAITING status packet is written: the option, else the @Job's `track`, else false. */
  readonly tracked: boolean;
  /** The `retry` enqueue option as the payload's `retry` member (JSON), when given. */
  readonly retry?: string;
  /** The lock of a `@Job({ unique })` class enqueued through the class, else null. */
  readonly unique: UniqueLock | null;
}

/** A checked job with its id and payload, ready to land. */
export interface PreparedJob extends CheckedJob {
  readonly id: string;
  /** The payload string, php-resque's `{"class","args":[params],"id","queue_time"}`. */
  readonly payload: string;
  /** Date.now() when the payload was stamped (queue_time, and the status packet's times). */
  readonly stampedAt: number;
}

/** Where enqueued jobs land: Redis for ResqueQueue, memory for ResqueTestingQueue. */
export interface JobSink {
  /**
   * One job (enqueue, or a delayed job already due). For a unique job, resolves with the id of the equal
   * job that holds its lock when there is one (nothing was pushed).
   */
  push(job: PreparedJob): Promise<string | undefined>;
  /** Several jobs of one queue, in order (enqueueBulk). */
  pushBulk(queue: string, jobs: readonly PreparedJob[]): Promise<void>;
  /** Runs once the afterEnqueue listeners ran for these jobs (the testing queue's inline mode performs them here). */
  delivered?(jobs: readonly PreparedJob[]): Promise<void>;
}

/**
 * The one enqueue path (enqueue, enqueueBulk, a delayed job already due; Redis or the testing module's
 * memory): validate → beforeEnqueue (may veto) → push → afterEnqueue. Arguments are checked before any
 * listener runs or anything is written.
 */
export class JobEnqueuer {
  constructor(
    private readonly events: ResqueEvents,
    private readonly sink: JobSink,
  ) {}

  /** The checks of enqueue, in this order: queue, job, params, options. Throws TypeError/RangeError. */
  check(queue: unknown, job: unknown, params: unknown, options?: unknown, names = { job: 'job', params: 'params' }): CheckedJob {
    assertQueueName(queue, 'queue');
    const resolved = resolveJobName(job, names.job);
    const value = normalizeParams(params, names.params);
    assertOptions(options, 'options');
    const { track, retry } = (options as EnqueueOptions | undefined) ?? {};
    const { className, jobClass } = resolved;
    const unique = uniqueLockOf(className, resolved.options?.unique, value);
    const checked = { queue, className, jobClass, params: value, tracked: track ?? resolved.options?.track === true, unique };
    if (retry === undefined) return checked;
    assertRetryOverride(retry, 'options.retry');
    return { ...checked, retry: encodeRetryOverride(retry) };
  }

  /**
   * Pushes one checked job; its id (32 hex), or false when a beforeEnqueue listener vetoed it. A unique job
   * whose lock an equal job holds resolves with that job's id (afterEnqueue does not fire) or throws
   * DuplicateJobError, as its `onDuplicate` says. `id` is given when the job already has one (a promoted
   * unique delayed job, whose lock holds that id).
   */
  async enqueue(job: CheckedJob, id: string = newId()): Promise<string | false> {
    return (await this.push(job, id)).id;
  }

  /** enqueue(), telling a duplicate apart from a new job (a delayed enqueue must not announce a duplicate). */
  async push(job: CheckedJob, id: string = newId()): Promise<{ id: string | false; duplicate: boolean }> {
    const event = this.listened() ? enqueueEvent(job, id) : null;
    if (event && this.events.hasListeners('beforeEnqueue') && !(await this.events.emitAsync('beforeEnqueue', event))) return { id: false, duplicate: false };
    const prepared = prepare(job, id, Date.now());
    const holder = await this.sink.push(prepared);
    if (holder !== undefined) return { id: duplicateOf(job, holder), duplicate: true };
    if (event && this.events.hasListeners('afterEnqueue')) await this.events.emitAsync('afterEnqueue', event);
    await this.sink.delivered?.([prepared]);
    return { id, duplicate: false };
  }

  /** Checks every entry, then pushes the jobs no beforeEnqueue listener vetoed; ids or false, in input order. */
  async enqueueBulk(queue: unknown, jobs: unknown, options?: unknown): Promise<Array<string | false>> {
    assertQueueName(queue, 'queue');
    if (!Array.isArray(jobs)) throw new TypeError(`jobs must be an array of { job, params }, got ${typeName(jobs)}`);
    assertOptions(options, 'options');
    const checked = (jobs as readonly unknown[]).map((entry, i) => {
      if (!entry || typeof entry !== 'object') throw new TypeError(`jobs[${i}] must be an object { job, params }, got ${typeName(entry)}`);
      const { job, params } = entry as BulkJob;
      return this.check(queue, job, params, options, { job: `jobs[${i}].job`, params: `jobs[${i}].params` });
    });
    if (checked.length === 0) return [];

    const entries = withNewIds(checked);
    const result: Array<string | false> = entries.map((e) => e.id);
    const events = entries.map((): EnqueueEvent | null => null);
    if (this.listened()) {
      for (const [i, { job, id }] of entries.entries()) {
        const event = enqueueEvent(job, id);
        if (this.events.hasListeners('beforeEnqueue') && !(await this.events.emitAsync('beforeEnqueue', event))) result[i] = false;
        else events[i] = event;
      }
    }
    const now = Date.now();
    let prepared: PreparedJob[] = [];
    const positions: number[] = [];
    for (const [i, { job, id }] of entries.entries()) {
      if (result[i] === false) continue;
      prepared.push(prepare(job, id, now));
      positions.push(i);
    }
    if (prepared.some((job) => job.unique)) prepared = await this.pushEach(prepared, positions, result, events);
    else if (prepared.length > 0) await this.sink.pushBulk(queue, prepared);
    if (this.events.hasListeners('afterEnqueue')) {
      for (const event of events) if (event) await this.events.emitAsync('afterEnqueue', event);
    }
    if (prepared.length > 0) await this.sink.delivered?.(prepared);
    return result;
  }

  /**
   * A batch with unique jobs is pushed one job at a time, in order (each lock is taken by its own push): a
   * duplicate's entry becomes the holder's id and is not announced, or, with `onDuplicate: 'reject'`, the
   * batch stops there with DuplicateJobError (the entries before it are queued). Returns the jobs pushed.
   */
  private async pushEach(
    prepared: readonly PreparedJob[],
    positions: readonly number[],
    result: Array<string | false>,
    events: Array<EnqueueEvent | null>,
  ): Promise<PreparedJob[]> {
    const pushed: PreparedJob[] = [];
    for (const [n, job] of prepared.entries()) {
      const at = positions[n] ?? -1;
      const holder = await this.sink.push(job);
      if (holder === undefined) {
        pushed.push(job);
        continue;
      }
      events[at] = null;
      result[at] = duplicateOf(job, holder);
    }
    return pushed;
  }

  private listened(): boolean {
    return this.events.hasListeners('beforeEnqueue') || this.events.hasListeners('afterEnqueue');
  }
}

function enqueueEvent(job: CheckedJob, id: string): EnqueueEvent {
  const { className, queue, params, jobClass, tracked } = job;
  return { className, args: [params], queue, id, params, jobClass, tracked };
}

function prepare(job: CheckedJob, id: string, now: number): PreparedJob {
  // An extra top-level member: Ruby and php ignore it, our worker reads it (retry policy override).
  const payload = withRetryOverride(encodePayload(job.className, job.params, { id, queueTime: queueTimeNow(now) }), job.retry);
  // A lock the worker releases ('started', 'finished') is named in the payload; 'queued' ends before a worker sees it.
  const marked = job.unique && job.unique.until !== 'queued' ? withUniqueMarker(payload, job.unique) : payload;
  return { ...job, id, payload: marked, stampedAt: now };
}

/** What an equal enqueue gets while `holder` holds the lock: its id, or DuplicateJobError (`onDuplicate: 'reject'`). */
export function duplicateOf(job: CheckedJob, holder: string): string {
  const unique = job.unique;
  if (unique?.onDuplicate === 'reject') throw new DuplicateJobError(job.className, unique.key, holder);
  return holder;
}

/** 32-hex ids like php-resque's, drawn from one randomBytes call for the whole batch. */
function newId(): string {
  return randomBytes(16).toString('hex');
}

/** One random id per job, from one randomBytes call. */
function withNewIds(jobs: readonly CheckedJob[]): Array<{ job: CheckedJob; id: string }> {
  const hex = randomBytes(16 * jobs.length).toString('hex');
  return jobs.map((job, i) => ({ job, id: hex.slice(32 * i, 32 * i + 32) }));
}

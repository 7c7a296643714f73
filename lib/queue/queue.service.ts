import { Injectable, Optional } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { ResqueConnection } from '../connection/connection.service.js';
import type { ResqueRedis } from '../connection/connection.types.js';
import { readJobName } from '../decorators/decorators.metadata.js';
import type { JobClass, JobParamsOf } from '../decorators/decorators.types.js';
import { ResqueEvents } from '../events/events.service.js';
import type { EnqueueEvent } from '../events/events.types.js';
import { ResqueJobRegistry } from '../jobs/job.registry.js';
import { ResqueDelayedJobs } from '../scheduler/scheduler.delayed.js';
import {
  ENQUEUE_SCRIPT,
  JobStatus,
  REMOVE_PAYLOADS_SCRIPT,
  assertSelectors,
  decodePayload,
  decodeStatus,
  encodePayload,
  encodeStatus,
  matchesAnySelector,
  queueTimeNow,
  runScript,
  scriptCommand,
  type DequeueSelector,
  type JobStatusInfo,
} from '../protocol/index.js';
import type { BulkJob, EnqueueOptions, PeekedJob } from './queue.types.js';
import {
  assertIndex,
  assertJobId,
  assertJobName,
  assertOptions,
  assertQueueName,
  normalizeParams,
  typeName,
} from './queue.validation.js';

/** Variadic commands are split so no single command carries an unbounded argument list. */
const CHUNK = 5_000;

interface ResolvedJob {
  className: string;
  jobClass: JobClass | null;
  trackByDefault: boolean;
}

type EnqueueCall = (...args: Array<string | number>) => Promise<unknown>;

/**
 * Producer side of Resque: enqueue (php-resque's payload shape), bulk enqueue, dequeue with php's
 * selectors, job status and queue inspection. Arguments are validated before anything touches Redis.
 */
@Injectable()
export class ResqueQueue {
  private enqueueCall: EnqueueCall | null = null;

  private readonly events: ResqueEvents;

  /** Outside Nest: `new ResqueQueue(ResqueConnection.create(url))` (job classes are then named by their @Job). */
  constructor(
    readonly connection: ResqueConnection,
    @Optional() private readonly registry?: ResqueJobRegistry,
    @Optional() events?: ResqueEvents,
    @Optional() private readonly delayed?: ResqueDelayedJobs,
  ) {
    this.events = events ?? new ResqueEvents({ logger: false });
    // A delayed job whose time has already come takes the normal enqueue path (events, validation).
    delayed?.bindEnqueue((queue, job, params) => this.enqueue(queue, job as string, params));
  }

  private get redis(): ResqueRedis {
    return this.connection.client;
  }

  /**
   * Pushes one job; returns its id (32 hex), or false when a beforeEnqueue listener vetoed it.
   * One round trip: SADD queues + RPUSH (+ SET of the WAITING status when tracked) in one script.
   */
  enqueue<C extends JobClass>(queue: string, job: C, params?: JobParamsOf<C>, options?: EnqueueOptions): Promise<string | false>;
  enqueue(queue: string, job: string, params?: unknown, options?: EnqueueOptions): Promise<string | false>;
  async enqueue(queue: string, job: string | JobClass, params?: unknown, options?: EnqueueOptions): Promise<string | false> {
    assertQueueName(queue, 'queue');
    const resolved = this.resolveJob(job, 'job');
    const value = normalizeParams(params, 'params');
    assertOptions(options, 'options');
    const track = options?.track ?? resolved.trackByDefault;
    const id = newIds(1)[0]!;
    const args = [value];
    const keys = this.connection.keys;

    const listened = this.events.hasListeners('beforeEnqueue') || this.events.hasListeners('afterEnqueue');
    let event: EnqueueEvent | null = null;
    if (listened) {
      event = { className: resolved.className, args, queue, id, params: value, jobClass: resolved.jobClass, tracked: track };
      if (this.events.hasListeners('beforeEnqueue') && !(await this.events.emitAsync('beforeEnqueue', event))) return false;
    }

    const now = Date.now();
    const payload = encodePayload(resolved.className, value, { id, queueTime: queueTimeNow(now) });
    const status = track ? waitingStatus(now) : '';
    if (!this.connection.isConnected) await this.connection.connect();
    const call = (this.enqueueCall ??= scriptCommand(this.redis, ENQUEUE_SCRIPT));
    await call(keys.queues, keys.queue(queue), keys.status(id), queue, payload, status);

    if (event && this.events.hasListeners('afterEnqueue')) await this.events.emitAsync('afterEnqueue', event);
    return id;
  }

  /**
   * Pushes many jobs to one queue in one MULTI (SADD + variadic RPUSH + MSET of status packets).
   * Returns each job's id, or false for jobs a beforeEnqueue listener vetoed (in input order).
   */
  async enqueueBulk(queue: string, jobs: readonly BulkJob[], options?: EnqueueOptions): Promise<Array<string | false>> {
    assertQueueName(queue, 'queue');
    if (!Array.isArray(jobs)) throw new TypeError(`jobs must be an array of { job, params }, got ${typeName(jobs)}`);
    assertOptions(options, 'options');
    const count = jobs.length;
    const resolved: ResolvedJob[] = new Array(count);
    const values: unknown[] = new Array(count);
    for (let i = 0; i < count; i++) {
      const entry = jobs[i] as BulkJob | undefined;
      if (!entry || typeof entry !== 'object') throw new TypeError(`jobs[${i}] must be an object { job, params }, got ${typeName(entry)}`);
      resolved[i] = this.resolveJob(entry.job, `jobs[${i}].job`);
      values[i] = normalizeParams(entry.params, `jobs[${i}].params`);
    }
    if (count === 0) return [];

    const ids = newIds(count);
    const result: Array<string | false> = ids.slice();
    const keys = this.connection.keys;
    const events: Array<EnqueueEvent | null> = new Array(count).fill(null);
    const listened = this.events.hasListeners('beforeEnqueue') || this.events.hasListeners('afterEnqueue');
    if (listened) {
      for (let i = 0; i < count; i++) {
        const r = resolved[i]!;
        const event: EnqueueEvent = {
          className: r.className,
          args: [values[i]],
          queue,
          id: ids[i]!,
          params: values[i],
          jobClass: r.jobClass,
          tracked: options?.track ?? r.trackByDefault,
        };
        if (this.events.hasListeners('beforeEnqueue') && !(await this.events.emitAsync('beforeEnqueue', event))) {
          result[i] = false;
        } else {
          events[i] = event;
        }
      }
    }

    const now = Date.now();
    const queueTime = queueTimeNow(now);
    const status = waitingStatus(now);
    const payloads: string[] = [];
    const statusPairs: string[] = [];
    for (let i = 0; i < count; i++) {
      if (result[i] === false) continue;
      const r = resolved[i]!;
      payloads.push(encodePayload(r.className, values[i], { id: ids[i]!, queueTime }));
      if (options?.track ?? r.trackByDefault) statusPairs.push(keys.status(ids[i]!), status);
    }
    if (payloads.length > 0) {
      if (!this.connection.isConnected) await this.connection.connect();
      const multi = this.redis.multi();
      multi.sadd(keys.queues, queue);
      const queueKey = keys.queue(queue);
      for (let at = 0; at < payloads.length; at += CHUNK) multi.rpush(queueKey, ...payloads.slice(at, at + CHUNK));
      for (let at = 0; at < statusPairs.length; at += 2 * CHUNK) multi.mset(...statusPairs.slice(at, at + 2 * CHUNK));
      // A command refused while queued (OOM under maxmemory) makes EXEC fail with EXECABORT, which hides the
      // cause: surface the first refusal itself (ioredis keeps them in previousErrors).
      const replies = await multi.exec().catch((error: unknown) => {
        throw (error as { previousErrors?: unknown[] } | null)?.previousErrors?.[0] ?? error;
      });
      const failed = replies?.find(([error]) => error);
      if (!replies) throw new Error(`enqueueBulk: the MULTI on ${queueKey} was discarded`);
      if (failed) throw failed[0]!;
    }

    if (listened && this.events.hasListeners('afterEnqueue')) {
      for (const event of events) if (event) await this.events.emitAsync('afterEnqueue', event);
    }
    return result;
  }

  /**
   * php-resque's dequeue: with no selectors the whole queue is deleted (its name stays in `queues`);
   * otherwise removes the jobs matching any selector (`'Class'`, `{ Class: id }`, `{ Class: { ...args } }`)
   * with LREM 1 of their exact strings, keeping the order of the rest and using no temp lists.
   * An empty selector list removes nothing. Returns how many jobs were removed.
   */
  async dequeue(queue: string, selectors?: readonly DequeueSelector[]): Promise<number> {
    assertQueueName(queue, 'queue');
    if (selectors !== undefined) assertSelectors(selectors, 'selectors');
    if (!this.connection.isConnected) await this.connection.connect();
    const queueKey = this.connection.keys.queue(queue);
    if (selectors === undefined) {
      const replies = await this.redis.multi().llen(queueKey).del(queueKey).exec();
      return Number(replies?.[0]?.[1] ?? 0);
    }
    if (selectors.length === 0) return 0;
    const items = await this.redis.lrange(queueKey, 0, -1);
    const matches: string[] = [];
    for (const raw of items) {
      let matched = false;
      try {
        matched = matchesAnySelector(decodePayload(raw), selectors);
      } catch {
        matched = false; // unreadable entries are never selected (and never dropped here)
      }
      if (matched) matches.push(raw);
    }
    let removed = 0;
    for (let at = 0; at < matches.length; at += CHUNK) {
      removed += Number(await runScript<number>(this.redis, REMOVE_PAYLOADS_SCRIPT, [queueKey], matches.slice(at, at + CHUNK)));
    }
    return removed;
  }

  /** The job's status packet, or null when there is none (untracked, expired or unknown id). */
  async status(id: string, prefix?: string): Promise<JobStatusInfo | null> {
    assertJobId(id, 'id');
    if (prefix !== undefined && typeof prefix !== 'string') throw new TypeError('prefix must be a string');
    if (!this.connection.isConnected) await this.connection.connect();
    return decodeStatus(await this.redis.get(this.connection.keys.status(id, prefix)));
  }

  /** Every queue name in `queues`, sorted. */
  async queues(): Promise<string[]> {
    if (!this.connection.isConnected) await this.connection.connect();
    return (await this.redis.smembers(this.connection.keys.queues)).sort();
  }

  /** Number of jobs waiting in the queue. */
  async size(queue: string): Promise<number> {
    assertQueueName(queue, 'queue');
    if (!this.connection.isConnected) await this.connection.connect();
    return this.redis.llen(this.connection.keys.queue(queue));
  }

  /** Up to `count` jobs from position `start` (0 = next to run), decoded; unreadable entries are kept. */
  async peek(queue: string, start = 0, count = 1): Promise<PeekedJob[]> {
    assertQueueName(queue, 'queue');
    assertIndex(start, 'start', 0);
    assertIndex(count, 'count', 1);
    if (!this.connection.isConnected) await this.connection.connect();
    const items = await this.redis.lrange(this.connection.keys.queue(queue), start, start + count - 1);
    return items.map((raw): PeekedJob => {
      try {
        return decodePayload(raw);
      } catch (error) {
        return { raw, unreadable: (error as Error).message };
      }
    });
  }

  /** Deletes the queue and removes it from `queues`; returns how many jobs it held. */
  async removeQueue(queue: string): Promise<number> {
    assertQueueName(queue, 'queue');
    if (!this.connection.isConnected) await this.connection.connect();
    const keys = this.connection.keys;
    const replies = await this.redis.multi().llen(keys.queue(queue)).del(keys.queue(queue)).srem(keys.queues, queue).exec();
    return Number(replies?.[0]?.[1] ?? 0);
  }

  // --- delayed jobs (resque-scheduler layout), delegated to ResqueDelayedJobs -----------------

  /** Runs the job `seconds` from now; false when a beforeSchedule listener vetoed. */
  enqueueIn<C extends JobClass>(seconds: number, queue: string, job: C, params?: JobParamsOf<C>): Promise<boolean>;
  enqueueIn(seconds: number, queue: string, job: string, params?: unknown): Promise<boolean>;
  enqueueIn(seconds: number, queue: string, job: string | JobClass, params?: unknown): Promise<boolean> {
    return this.delayedJobs().enqueueIn(seconds, queue, job, params);
  }

  /** Runs the job at `when` (a Date or unix seconds); a time already past enqueues at once. */
  enqueueAt<C extends JobClass>(when: Date | number, queue: string, job: C, params?: JobParamsOf<C>): Promise<boolean>;
  enqueueAt(when: Date | number, queue: string, job: string, params?: unknown): Promise<boolean>;
  enqueueAt(when: Date | number, queue: string, job: string | JobClass, params?: unknown): Promise<boolean> {
    return this.delayedJobs().enqueueAt(when, queue, job, params);
  }

  /** Removes every delayed copy of this job; returns how many. */
  removeDelayed(queue: string, job: string | JobClass, params?: unknown): Promise<number> {
    return this.delayedJobs().removeDelayed(queue, job, params);
  }

  /** Removes the matching delayed jobs due at one timestamp; returns how many. */
  removeDelayedJobFromTimestamp(when: Date | number, queue: string, job: string | JobClass, params?: unknown): Promise<number> {
    return this.delayedJobs().removeDelayedJobFromTimestamp(when, queue, job, params);
  }

  /** How many timestamps have delayed jobs (php's getDelayedQueueScheduleSize). */
  delayedQueueScheduleSize(): Promise<number> {
    return this.delayedJobs().delayedQueueScheduleSize();
  }

  /** How many delayed jobs are due at that second (php's getDelayedTimestampSize). */
  delayedTimestampSize(when: Date | number): Promise<number> {
    return this.delayedJobs().delayedTimestampSize(when);
  }

  private delayedJobs(): ResqueDelayedJobs {
    if (!this.delayed) throw new Error('delayed jobs need ResqueDelayedJobs (provided by ResqueModule)');
    return this.delayed;
  }

  /** The `class` string a job argument stands for (a name, or a `@Job` class); throws TypeError otherwise. */
  resolveJobName(job: string | JobClass, argumentName = 'job'): string {
    return this.resolveJob(job, argumentName).className;
  }

  private resolveJob(job: unknown, argumentName: string): ResolvedJob {
    if (typeof job === 'function') {
      const meta = readJobName(job);
      let className: string | undefined = meta?.name;
      if (this.registry) {
        try {
          className = this.registry.nameOf(job);
        } catch {
          className = undefined;
        }
      }
      if (className === undefined) {
        throw new TypeError(`${argumentName} must be a job name string or a @Job() class; class ${job.name || '<anonymous>'} has no @Job()`);
      }
      return { className, jobClass: job as JobClass, trackByDefault: meta?.options.track === true };
    }
    assertJobName(job, argumentName);
    return { className: job, jobClass: null, trackByDefault: false };
  }
}

function waitingStatus(nowMs: number): string {
  const seconds = Math.floor(nowMs / 1000);
  return encodeStatus({ status: JobStatus.WAITING, updated: seconds, started: seconds });
}

/** 32-hex ids like php-resque's, drawn from one randomBytes call for the whole batch. */
function newIds(count: number): string[] {
  const hex = randomBytes(16 * count).toString('hex');
  const ids = new Array<string>(count);
  for (let i = 0; i < count; i++) ids[i] = hex.slice(i * 32, i * 32 + 32);
  return ids;
}

import type { ResqueConnection } from '../connection/connection.service.js';
import type { ResqueRedis } from '../connection/connection.types.js';
import type { JobClass, JobParamsOf } from '../decorators/decorators.types.js';
import { ResqueEvents } from '../events/events.service.js';
import {
  REMOVE_PAYLOADS_SCRIPT,
  assertSelectors,
  decodePayload,
  decodeStatus,
  matchesAnySelector,
  runScript,
  type DequeueSelector,
  type JobStatusInfo,
} from '../protocol/index.js';
import { releaseRemovedUnique } from '../policies/policy.unique.release.js';
import { ResqueDelayedJobs } from './queue.delayed.js';
import { DelayedStore, type DelayedStorage } from './queue.delayed.store.js';
import { JobEnqueuer, type JobSink } from './queue.enqueue.js';
import { CHUNK, RedisJobSink } from './queue.redis-sink.js';
import type { BulkJob, DelayedEnqueueOptions, EnqueueOptions, PeekedJob } from './queue.types.js';
import { assertIndex, assertJobId, assertQueueName } from './queue.validation.js';

/** Where a queue's jobs and delayed jobs are kept: Redis unless given (the testing module keeps them in memory). */
export interface QueueStorage {
  readonly jobs: JobSink;
  readonly delayed: DelayedStorage;
}

/**
 * Producer side of Resque: enqueue (php-resque's payload shape), bulk enqueue, dequeue with php's
 * selectors, job status, queue inspection and delayed jobs. Arguments are validated before anything touches
 * Redis. Outside Nest: `new ResqueQueue(ResqueConnection.create(url))`, delayed jobs included.
 */
export class ResqueQueue {
  /** This queue's delayed jobs (resque-scheduler's layout); ResqueModule provides the same object as ResqueDelayedJobs. */
  readonly delayed: ResqueDelayedJobs;

  /** The one enqueue path (the testing queue promotes its delayed jobs through it). */
  protected readonly enqueuer: JobEnqueuer;

  constructor(
    readonly connection: ResqueConnection,
    events: ResqueEvents = new ResqueEvents({ logger: false }),
    storage: QueueStorage = { jobs: new RedisJobSink(connection), delayed: new DelayedStore(connection) },
  ) {
    this.enqueuer = new JobEnqueuer(events, storage.jobs);
    this.delayed = new ResqueDelayedJobs(storage.delayed, this.enqueuer, events);
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
    return this.enqueuer.enqueue(this.enqueuer.check(queue, job, params, options));
  }

  /**
   * Pushes many jobs to one queue in one MULTI (SADD + variadic RPUSH + MSET of status packets).
   * Returns each job's id, or false for jobs a beforeEnqueue listener vetoed (in input order).
   */
  enqueueBulk(queue: string, jobs: readonly BulkJob[], options?: EnqueueOptions): Promise<Array<string | false>> {
    return this.enqueuer.enqueueBulk(queue, jobs, options);
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
      let matched: boolean;
      try {
        matched = matchesAnySelector(decodePayload(raw), selectors);
      } catch {
        matched = false; // unreadable entries are never selected (and never dropped here)
      }
      if (matched) matches.push(raw);
    }
    let removed = 0;
    for (let at = 0; at < matches.length; at += CHUNK) {
      const chunk = matches.slice(at, at + CHUNK);
      const n = Number(await runScript<number>(this.redis, REMOVE_PAYLOADS_SCRIPT, [queueKey], chunk));
      // unique: the removed jobs' locks, when every one was removed (a job a worker took meanwhile keeps its own).
      if (n === chunk.length) await releaseRemovedUnique(this.redis, this.connection.keys, chunk);
      removed += n;
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

  // --- delayed jobs (resque-scheduler layout): this.delayed ---------------------------------------

  /** Runs the job `seconds` from now; false when a beforeSchedule listener vetoed; a unique job's id (see ResqueDelayedJobs). */
  enqueueIn<C extends JobClass>(seconds: number, queue: string, job: C, params?: JobParamsOf<C>, options?: DelayedEnqueueOptions): Promise<boolean | string>;
  enqueueIn(seconds: number, queue: string, job: string, params?: unknown, options?: DelayedEnqueueOptions): Promise<boolean | string>;
  enqueueIn(seconds: number, queue: string, job: string | JobClass, params?: unknown, options?: DelayedEnqueueOptions): Promise<boolean | string> {
    return this.delayed.enqueueIn(seconds, queue, job as string, params, options);
  }

  /** Runs the job at `when` (a Date or unix seconds); a time already past enqueues at once; a unique job's id. */
  enqueueAt<C extends JobClass>(when: Date | number, queue: string, job: C, params?: JobParamsOf<C>, options?: DelayedEnqueueOptions): Promise<boolean | string>;
  enqueueAt(when: Date | number, queue: string, job: string, params?: unknown, options?: DelayedEnqueueOptions): Promise<boolean | string>;
  enqueueAt(when: Date | number, queue: string, job: string | JobClass, params?: unknown, options?: DelayedEnqueueOptions): Promise<boolean | string> {
    return this.delayed.enqueueAt(when, queue, job as string, params, options);
  }

  /** Removes every delayed copy of this job; returns how many. */
  removeDelayed(queue: string, job: string | JobClass, params?: unknown): Promise<number> {
    return this.delayed.removeDelayed(queue, job, params);
  }

  /** Removes the matching delayed jobs due at one timestamp; returns how many. */
  removeDelayedJobFromTimestamp(when: Date | number, queue: string, job: string | JobClass, params?: unknown): Promise<number> {
    return this.delayed.removeDelayedJobFromTimestamp(when, queue, job, params);
  }

  /** How many timestamps have delayed jobs (php's getDelayedQueueScheduleSize). */
  delayedQueueScheduleSize(): Promise<number> {
    return this.delayed.delayedQueueScheduleSize();
  }

  /** How many delayed jobs are due at that second (php's getDelayedTimestampSize). */
  delayedTimestampSize(when: Date | number): Promise<number> {
    return this.delayed.delayedTimestampSize(when);
  }
}

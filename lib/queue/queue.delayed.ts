import type { JobClass, JobParamsOf } from '../decorators/decorators.types.js';
import type { ResqueEvents } from '../events/events.service.js';
import { withRetryOverride } from '../policies/policy.retry.js';
import { withUniqueMarker, type UniqueLock } from '../policies/policy.unique.js';
import { delayedItemMatches, delayedTimestampOf, encodeDelayedItem, newJobId, type DelayedItem } from '../protocol/index.js';
import type { DelayedStorage, DelayedTimestamp } from './queue.delayed.store.js';
import { duplicateOf, type CheckedJob, type JobEnqueuer } from './queue.enqueue.js';
import type { DelayedEnqueueOptions } from './queue.types.js';
import { normalizeParams } from './queue.validation.js';

/** Params that mean "no params" across peers: our null, php's `array()` (`[]`), Ruby's no args. */
function isEmptyArgs(args: readonly unknown[]): boolean {
  if (args.length === 0) return true;
  if (args.length !== 1) return false;
  const only = args[0];
  if (only === null) return true;
  if (Array.isArray(only)) return only.length === 0;
  return typeof only === 'object' && Object.keys(only).length === 0;
}

/**
 * Delayed jobs (resque-protocol.md §10) in resque-scheduler's layout, so Ruby's and php's schedulers,
 * resque-web's Delayed tab and Ruby's remove_delayed/scheduled_at all work on our items. Each ResqueQueue
 * owns one (its enqueueIn/enqueueAt/removeDelayed/… methods are these), sharing the queue's enqueue path for
 * a job already due; ResqueModule provides it as `ResqueDelayedJobs` for the methods ResqueQueue lacks.
 */
export class ResqueDelayedJobs {
  constructor(
    private readonly store: DelayedStorage,
    private readonly enqueuer: JobEnqueuer,
    private readonly events: ResqueEvents,
  ) {}

  /**
   * Runs the job `seconds` from now (fractions are floored to whole seconds at the due time, as peers
   * store them). Returns false when a beforeSchedule (or, when due at once, beforeEnqueue) listener vetoed,
   * true when scheduled, and for a `@Job({ unique })` class the job's id (see enqueueAt).
   */
  enqueueIn<C extends JobClass>(seconds: number, queue: string, job: C, params?: JobParamsOf<C>, options?: DelayedEnqueueOptions): Promise<boolean | string>;
  enqueueIn(seconds: number, queue: string, job: string, params?: unknown, options?: DelayedEnqueueOptions): Promise<boolean | string>;
  async enqueueIn(seconds: number, queue: string, job: string | JobClass, params?: unknown, options?: DelayedEnqueueOptions): Promise<boolean | string> {
    if (typeof seconds !== 'number') throw new TypeError(`seconds must be a number, got ${typeof seconds}`);
    if (!Number.isFinite(seconds)) throw new RangeError(`seconds must be a finite number, got ${seconds}`);
    if (seconds < 0) throw new RangeError(`seconds must not be negative, got ${seconds}`);
    return this.enqueueAt((Date.now() + seconds * 1000) / 1000, queue, job as string, params, options);
  }

  /**
   * Runs the job at `when` (a Date or unix seconds). Writes `delayed:<ts>`, the `delayed_queue_schedule`
   * member and the `timestamps:<item>` index in one script. A time already past is enqueued at once
   * (Ruby's rule). Validates everything before any write.
   * A `@Job({ unique })` class resolves with its job's id (the item carries it, and the lock names it), or,
   * while an equal job holds the lock, with that job's id (afterSchedule does not fire) or DuplicateJobError.
   */
  enqueueAt<C extends JobClass>(when: Date | number, queue: string, job: C, params?: JobParamsOf<C>, options?: DelayedEnqueueOptions): Promise<boolean | string>;
  enqueueAt(when: Date | number, queue: string, job: string, params?: unknown, options?: DelayedEnqueueOptions): Promise<boolean | string>;
  async enqueueAt(when: Date | number, queue: string, job: string | JobClass, params?: unknown, options?: DelayedEnqueueOptions): Promise<boolean | string> {
    const at = delayedTimestampOf(when, 'when');
    const checked = this.enqueuer.check(queue, job, params, options === undefined ? undefined : { retry: options.retry });
    const { className, params: stored } = checked;
    const args = [stored];
    const event = { at, queue, className, args, params: stored };
    if (!(await this.events.emitAsync('beforeSchedule', event))) return false;
    let result: boolean | string = true;
    if (at <= Math.floor(Date.now() / 1000)) {
      const pushed = await this.enqueuer.push(checked);
      if (pushed.id === false) return false;
      if (pushed.duplicate) return pushed.id;
      if (checked.unique) result = pushed.id;
    } else if (checked.unique) {
      const scheduled = await this.scheduleUnique(at, checked);
      if (scheduled.duplicate) return scheduled.id;
      result = scheduled.id;
    } else {
      await this.store.schedule(at, delayedItemOf(checked));
    }
    await this.events.emitAsync('afterSchedule', event);
    return result;
  }

  /**
   * A unique delayed job: its item carries its id and lock marker (the scheduler promotes it under that id),
   * and its lock, taken in the schedule script, lives its delay plus its TTL.
   */
  private async scheduleUnique(at: number, job: CheckedJob): Promise<{ id: string; duplicate: boolean }> {
    const unique = job.unique as UniqueLock;
    const id = newJobId();
    const item = withUniqueMarker(delayedItemOf(job), unique, id);
    const ttl = unique.ttl + Math.max(0, at - Math.floor(Date.now() / 1000));
    const holder = await this.store.schedule(at, item, { lock: unique.lock, id, ttl });
    return holder === undefined ? { id, duplicate: false } : { id: duplicateOf(job, holder), duplicate: true };
  }

  /**
   * Removes every delayed copy of this job (any timestamp), written by us, Ruby or php (escaped JSON):
   * first through Ruby's `timestamps:` index, then a walk of the schedule for unindexed items.
   * Items are matched structurally: class, queue and args deep-equal. Returns how many were removed.
   */
  async removeDelayed(queue: string, job: string | JobClass, params?: unknown): Promise<number> {
    const matcher = this.matcher(queue, job, params);
    const indexed = await this.store.removeIndexed(encodeDelayedItem(matcher.className, queue, normalizeParams(params)));
    return indexed + (await this.store.removeMatching(matcher.matches));
  }

  /** Removes the matching items due at one timestamp (php's and Ruby's removeDelayedJobFromTimestamp). */
  async removeDelayedJobFromTimestamp(when: Date | number, queue: string, job: string | JobClass, params?: unknown): Promise<number> {
    const at = delayedTimestampOf(when, 'when');
    const matcher = this.matcher(queue, job, params);
    return this.store.removeFromTimestamp(String(at), matcher.matches);
  }

  /** How many timestamps have delayed jobs (ZCARD; php's getDelayedQueueScheduleSize). */
  delayedQueueScheduleSize(): Promise<number> {
    return this.store.scheduleSize();
  }

  /** How many jobs are due at that second (php's getDelayedTimestampSize). */
  async delayedTimestampSize(when: Date | number): Promise<number> {
    return this.store.timestampSize(delayedTimestampOf(when, 'when'));
  }

  /** The earliest timestamp with delayed jobs (unix seconds), or null. */
  nextDelayedTimestamp(): Promise<number | null> {
    return this.store.nextTimestamp();
  }

  /** Timestamps `start..start+count-1` with their items (unreadable ones kept as `{ raw, unreadable }`). */
  async peekDelayed(start = 0, count = 10): Promise<DelayedTimestamp[]> {
    if (!Number.isInteger(start) || start < 0) throw new RangeError(`start must be an integer >= 0, got ${String(start)}`);
    if (!Number.isInteger(count) || count < 1) throw new RangeError(`count must be an integer >= 1, got ${String(count)}`);
    return this.store.peek(start, count);
  }

  /** Timestamps our exact item for this job is indexed at (Ruby's scheduled_at). */
  async scheduledAt(queue: string, job: string | JobClass, params?: unknown): Promise<number[]> {
    const { className, params: stored } = this.enqueuer.check(queue, job, params);
    return this.store.scheduledAt(encodeDelayedItem(className, queue, stored));
  }

  private matcher(queue: string, job: string | JobClass, params: unknown): { className: string; matches: (item: DelayedItem) => boolean } {
    const { className, params: stored } = this.enqueuer.check(queue, job, params);
    const args = [stored];
    // No params matches every peer's "no args" spelling: [null], php's [[]], Ruby's [], and [{}].
    if (isEmptyArgs(args)) {
      return { className, matches: (item) => item.className === className && item.queue === queue && isEmptyArgs(item.args) };
    }
    return { className, matches: (item) => delayedItemMatches(item, className, queue, args) };
  }
}

/** The delayed item of a checked job: our item, with the per-enqueue retry override our promotion carries. */
function delayedItemOf(job: CheckedJob): string {
  return withRetryOverride(encodeDelayedItem(job.className, job.queue, job.params), job.retry);
}

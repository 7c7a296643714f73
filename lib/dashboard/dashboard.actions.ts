import { Injectable } from '@nestjs/common';
import { ResqueFailures } from '../admin/admin.failures.js';
import type { FailureEntry, FailureFilter } from '../admin/admin.types.js';
import { ResqueConnection } from '../connection/connection.service.js';
import type { ResqueRedis } from '../connection/connection.types.js';
import {
  ENQUEUE_SCRIPT,
  decodeFailure,
  REMOVE_DELAYED_SCRIPT,
  REMOVE_PAYLOADS_SCRIPT,
  newJobId,
  PUSH_JOB,
  queueTimeNow,
  runScript,
  tryDecodeDelayedItem,
  type LuaScript,
} from '../protocol/index.js';
import { UniquePromotions } from '../policies/policy.unique.promote.js';
import { releaseRemovedUnique } from '../policies/policy.unique.release.js';
import { ResqueQueue } from '../queue/queue.service.js';
import { ResqueSchedules } from '../scheduler/scheduler.schedules.service.js';
import { resolveSchedule } from '../scheduler/scheduler.schedules.js';

/**
 * Moves one delayed item to its queue in one step (resque-web's "Queue now"), with resque-scheduler's
 * cleanup: the list and schedule member once empty, the `timestamps:` member once no copy is left.
 * KEYS: delayed:<ts>, delayed_queue_schedule, queues, queue:<q>, timestamps:<item>.
 * ARGV: item, timestamp (the schedule member), queue name, payload to push. Returns 1 when moved, 0 when it was gone.
 */
const DELAYED_ENQUEUE_NOW_SCRIPT: LuaScript = {
  name: 'resqueDashboardDelayedNow',
  numberOfKeys: 5,
  lua: `${PUSH_JOB}
if redis.call('LREM', KEYS[1], 1, ARGV[1]) == 0 then return 0 end
push_job(KEYS[3], KEYS[4], ARGV[3], ARGV[4])
if not redis.call('LPOS', KEYS[1], ARGV[1]) then redis.call('SREM', KEYS[5], 'delayed:' .. ARGV[2]) end
if redis.call('LLEN', KEYS[1]) == 0 then
  redis.call('DEL', KEYS[1])
  redis.call('ZREM', KEYS[2], ARGV[2])
end
return 1
`,
};


/** The dashboard's writes; each is one Lua script or one service call, addressed by the exact stored string. */
@Injectable()
export class DashboardActions {
  constructor(
    private readonly connection: ResqueConnection,
    private readonly queue: ResqueQueue,
    private readonly failures: ResqueFailures,
    private readonly schedules: ResqueSchedules,
  ) {}

  private async redis(): Promise<ResqueRedis> {
    if (!this.connection.isConnected) await this.connection.connect();
    return this.connection.client;
  }

  /** Removes one copy of this exact job string from the queue; how many (0 or 1). */
  async removeJob(queue: string, raw: string): Promise<number> {
    const redis = await this.redis();
    const removed = await runScript<number>(redis, REMOVE_PAYLOADS_SCRIPT, [this.connection.keys.queue(queue)], [raw]);
    if (removed === 1) await releaseRemovedUnique(redis, this.connection.keys, [raw]); // unique: the removed job's lock
    return removed;
  }

  /** Empties the queue (its name stays in `queues`, like php's dequeue without selectors). */
  clearQueue(queue: string): Promise<number> {
    return this.queue.dequeue(queue);
  }

  /** Deletes the queue and its name (resque-web's "Remove queue"). */
  removeQueue(queue: string): Promise<number> {
    return this.queue.removeQueue(queue);
  }

  /** By index, or by the exact entry read (found again with LPOS if the list shifted meanwhile). */
  retryFailure(target: FailureTarget): Promise<string | null> {
    return this.failures.requeue(typeof target === 'number' ? target : entryOf(target));
  }

  removeFailure(target: FailureTarget): Promise<boolean> {
    return this.failures.remove(typeof target === 'number' ? target : entryOf(target));
  }

  retryAll(filter?: FailureFilter): Promise<number> {
    return this.failures.requeueAll(filter);
  }

  clearFailures(filter?: FailureFilter): Promise<number> {
    return filter ? this.failures.removeWhere(filter) : this.failures.clear();
  }

  async delayedEnqueueNow(at: number, raw: string): Promise<number> {
    const item = tryDecodeDelayedItem(raw);
    if (!item) throw new TypeError('that delayed item cannot be read, so it cannot be enqueued (remove it instead)');
    const k = this.connection.keys;
    // unique: the job keeps the id its lock holds (and the marker, for a lock the worker releases).
    const unique = new UniquePromotions(k);
    const held = unique.of(raw);
    const payload = unique.payload(held, JSON.stringify({ class: item.className, args: item.args, id: held?.id ?? newJobId(), queue_time: queueTimeNow() }));
    const redis = await this.redis();
    const moved = await runScript<number>(
      redis,
      DELAYED_ENQUEUE_NOW_SCRIPT,
      [k.delayed(at), k.delayedSchedule, k.queues, k.queue(item.queue), k.timestamps(raw)],
      [raw, String(at), item.queue, payload],
    );
    if (moved === 1 && held?.until === 'queued') await releaseRemovedUnique(redis, k, [raw]);
    return moved;
  }

  async delayedRemove(at: number, raw: string): Promise<number> {
    const k = this.connection.keys;
    const redis = await this.redis();
    // One copy (LREM count 1), with the same cleanup as ResqueDelayedJobs' removals.
    const removed = await runScript<number>(redis, REMOVE_DELAYED_SCRIPT, [k.delayed(at), k.delayedSchedule], [String(at), k.prefix, 1, raw]);
    if (removed === 1) await releaseRemovedUnique(redis, k, [raw]); // unique: the removed job's lock
    return removed;
  }

  /** Fires a recurring schedule once now (resque-scheduler's "Queue now"); returns the job id and queue. */
  async scheduleEnqueueNow(name: string): Promise<{ id: string; queue: string } | null> {
    const found = (await this.schedules.list()).find((s) => s.name === name);
    if (!found) return null;
    const resolved = resolveSchedule(name, found.config, found.source);
    const id = newJobId();
    const payload = JSON.stringify({ class: resolved.className, args: resolved.args, id, queue_time: queueTimeNow() });
    const k = this.connection.keys;
    await runScript(await this.redis(), ENQUEUE_SCRIPT, [k.queues, k.queue(resolved.queue), k.queue(resolved.queue)], [resolved.queue, payload, '']);
    return { id, queue: resolved.queue };
  }
}

/** A failure addressed by its index, or by its index and the exact string read there. */
export type FailureTarget = number | { index: number; raw: string };

function entryOf(target: { index: number; raw: string }): FailureEntry {
  const record = decodeFailure(target.raw);
  const payload = record?.payload;
  const className = payload && typeof payload === 'object' && typeof payload['class'] === 'string' ? payload['class'] : null;
  return { index: target.index, raw: target.raw, record, className, failedAt: null, retriedAt: null };
}

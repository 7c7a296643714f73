import type { ResqueRedis } from '../connection/connection.types.js';
import {
  buildFailure,
  encodeFailure,
  newJobId,
  PayloadDecodeError,
  queueTimeNow,
  runScript,
  type ResqueKeys,
} from '../protocol/index.js';
import { UniquePromotions } from '../policies/policy.unique.promote.js';
import { decodeDelayedItem, promotedPayload } from '../protocol/protocol.delayed.js';
import { PROMOTE_DELAYED_SCRIPT } from '../protocol/protocol.scripts.scheduler.js';
import type { PromotedJob } from './scheduler.types.js';

/** The exception name recorded in `failed` for an item no peer could run (no class, no queue, not JSON). */
export const UNREADABLE_DELAYED_ITEM_EXCEPTION = 'PayloadDecodeError';

export interface PromoteOptions {
  /** Unix seconds: every timestamp at or before it is due. */
  now: number;
  /** Lock owner the script checks before each batch; '' promotes without the lock (tests, one-offs). */
  owner: string;
  lockKey: string;
  /** Seconds each batch extends the lock to (0 = leave it), so a long promotion never lets it lapse. */
  lockTtl: number;
  batchSize: number;
  /** `worker` of the failure record for unreadable items. */
  failureWorker: string;
  shouldStop?: () => boolean;
  onPromoted?: (job: PromotedJob) => void | Promise<void>;
}

export interface PromoteResult {
  moved: number;
  failed: number;
  /** True when a batch was refused because the lock is no longer ours. */
  lockLost: boolean;
}

/**
 * Moves every due delayed item to its queue, one Lua script per batch (LREM from `delayed:<ts>`, and only
 * if removed: SADD queues + RPUSH; SREM `timestamps:`; DEL + ZREM once empty). Items keep their args as
 * stored and get a fresh id and queue_time. A crash between batches loses and duplicates nothing.
 */
export async function promoteDue(redis: ResqueRedis, keys: ResqueKeys, options: PromoteOptions): Promise<PromoteResult> {
  const result: PromoteResult = { moved: 0, failed: 0, lockLost: false };
  for (;;) {
    if (options.shouldStop?.()) return result;
    const due = await redis.zrangebyscore(keys.delayedSchedule, '-inf', options.now, 'LIMIT', 0, 1);
    const ts = due[0];
    if (ts === undefined) return result;
    const done = await promoteTimestamp(redis, keys, ts, options, result);
    if (!done) return result;
  }
}

/** Drains one timestamp's list; false when promotion must stop (lock lost or stop requested). */
async function promoteTimestamp(
  redis: ResqueRedis,
  keys: ResqueKeys,
  ts: string,
  options: PromoteOptions,
  result: PromoteResult,
): Promise<boolean> {
  const listKey = keys.delayed(ts);
  for (;;) {
    if (options.shouldStop?.()) return false;
    const items = await redis.lrange(listKey, 0, options.batchSize - 1);
    const queueTime = queueTimeNow();
    const argv: string[] = [ts, keys.prefix, options.owner, String(options.lockTtl), ''];
    const jobs: Array<PromotedJob | null> = [];
    const unique = new UniquePromotions(keys);
    for (const raw of items) {
      try {
        const item = decodeDelayedItem(raw);
        const held = unique.of(raw);
        const id = held?.id ?? newJobId();
        argv.push(raw, item.queue, unique.payload(held, promotedPayload(item, id, queueTime)));
        jobs.push({ queue: item.queue, className: item.className, args: item.args, id, at: Number(ts), raw });
      } catch (error) {
        const reason = error instanceof PayloadDecodeError ? error.message : String(error);
        const failure = buildFailure({
          rawPayload: raw,
          exception: UNREADABLE_DELAYED_ITEM_EXCEPTION,
          error: `${reason} (delayed item for ${ts} moved here by the scheduler)`,
          worker: options.failureWorker,
          queue: queueOf(raw),
        });
        argv.push(raw, '', encodeFailure(failure));
        jobs.push(null);
      }
    }
    argv[4] = unique.releases();
    const reply = await runScript<number[]>(
      redis,
      PROMOTE_DELAYED_SCRIPT,
      [listKey, keys.delayedSchedule, keys.queues, options.lockKey, keys.failed],
      argv,
    );
    if (reply[0] !== 1) {
      result.lockLost = true;
      return false;
    }
    for (let i = 0; i < jobs.length; i++) {
      if (reply[i + 1] !== 1) continue;
      const job = jobs[i];
      if (!job) {
        result.failed++;
        continue;
      }
      result.moved++;
      await options.onPromoted?.(job);
    }
    // A short page means the list is drained (the script cleaned it up); new items are found by the zset.
    if (items.length < options.batchSize) return true;
  }
}

/** The queue of an item that failed to decode, when it has one (for the failure record). */
function queueOf(raw: string): string {
  try {
    const parsed = JSON.parse(raw) as unknown;
    if (parsed && typeof parsed === 'object' && typeof (parsed as { queue?: unknown }).queue === 'string') {
      return (parsed as { queue: string }).queue;
    }
  } catch {
    // not JSON
  }
  return '';
}

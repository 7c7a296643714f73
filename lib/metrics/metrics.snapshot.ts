import type { ResqueRedis } from '../connection/connection.types.js';
import { parseResqueTime, parseWorkerId, type ResqueKeys } from '../protocol/index.js';
import { PRUNE_HEARTBEAT_MULTIPLE, RUBY_PRUNE_AFTER_SECONDS } from '../worker/worker.options.js';
import { QueueSelection } from '../worker/worker.queues.js';

/**
 * What the health indicator and the metrics read from Redis (no Nest, no prom-client): plain reads, no
 * KEYS, no writes. Ages are measured against Redis TIME, so a skewed clock on the reading host does not
 * make a queue look old.
 */

export interface QueueReading {
  queue: string;
  size: number;
  /** Seconds since the job at the head was enqueued (`queue_time`, or `enqueued_at`); 0 when empty, null when unknown. */
  oldestAgeSeconds: number | null;
}

export interface WorkerReading {
  id: string;
  /** The queues (or globs) in its id. */
  queues: string[];
  /**
   * Heartbeat younger than 3 × its published interval (Ruby's 300 s when it publishes none), the pruner's
   * rule. A worker without any heartbeat (php-resque writes none) counts as live while registered.
   */
  live: boolean;
  /** The queue of the job it performs now, null when idle. */
  workingOn: string | null;
  /** Whether it polls `queue` (literal name or glob in its id). */
  serves(queue: string): boolean;
}

export interface StatsReading {
  processed: number;
  failed: number;
  /** Length of the `failed` list (entries may have been removed or retried). */
  failedListLength: number;
  /** Jobs in `delayed:<ts>` lists (Ruby's count_all_scheduled_jobs). */
  delayed: number;
}

export class ResqueReader {
  constructor(
    private readonly redis: ResqueRedis,
    private readonly keys: ResqueKeys,
  ) {}

  /** Redis TIME in milliseconds. */
  async now(): Promise<number> {
    const [seconds, micros] = await this.redis.time();
    return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
  }

  /** Every queue in `queues` (or the named ones), with size and the age of its head job. */
  async queues(names?: readonly string[]): Promise<QueueReading[]> {
    const { redis, keys } = this;
    const queues = names ? [...names] : (await redis.smembers(keys.queues)).sort();
    const [nowMs, readings] = await Promise.all([
      this.now(),
      Promise.all(queues.map((q) => Promise.all([redis.llen(keys.queue(q)), redis.lindex(keys.queue(q), 0)]))),
    ]);
    return queues.map((queue, i) => {
      const [size, head] = readings[i]!;
      return { queue, size, oldestAgeSeconds: size === 0 ? 0 : headAgeSeconds(head, nowMs) };
    });
  }

  /** Every registered worker, with liveness judged as the pruner does and what it works on. */
  async workers(): Promise<WorkerReading[]> {
    const { redis, keys } = this;
    const [ids, heartbeats, intervals, nowMs] = await Promise.all([
      redis.smembers(keys.workers),
      redis.hgetall(keys.heartbeats),
      redis.hgetall(keys.heartbeatIntervals),
      this.now(),
    ]);
    ids.sort();
    const current = ids.length === 0 ? [] : await redis.mget(...ids.map((id) => keys.worker(id)));
    return ids.map((id, i) => {
      const queues = parseWorkerId(id)?.queues ?? [];
      const selection = queues.length > 0 ? new QueueSelection(queues) : null;
      return {
        id,
        queues,
        live: heartbeatFresh(heartbeats[id], intervals[id], nowMs),
        workingOn: workingQueue(current[i] ?? null),
        serves: (queue: string) => selection?.resolve([queue]).includes(queue) ?? false,
      };
    });
  }

  async stats(): Promise<StatsReading> {
    const { redis, keys } = this;
    const [processed, failed, failedListLength, timestamps] = await Promise.all([
      redis.get(keys.statProcessed()),
      redis.get(keys.statFailed()),
      redis.llen(keys.failed),
      redis.zrange(keys.delayedSchedule, '0', '-1'),
    ]);
    const lengths = await Promise.all(timestamps.map((ts) => redis.llen(keys.delayed(ts))));
    return {
      processed: Number(processed ?? 0),
      failed: Number(failed ?? 0),
      failedListLength,
      delayed: lengths.reduce((sum, n) => sum + n, 0),
    };
  }

  /** `stat:failed` alone (the failure-rate check reads only this). */
  async failedTotal(): Promise<number> {
    return Number((await this.redis.get(this.keys.statFailed())) ?? 0);
  }
}

/** The pruner's rule (WorkerPruner#deadAfterSeconds without this host's own pruneAfterSeconds). */
export function heartbeatFresh(heartbeat: string | undefined, publishedInterval: string | undefined, nowMs: number): boolean {
  if (heartbeat === undefined) return true;
  const at = parseResqueTime(heartbeat);
  if (!at) return false;
  const interval = publishedInterval === undefined ? Number.NaN : Number(publishedInterval);
  const deadAfter = Number.isFinite(interval) && interval > 0 ? PRUNE_HEARTBEAT_MULTIPLE * interval : RUBY_PRUNE_AFTER_SECONDS;
  return nowMs - at.getTime() < deadAfter * 1000;
}

/** php's `queue_time` (unix seconds) or an `enqueued_at` time (ActiveJob, some Ruby plugins); null without either. */
function headAgeSeconds(raw: string | null, nowMs: number): number | null {
  if (raw === null) return null;
  let payload: unknown;
  try {
    payload = JSON.parse(raw);
  } catch {
    return null;
  }
  if (typeof payload !== 'object' || payload === null) return null;
  const { queue_time: queueTime, enqueued_at: enqueuedAt } = payload as { queue_time?: unknown; enqueued_at?: unknown };
  const stamp = typeof queueTime === 'number' || typeof queueTime === 'string' ? queueTime : enqueuedAt;
  const at = typeof stamp === 'number' || typeof stamp === 'string' ? parseResqueTime(stamp) : null;
  return at ? Math.max(0, (nowMs - at.getTime()) / 1000) : null;
}

/** The queue of `worker:<id>`'s `{"queue","run_at","payload"}`. */
function workingQueue(raw: string | null): string | null {
  if (raw === null) return null;
  try {
    const parsed = JSON.parse(raw) as { queue?: unknown };
    return typeof parsed.queue === 'string' ? parsed.queue : null;
  } catch {
    return null;
  }
}

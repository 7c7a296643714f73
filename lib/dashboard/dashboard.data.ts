import { Injectable } from '@nestjs/common';
import { ResqueFailures } from '../admin/admin.failures.js';
import type { FailureEntry, FailureFilter } from '../admin/admin.types.js';
import { ResqueWorkers } from '../admin/admin.workers.js';
import type { WorkerInfo } from '../admin/admin.types.js';
import { ResqueConnection } from '../connection/connection.service.js';
import type { ResqueRedis } from '../connection/connection.types.js';
import { decodeFailure, decodePayload, tryDecodeDelayedItem, type DelayedItem, type FailureRecord, type JobStatusInfo } from '../protocol/index.js';
import { ResqueQueue } from '../queue/queue.service.js';
import { ResqueSchedules } from '../scheduler/scheduler.schedules.service.js';
import { resolveSchedule } from '../scheduler/scheduler.schedules.js';

/** At most this many failures are read to answer one filtered page (the filter walks the list newest first). */
export const FILTER_SCAN_LIMIT = 10_000;

export interface Page<T> {
  readonly start: number;
  readonly count: number;
  /** LLEN/ZCARD of the whole list (for a filtered failure page: the list's length, not the matches). */
  readonly total: number;
  readonly items: T[];
}

export interface QueueRow {
  readonly name: string;
  readonly size: number;
}

export interface OverviewView {
  readonly queues: QueueRow[];
  readonly processed: number;
  readonly failed: number;
  readonly failedListLength: number;
  readonly workers: number;
  readonly working: WorkerView[];
  readonly delayedTimestamps: number;
}

export interface QueueJobView {
  readonly index: number;
  readonly raw: string;
  readonly className: string | null;
  readonly args: unknown[] | null;
  readonly id: string | null;
  /** php-resque's `queue_time` (unix seconds), null when the producer wrote none (Ruby). */
  readonly enqueuedAt: number | null;
  readonly unreadable: string | null;
}

/** Who wrote the registration, told from what each peer writes (resque-protocol.md §6). */
export type WorkerKind = 'nestjs-resque' | 'ruby' | 'php' | 'php-fork' | 'node-resque' | 'unknown';

export interface WorkerView extends WorkerInfo {
  readonly kind: WorkerKind;
  /** Seconds since the last heartbeat; null when the peer writes none (php). */
  readonly heartbeatAgeSeconds: number | null;
}

export interface FailureView {
  readonly index: number;
  readonly raw: string;
  readonly queue: string | null;
  readonly className: string | null;
  readonly args: unknown;
  readonly exception: string | null;
  readonly error: string | null;
  readonly backtrace: string[];
  readonly worker: string | null;
  readonly failedAt: string | null;
  readonly retriedAt: string | null;
}

export interface FailedPage extends Page<FailureView> {
  readonly filter: FailureFilter;
  /** Entries read to fill a filtered page (bounded by FILTER_SCAN_LIMIT); equals total when unfiltered. */
  readonly scanned: number;
  readonly truncated: boolean;
}

export interface DelayedTimestampRow {
  readonly at: number;
  readonly size: number;
}

export interface DelayedJobView {
  readonly index: number;
  readonly raw: string;
  readonly className: string | null;
  readonly queue: string | null;
  readonly args: unknown[] | null;
}

export interface ScheduleView {
  readonly name: string;
  readonly source: 'static' | 'persistent';
  readonly cron: string | null;
  readonly every: string | null;
  readonly className: string | null;
  readonly queue: string | null;
  readonly args: unknown;
  readonly description: string | null;
  readonly nextRun: string | null;
  readonly lastEnqueuedAt: string | null;
  readonly problem: string | null;
}

export interface JobView {
  readonly id: string;
  readonly status: JobStatusInfo | null;
  readonly statusName: string | null;
}

export interface StatsView {
  readonly redis: Record<string, string>;
  readonly keys: Array<{ key: string; type: string; size: number }>;
  readonly dbsize: number;
}

const STATUS_NAMES: Record<number, string> = { 1: 'waiting', 2: 'running', 3: 'failed', 4: 'complete' };

/**
 * What the dashboard shows, read page by page: LLEN/ZCARD for counts, LRANGE/ZRANGE for one page, never KEYS
 * and never a whole list (except the bounded walk of a failure filter).
 */
@Injectable()
export class DashboardData {
  constructor(
    private readonly connection: ResqueConnection,
    private readonly queue: ResqueQueue,
    private readonly failures: ResqueFailures,
    private readonly workers: ResqueWorkers,
    private readonly schedules: ResqueSchedules,
  ) {}

  private async redis(): Promise<ResqueRedis> {
    if (!this.connection.isConnected) await this.connection.connect();
    return this.connection.client;
  }

  get namespace(): string {
    return this.connection.keys.namespace;
  }

  async overview(): Promise<OverviewView> {
    const redis = await this.redis();
    const k = this.connection.keys;
    const names = await this.queue.queues();
    const pipeline = redis.pipeline();
    for (const name of names) pipeline.llen(k.queue(name));
    pipeline.get(k.statProcessed()).get(k.statFailed()).llen(k.failed).scard(k.workers).zcard(k.delayedSchedule);
    const replies = (await pipeline.exec()) ?? [];
    const value = (i: number): number => Number((replies[i]?.[1] as string | number | null) ?? 0);
    const n = names.length;
    return {
      queues: names.map((name, i) => ({ name, size: value(i) })),
      processed: value(n),
      failed: value(n + 1),
      failedListLength: value(n + 2),
      workers: value(n + 3),
      delayedTimestamps: value(n + 4),
      working: await this.working(),
    };
  }

  async queuePage(name: string, start: number, count: number): Promise<Page<QueueJobView>> {
    const redis = await this.redis();
    const key = this.connection.keys.queue(name);
    const reply = await redis.multi().llen(key).lrange(key, start, start + count - 1).exec();
    const total = Number(reply?.[0]?.[1] ?? 0);
    const raws = (reply?.[1]?.[1] as string[] | undefined) ?? [];
    return { start, count, total, items: raws.map((raw, i) => queueJob(start + i, raw)) };
  }

  async workerList(): Promise<WorkerView[]> {
    const redis = await this.redis();
    const [list, intervals] = await Promise.all([this.workers.list(), redis.hgetall(this.connection.keys.heartbeatIntervals)]);
    const now = Date.now();
    return list.map((w) => ({
      ...w,
      kind: workerKind(w, intervals[w.id] !== undefined),
      heartbeatAgeSeconds: w.heartbeat ? Math.max(0, Math.round((now - w.heartbeat.getTime()) / 1000)) : null,
    }));
  }

  async working(): Promise<WorkerView[]> {
    return (await this.workerList()).filter((w) => w.state === 'working');
  }

  async failedPage(start: number, count: number, filter: FailureFilter): Promise<FailedPage> {
    const filtered = filter.queue !== undefined || filter.class !== undefined || filter.exception !== undefined;
    if (!filtered) {
      const [total, entries] = await Promise.all([this.failures.count(), this.failures.list(start, count, { order: 'newest' })]);
      return { start, count, total, items: entries.map(failureView), filter, scanned: total, truncated: false };
    }
    // Newest first, page by page from the tail, until the page is full or the scan limit is reached.
    const total = await this.failures.count();
    const items: FailureView[] = [];
    let skipped = 0;
    let scanned = 0;
    while (scanned < Math.min(total, FILTER_SCAN_LIMIT) && items.length < count) {
      const entries = await this.failures.list(scanned, Math.min(500, FILTER_SCAN_LIMIT - scanned), { order: 'newest' });
      if (entries.length === 0) break;
      scanned += entries.length;
      for (const entry of entries) {
        if (!failureMatches(entry, filter)) continue;
        if (skipped < start) skipped++;
        else if (items.length < count) items.push(failureView(entry));
      }
    }
    return { start, count, total, items, filter, scanned, truncated: scanned < total && items.length < count };
  }

  async failure(index: number): Promise<FailureView | null> {
    const entry = await this.failures.get(index);
    return entry ? failureView(entry) : null;
  }

  async delayedPage(start: number, count: number): Promise<Page<DelayedTimestampRow>> {
    const redis = await this.redis();
    const k = this.connection.keys;
    const reply = await redis.multi().zcard(k.delayedSchedule).zrange(k.delayedSchedule, String(start), String(start + count - 1), 'WITHSCORES').exec();
    const total = Number(reply?.[0]?.[1] ?? 0);
    const flat = (reply?.[1]?.[1] as string[] | undefined) ?? [];
    const stamps: number[] = [];
    for (let i = 1; i < flat.length; i += 2) stamps.push(Number(flat[i]));
    const pipeline = redis.pipeline();
    for (const at of stamps) pipeline.llen(k.delayed(at));
    const sizes = stamps.length ? ((await pipeline.exec()) ?? []) : [];
    return { start, count, total, items: stamps.map((at, i) => ({ at, size: Number(sizes[i]?.[1] ?? 0) })) };
  }

  async delayedAt(at: number, start: number, count: number): Promise<Page<DelayedJobView>> {
    const redis = await this.redis();
    const key = this.connection.keys.delayed(at);
    const reply = await redis.multi().llen(key).lrange(key, start, start + count - 1).exec();
    const total = Number(reply?.[0]?.[1] ?? 0);
    const raws = (reply?.[1]?.[1] as string[] | undefined) ?? [];
    return { start, count, total, items: raws.map((raw, i) => delayedJob(start + i, raw, tryDecodeDelayedItem(raw))) };
  }

  async scheduleList(): Promise<ScheduleView[]> {
    const now = Date.now();
    return (await this.schedules.list()).map((s) => {
      const c = s.config;
      let nextRun: string | null = null;
      let problem: string | null = null;
      try {
        const next = resolveSchedule(s.name, c, s.source).timing.next(now);
        nextRun = next === null ? null : new Date(next).toISOString();
      } catch (error) {
        problem = (error as Error).message;
      }
      const every = c['every'];
      return {
        name: s.name,
        source: s.source,
        cron: typeof c['cron'] === 'string' ? c['cron'] : null,
        every: typeof every === 'string' ? every : Array.isArray(every) ? JSON.stringify(every) : null,
        className: typeof c['class'] === 'string' ? c['class'] : null,
        queue: typeof c['queue'] === 'string' ? c['queue'] : null,
        args: c['args'] ?? null,
        description: typeof c['description'] === 'string' ? c['description'] : null,
        nextRun,
        lastEnqueuedAt: s.lastEnqueuedAt?.toISOString() ?? null,
        problem,
      };
    });
  }

  async job(id: string): Promise<JobView> {
    const status = await this.queue.status(id);
    return { id, status, statusName: status ? (STATUS_NAMES[status.status] ?? null) : null };
  }

  async stats(): Promise<StatsView> {
    const redis = await this.redis();
    const k = this.connection.keys;
    const info = await redis.info();
    const wanted = new Set(['redis_version', 'uptime_in_days', 'connected_clients', 'used_memory_human', 'used_memory_peak_human', 'maxmemory_human', 'maxmemory_policy', 'total_commands_processed', 'role', 'aof_enabled', 'rdb_last_save_time']);
    const redisInfo: Record<string, string> = {};
    for (const line of info.split(/\r?\n/)) {
      const at = line.indexOf(':');
      if (at > 0 && wanted.has(line.slice(0, at))) redisInfo[line.slice(0, at)] = line.slice(at + 1);
    }
    const known: Array<[string, 'set' | 'list' | 'zset' | 'hash' | 'string']> = [
      [k.queues, 'set'],
      [k.workers, 'set'],
      [k.failed, 'list'],
      [k.delayedSchedule, 'zset'],
      [k.heartbeats, 'hash'],
      [k.persistentSchedules, 'hash'],
      [k.lastEnqueuedAt, 'hash'],
      [k.statProcessed(), 'string'],
      [k.statFailed(), 'string'],
    ];
    const pipeline = redis.pipeline();
    for (const [key, type] of known) {
      if (type === 'set') pipeline.scard(key);
      else if (type === 'list') pipeline.llen(key);
      else if (type === 'zset') pipeline.zcard(key);
      else if (type === 'hash') pipeline.hlen(key);
      else pipeline.get(key);
    }
    pipeline.dbsize();
    const replies = (await pipeline.exec()) ?? [];
    return {
      redis: redisInfo,
      keys: known.map(([key, type], i) => ({ key, type, size: Number(replies[i]?.[1] ?? 0) })),
      dbsize: Number(replies[known.length]?.[1] ?? 0),
    };
  }
}

function queueJob(index: number, raw: string): QueueJobView {
  try {
    const job = decodePayload(raw);
    return { index, raw, className: job.className, args: job.args, id: job.id, enqueuedAt: job.queueTime, unreadable: null };
  } catch (error) {
    return { index, raw, className: null, args: null, id: null, enqueuedAt: null, unreadable: (error as Error).message };
  }
}

function delayedJob(index: number, raw: string, item: DelayedItem | null): DelayedJobView {
  return item ? { index, raw, className: item.className, queue: item.queue, args: item.args } : { index, raw, className: null, queue: null, args: null };
}

function failureMatches(entry: FailureEntry, filter: FailureFilter): boolean {
  if (filter.queue !== undefined && entry.record?.queue !== filter.queue) return false;
  if (filter.class !== undefined && entry.className !== filter.class) return false;
  if (filter.exception !== undefined && entry.record?.exception !== filter.exception) return false;
  return true;
}

function failureView(entry: FailureEntry): FailureView {
  const r = entry.record ?? decodeFailure(entry.raw);
  return {
    index: entry.index,
    raw: entry.raw,
    queue: r?.queue ?? null,
    className: entry.className,
    args: failureArgs(r),
    exception: r?.exception ?? null,
    error: r?.error ?? null,
    backtrace: Array.isArray(r?.backtrace) ? r.backtrace.map(String) : [],
    worker: r?.worker ?? null,
    failedAt: failedAtText(entry, r),
    retriedAt: entry.retriedAt?.toISOString() ?? null,
  };
}

/** The payload's args; the payload itself when it was not a JSON object (shown as stored). */
function failureArgs(r: FailureRecord | null): unknown {
  const payload = r && typeof r.payload === 'object' ? r.payload : null;
  return payload ? (payload['args'] ?? null) : (r?.payload ?? null);
}

/** ISO when the peer's format parsed, else the stored text as is. */
function failedAtText(entry: FailureEntry, r: FailureRecord | null): string | null {
  return entry.failedAt?.toISOString() ?? (r?.failed_at ? String(r.failed_at) : null);
}

/**
 * Ours publish a heartbeat interval; Ruby writes a heartbeat but no interval; php writes neither and
 * `started` like `Tue Mar 05 …`; the PHP fork writes ISO `started`; node-resque a unix integer.
 */
function workerKind(worker: WorkerInfo, publishesInterval: boolean): WorkerKind {
  if (publishesInterval) return 'nestjs-resque';
  if (worker.heartbeat) return 'ruby';
  const started = worker.startedRaw ?? '';
  if (/^\d+$/.test(started)) return 'node-resque';
  if (/^[A-Z][a-z]{2} [A-Z][a-z]{2} /.test(started)) return 'php';
  if (/^\d{4}-\d{2}-\d{2}T/.test(started)) return 'php-fork';
  return 'unknown';
}

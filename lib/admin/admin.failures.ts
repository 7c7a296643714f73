import { RETRY_ATTEMPT_KEY } from '../policies/policy.retry.js';
import { randomBytes } from 'node:crypto';
import { Inject, Injectable, Optional } from '@nestjs/common';
import { ResqueConnection } from '../connection/connection.service.js';
import type { ResqueRedis } from '../connection/connection.types.js';
import {
  decodeFailure,
  decodePayload,
  encodeStatus,
  JobStatus,
  parseResqueTime,
  runScript,
  rubyFailedAt,
  unixSeconds,
  type ResquePayload,
} from '../protocol/index.js';
import { REMOVE_PAYLOADS_SCRIPT } from '../protocol/protocol.scripts.queue.js';
import { FAILURE_CLEAR_SCRIPT, FAILURE_REMOVE_SCRIPT, FAILURE_REQUEUE_SCRIPT } from './admin.scripts.js';
import type { FailureEntry, FailureFilter, FailureListOptions, RequeueOptions } from './admin.types.js';

const SCAN_PAGE = 500;

/** Injection token of a FailedList for ResqueFailures (unset: the connection's Redis). */
export const FAILED_LIST = Symbol('RESQUE_FAILED_LIST');

/**
 * The `failed` list, as Ruby's failure backend and resque-web use it (resque-protocol.md §7). Reads entries
 * written by Ruby, php-resque, the PHP fork, node-resque and us.
 *
 * - `list(start, count, { order })`: list order (oldest first, Ruby's `Failure.all`) by default, or newest
 *   first like resque-web's page. Each entry carries its list `index`.
 * - `requeue(index | entry)`: like Ruby's `Failure.requeue`, sets `retried_at` (Ruby's `failed_at` format) on
 *   the entry in place and pushes the job back to the entry's queue. **Difference from Ruby:** Ruby pushes a
 *   rebuilt `{class,args}`, losing id/queue_time/prefix, so PHP status tracking stops. We push the recorded
 *   payload with its id (and prefix) kept and `queue_time` refreshed, and if the job's status key still
 *   exists we set it back to WAITING, so status tracking continues. A Ruby-written payload has no id and is
 *   pushed as `{class,args}`, exactly what Ruby pushes.
 * - `remove(index | entry)`: Ruby's `LSET i <sentinel>` + `LREM failed 1 <sentinel>`, in one script.
 * - `requeueAll(filter?)`, `removeWhere(filter)`, `clear()`.
 * Passing an entry (from list/get) instead of an index makes the action follow that exact entry even if the
 * list shifted meanwhile; every write is one Lua script, so concurrent admin actions are safe.
 */
@Injectable()
export class ResqueFailures {
  private readonly failed: FailedList;

  /** `list` defaults to the connection's Redis `failed` list (the testing module passes one in memory). */
  constructor(connection: ResqueConnection, @Optional() @Inject(FAILED_LIST) list?: FailedList) {
    this.failed = list ?? new RedisFailedList(connection);
  }

  async count(): Promise<number> {
    return this.failed.length();
  }

  async list(start = 0, count = 20, options: FailureListOptions = {}): Promise<FailureEntry[]> {
    assertIndex(start, 'start');
    if (!Number.isSafeInteger(count) || count < 0) throw new RangeError(`count must be a non-negative integer, got ${String(count)}`);
    if (count === 0) return [];
    const order = options.order ?? 'list';
    if (order !== 'list' && order !== 'newest') throw new RangeError(`order must be 'list' or 'newest', got ${String(order)}`);
    if (order === 'list') {
      const raws = await this.failed.range(start, start + count - 1);
      return raws.map((raw, i) => toEntry(start + i, raw));
    }
    // Newest first: read from the tail, then reversed; indexes computed from the length read with it.
    const { length, raws } = await this.failed.fromTail(start, count);
    const first = Math.max(0, length - start - count);
    return raws.map((raw, i) => toEntry(first + i, raw)).reverse();
  }

  /** Every entry (paged reads); with a filter, only the matching ones. */
  async all(filter?: FailureFilter): Promise<FailureEntry[]> {
    if (filter !== undefined) assertFilter(filter);
    const out: FailureEntry[] = [];
    for (let start = 0; ; start += SCAN_PAGE) {
      const raws = await this.failed.range(start, start + SCAN_PAGE - 1);
      for (const [i, raw] of raws.entries()) {
        const entry = toEntry(start + i, raw);
        if (!filter || matches(entry, filter)) out.push(entry);
      }
      if (raws.length < SCAN_PAGE) return out;
    }
  }

  async get(index: number): Promise<FailureEntry | null> {
    assertIndex(index, 'index');
    const raw = await this.failed.at(index);
    return raw === null ? null : toEntry(index, raw);
  }

  /**
   * Requeues one failure; returns the queue it went to, or null when there was no such entry (or it vanished
   * concurrently). Throws when the entry's payload cannot be run (no class, not JSON).
   */
  async requeue(target: number | FailureEntry, options: RequeueOptions = {}): Promise<string | null> {
    const entry = await this.resolve(target);
    if (!entry) return null;
    return this.requeueEntry(entry, options);
  }

  /** Requeues every matching failure (Ruby's requeue_all keeps the entries; `remove: true` drops them). Returns the count. */
  async requeueAll(filter?: FailureFilter, options: RequeueOptions = {}): Promise<number> {
    const entries = await this.all(filter);
    let done = 0;
    // Back to front: with `remove`, earlier indexes stay valid (the script finds moved entries anyway).
    for (const entry of entries.reverse()) {
      if (entry.record === null || typeof entry.record.payload !== 'object') continue;
      if ((await this.requeueEntry(entry, options)) !== null) done++;
    }
    return done;
  }

  /** Removes one failure; returns false when there was no such entry. */
  async remove(target: number | FailureEntry): Promise<boolean> {
    const byEntry = typeof target !== 'number';
    const index = byEntry ? target.index : target;
    assertIndex(index, 'index');
    return (await this.failed.remove(index, byEntry ? target.raw : null)) >= 0;
  }

  /** Removes every matching failure; returns how many were removed. */
  async removeWhere(filter: FailureFilter): Promise<number> {
    assertFilter(filter);
    const raws = (await this.all(filter)).map((entry) => entry.raw);
    let removed = 0;
    for (let i = 0; i < raws.length; i += SCAN_PAGE) removed += await this.failed.removeEach(raws.slice(i, i + SCAN_PAGE));
    return removed;
  }

  /** Deletes the whole list (Ruby's `clear`); returns how many entries it held. */
  async clear(): Promise<number> {
    return this.failed.clear();
  }

  private async resolve(target: number | FailureEntry): Promise<FailureEntry | null> {
    if (typeof target !== 'number') {
      if (!target || typeof target.raw !== 'string') throw new TypeError('target must be an index or an entry from list()/get()');
      assertIndex(target.index, 'entry.index');
      return target;
    }
    return this.get(target);
  }

  private async requeueEntry(entry: FailureEntry, options: RequeueOptions): Promise<string | null> {
    if (options.queue !== undefined && (typeof options.queue !== 'string' || options.queue === '')) {
      throw new TypeError('options.queue must be a non-empty queue name');
    }
    const record = entry.record;
    if (record === null) throw new Error(`failure #${entry.index} is not a readable failure record`);
    if (typeof record.payload !== 'object') throw new Error(`failure #${entry.index} has no JSON payload to requeue`);
    const queue = options.queue ?? record.queue;
    if (!queue) throw new Error(`failure #${entry.index} names no queue (pass options.queue)`);
    const payload = requeuedPayload(record.payload, queue, entry.index);
    const job = JSON.stringify(payload);
    const now = new Date();
    const replacement = options.remove ? null : withRetriedAt(entry.raw, rubyFailedAt(now));
    const index = await this.failed.requeue({ index: entry.index, expected: entry.raw, replacement, queue, job, now });
    return index >= 0 ? queue : null;
  }
}

/** One requeue, as FailedList.requeue applies it in one step. */
export interface FailureRequeue {
  /** Where the entry was read, and its exact string (found again if the list shifted). */
  readonly index: number;
  readonly expected: string;
  /** The entry rewritten with `retried_at`, or null to remove it. */
  readonly replacement: string | null;
  readonly queue: string;
  /** The payload to push. */
  readonly job: string;
  readonly now: Date;
}

/**
 * The `failed` list, index-addressed like Ruby's failure backend: Redis (RedisFailedList) or the testing
 * module's memory. Each write is atomic and finds its entry again if the list shifted (-1 when it is gone).
 */
export interface FailedList {
  length(): Promise<number>;
  /** Entries start..stop (inclusive), LRANGE-style. */
  range(start: number, stop: number): Promise<string[]>;
  /** The `count` entries ending `start` from the tail, in list order, with the length read at the same moment. */
  fromTail(start: number, count: number): Promise<{ length: number; raws: string[] }>;
  at(index: number): Promise<string | null>;
  /** Rewrites or removes the entry, pushes the job (SADD queues + RPUSH) and puts an existing status back to WAITING; its index or -1. */
  requeue(request: FailureRequeue): Promise<number>;
  /** Removes the entry at `index` (found by `expected` when given and the list shifted); its index or -1. */
  remove(index: number, expected: string | null): Promise<number>;
  /** Removes one occurrence of each string; how many were removed. */
  removeEach(raws: readonly string[]): Promise<number>;
  /** Empties the list; how many entries it held. */
  clear(): Promise<number>;
}

/** The `failed` list in Redis; every write is one Lua script, so concurrent admin actions are safe. */
export class RedisFailedList implements FailedList {
  constructor(private readonly connection: ResqueConnection) {}

  /** The commands client, connected first so a connection error names the Redis address. */
  private async redis(): Promise<ResqueRedis> {
    if (!this.connection.isConnected) await this.connection.connect();
    return this.connection.client;
  }

  private get key(): string {
    return this.connection.keys.failed;
  }

  async length(): Promise<number> {
    return (await this.redis()).llen(this.key);
  }

  async range(start: number, stop: number): Promise<string[]> {
    return (await this.redis()).lrange(this.key, start, stop);
  }

  async fromTail(start: number, count: number): Promise<{ length: number; raws: string[] }> {
    // Negative ranges from the tail; the length comes from the same MULTI so the indexes are right.
    const reply = await (await this.redis()).multi().llen(this.key).lrange(this.key, -(start + count), -(start + 1)).exec();
    return { length: Number(reply?.[0]?.[1] ?? 0), raws: (reply?.[1]?.[1] as string[] | undefined) ?? [] };
  }

  async at(index: number): Promise<string | null> {
    return (await this.redis()).lindex(this.key, index);
  }

  async requeue(request: FailureRequeue): Promise<number> {
    const redis = await this.redis();
    const keys = this.connection.keys;
    const decoded = decodePayload(request.job);
    const statusKey = decoded.id ? keys.status(decoded.id, decoded.prefix) : null;
    const seconds = unixSeconds(request.now);
    const packet = statusKey ? encodeStatus({ status: JobStatus.WAITING, updated: seconds, started: seconds }) : '';
    return runScript<number>(
      redis,
      FAILURE_REQUEUE_SCRIPT,
      [this.key, keys.queues, keys.queue(request.queue), statusKey ?? this.key],
      [request.index, request.expected, request.replacement ?? '', request.queue, request.job, packet, sentinel()],
    );
  }

  async remove(index: number, expected: string | null): Promise<number> {
    return runScript<number>(await this.redis(), FAILURE_REMOVE_SCRIPT, [this.key], [index, expected ?? '', sentinel(), expected === null ? '0' : '1']);
  }

  async removeEach(raws: readonly string[]): Promise<number> {
    return runScript<number>(await this.redis(), REMOVE_PAYLOADS_SCRIPT, [this.key], raws);
  }

  async clear(): Promise<number> {
    return runScript<number>(await this.redis(), FAILURE_CLEAR_SCRIPT, [this.key], []);
  }
}

function toEntry(index: number, raw: string): FailureEntry {
  const record = decodeFailure(raw);
  const payload = record?.payload;
  const className = payload && typeof payload === 'object' && typeof payload['class'] === 'string' ? (payload['class']) : null;
  return {
    index,
    raw,
    record,
    className,
    failedAt: record ? parseResqueTime(record.failed_at) : null,
    retriedAt: record?.retried_at ? parseResqueTime(record.retried_at) : null,
  };
}

function matches(entry: FailureEntry, filter: FailureFilter): boolean {
  const r = entry.record;
  if (filter.queue !== undefined && r?.queue !== filter.queue) return false;
  if (filter.class !== undefined && entry.className !== filter.class) return false;
  if (filter.exception !== undefined && r?.exception !== filter.exception) return false;
  if (filter.predicate !== undefined && !filter.predicate(entry)) return false;
  return true;
}

/** The recorded payload, members in their order, with a fresh `queue_time` when it had one (and node-resque's `queue`). */
function requeuedPayload(payload: Record<string, unknown>, queue: string, index: number): ResquePayload {
  if (typeof payload['class'] !== 'string' || payload['class'] === '') {
    throw new Error(`failure #${index} has a payload without a class; it cannot be requeued`);
  }
  const out: Record<string, unknown> = { ...payload };
  if (out['args'] === undefined || out['args'] === null) out['args'] = [];
  if (typeof out['queue_time'] === 'number') out['queue_time'] = Date.now() / 1000;
  if (typeof out['queue'] === 'string') out['queue'] = queue;
  // A requeue starts a new series of attempts (the retry counter went with the recorded failure): ctx.attempt 1.
  delete out[RETRY_ATTEMPT_KEY];
  return out as ResquePayload;
}

/** Ruby re-encodes the entry hash with `retried_at` set (appended, or updated in place); so do we. */
function withRetriedAt(raw: string, retriedAt: string): string {
  const parsed = JSON.parse(raw) as Record<string, unknown>;
  parsed['retried_at'] = retriedAt;
  return JSON.stringify(parsed);
}

function sentinel(): string {
  return `nestjs-resque:removed:${randomBytes(8).toString('hex')}`;
}

function assertIndex(value: unknown, name: string): asserts value is number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`${name} must be a non-negative integer, got ${String(value)}`);
  }
}

function assertFilter(filter: unknown): asserts filter is FailureFilter {
  if (!filter || typeof filter !== 'object') throw new TypeError('filter must be an object { queue?, class?, exception?, predicate? }');
  const f = filter as Record<string, unknown>;
  for (const key of ['queue', 'class', 'exception'] as const) {
    if (f[key] !== undefined && typeof f[key] !== 'string') throw new TypeError(`filter.${key} must be a string`);
  }
  if (f['predicate'] !== undefined && typeof f['predicate'] !== 'function') throw new TypeError('filter.predicate must be a function');
}

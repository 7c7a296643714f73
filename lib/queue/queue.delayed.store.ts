import type { ResqueConnection } from '../connection/connection.service.js';
import type { ResqueRedis } from '../connection/connection.types.js';
import { releaseRemovedUnique } from '../policies/policy.unique.release.js';
import { REMOVE_DELAYED_SCRIPT, SCHEDULE_DELAYED_SCRIPT, runScript, tryDecodeDelayedItem, type DelayedItem, type ResqueKeys } from '../protocol/index.js';

/** Timestamps per ZRANGEBYSCORE page and items per LRANGE page while walking the schedule. */
const WALK_PAGE = 500;

/** An item that no peer could decode: listed by peek, never dropped. */
export interface UnreadableDelayedItem {
  readonly raw: string;
  readonly unreadable: true;
}

export interface DelayedTimestamp {
  /** Unix seconds. */
  at: number;
  items: Array<DelayedItem | UnreadableDelayedItem>;
}

export type DelayedMatcher = (item: DelayedItem) => boolean;

/** The lock a unique delayed job takes as it is scheduled: `unique:<class>:<key>`, the job's id, TTL seconds. */
export interface ScheduledLock {
  readonly lock: string;
  readonly id: string;
  readonly ttl: number;
}

/**
 * Where delayed items live, as exact item strings per unix-second timestamp: Redis (DelayedStore) or the
 * testing module's memory. ResqueDelayedJobs validates, matches and emits events on top of it.
 */
export interface DelayedStorage {
  /**
   * Adds one copy of `item` due at `at`. With `unique`, takes its lock in the same step, or resolves with
   * the id of the equal job holding it (nothing scheduled).
   */
  schedule(at: number, item: string, unique?: ScheduledLock): Promise<string | undefined>;
  /** Every copy of this exact string at every timestamp its index names (Ruby's remove_delayed). */
  removeIndexed(item: string): Promise<number>;
  /** Every item the matcher accepts, at any timestamp. */
  removeMatching(matches: DelayedMatcher): Promise<number>;
  /** The matching items of one timestamp. */
  removeFromTimestamp(ts: string, matches: DelayedMatcher): Promise<number>;
  /** How many timestamps hold items. */
  scheduleSize(): Promise<number>;
  /** How many items are due at that second. */
  timestampSize(at: number): Promise<number>;
  /** The earliest timestamp, or null. */
  nextTimestamp(): Promise<number | null>;
  /** Timestamps `start..start+count-1` in order with their items. */
  peek(start: number, count: number): Promise<DelayedTimestamp[]>;
  /** Timestamps this exact item is indexed at. */
  scheduledAt(item: string): Promise<number[]>;
}

/**
 * The delayed queue in resque-scheduler's layout (`delayed_queue_schedule`, `delayed:<ts>`,
 * `timestamps:<item>`), Nest-free. Every write is one Lua script; reads never use KEYS or SCAN. Connects
 * on first use, like ResqueQueue.
 */
export class DelayedStore implements DelayedStorage {
  constructor(private readonly connection: ResqueConnection) {}

  private async redis(): Promise<{ client: ResqueRedis; keys: ResqueKeys }> {
    if (!this.connection.isConnected) await this.connection.connect();
    return this.connection;
  }

  /** RPUSH + ZADD + SADD timestamps in one script (what Ruby writes, atomically), with a unique job's lock. */
  async schedule(at: number, item: string, unique?: ScheduledLock): Promise<string | undefined> {
    const { client, keys } = await this.redis();
    const args: Array<string | number> = [item, at, keys.delayedMember(at)];
    if (unique) args.push(keys.key(unique.lock), unique.id, unique.ttl);
    const reply = await runScript(client, SCHEDULE_DELAYED_SCRIPT, [keys.delayed(at), keys.delayedSchedule, keys.timestamps(item)], args);
    return typeof reply === 'string' ? reply : undefined;
  }

  /** Every copy of this exact string at every timestamp its `timestamps:` index names (Ruby's remove_delayed). */
  async removeIndexed(item: string): Promise<number> {
    const { client, keys } = await this.redis();
    const members = await client.smembers(keys.timestamps(item));
    let removed = 0;
    for (const member of members) {
      const ts = member.startsWith('delayed:') ? member.slice('delayed:'.length) : null;
      if (ts === null || ts === '') {
        await client.srem(keys.timestamps(item), member);
        continue;
      }
      removed += await this.removeExact(ts, [item], 0);
    }
    return removed;
  }

  /**
   * Walks the whole schedule page by page (by score, so removals do not shift the walk) and removes every
   * item the matcher accepts: how items written by php-resque-scheduler, which keeps no index, are found.
   */
  async removeMatching(matches: DelayedMatcher): Promise<number> {
    const { client, keys } = await this.redis();
    let removed = 0;
    let from = '-inf';
    for (;;) {
      const page = await client.zrangebyscore(keys.delayedSchedule, from, '+inf', 'WITHSCORES', 'LIMIT', 0, WALK_PAGE);
      if (page.length === 0) return removed;
      // WITHSCORES: member, score, member, score…; the members are the timestamps.
      let last = '';
      for (let i = 1; i < page.length; i += 2) {
        const [timestamp = '', score = ''] = page.slice(i - 1, i + 1);
        removed += await this.removeFromTimestamp(timestamp, matches);
        last = score;
      }
      from = `(${last}`;
      if (page.length < WALK_PAGE * 2) return removed;
    }
  }

  /** Removes the matching items of one timestamp (every occurrence), with full cleanup. */
  async removeFromTimestamp(ts: string, matches: DelayedMatcher): Promise<number> {
    const { client, keys } = await this.redis();
    const found: string[] = [];
    for (let start = 0; ; start += WALK_PAGE) {
      const items = await client.lrange(keys.delayed(ts), start, start + WALK_PAGE - 1);
      for (const raw of items) {
        const item = tryDecodeDelayedItem(raw);
        if (item && matches(item)) found.push(raw);
      }
      if (items.length < WALK_PAGE) break;
    }
    if (found.length === 0) return 0;
    const removed = await this.removeExact(ts, found, 1);
    // unique: their locks go with them, when every one was removed (one the scheduler moved meanwhile keeps its own).
    if (removed === found.length) await releaseRemovedUnique(client, keys, found);
    return removed;
  }

  /** LREM count for each string, SREM of the index once no copy is left, DEL + ZREM once empty. */
  private async removeExact(ts: string, items: string[], count: 0 | 1): Promise<number> {
    const { client, keys } = await this.redis();
    return runScript<number>(client, REMOVE_DELAYED_SCRIPT, [keys.delayed(ts), keys.delayedSchedule], [ts, keys.prefix, count, ...items]);
  }

  /** ZCARD: timestamps, not jobs (php's getDelayedQueueScheduleSize). */
  async scheduleSize(): Promise<number> {
    const { client, keys } = await this.redis();
    return client.zcard(keys.delayedSchedule);
  }

  /** LLEN delayed:<ts>: jobs due at that second. */
  async timestampSize(at: number): Promise<number> {
    const { client, keys } = await this.redis();
    return client.llen(keys.delayed(at));
  }

  /** The earliest scheduled timestamp (unix seconds), optionally only one at or before `dueBy`. */
  async nextTimestamp(dueBy?: number): Promise<number | null> {
    const { client, keys } = await this.redis();
    const first = await client.zrangebyscore(keys.delayedSchedule, '-inf', dueBy ?? '+inf', 'LIMIT', 0, 1);
    return first[0] === undefined ? null : Number(first[0]);
  }

  /** Timestamps `start..start+count-1` in order, each with its items decoded (Ruby's delayed_queue_peek). */
  async peek(start: number, count: number): Promise<DelayedTimestamp[]> {
    const { client, keys } = await this.redis();
    if (count <= 0) return [];
    const members = await client.zrange(keys.delayedSchedule, String(start), String(start + count - 1));
    const out: DelayedTimestamp[] = [];
    for (const ts of members) {
      const raws = await client.lrange(keys.delayed(ts), 0, -1);
      out.push({
        at: Number(ts),
        items: raws.map((raw) => tryDecodeDelayedItem(raw) ?? { raw, unreadable: true as const }),
      });
    }
    return out;
  }

  /** Timestamps this exact item is indexed at (Ruby's scheduled_at; php items have no index). */
  async scheduledAt(item: string): Promise<number[]> {
    const { client, keys } = await this.redis();
    const members = await client.smembers(keys.timestamps(item));
    return members
      .map((m) => Number(m.slice('delayed:'.length)))
      .filter((n) => Number.isFinite(n))
      .sort((a, b) => a - b);
  }
}

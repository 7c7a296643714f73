import { hostname } from 'node:os';
import type { ResqueRedis } from '../connection/connection.types.js';
import { LOCK_ACQUIRE_SCRIPT, LOCK_RELEASE_SCRIPT } from '../protocol/protocol.scripts.scheduler.js';
import { runScript } from '../protocol/index.js';

/** Ruby's LOCK_TIMEOUT: the longest ttl we accept. */
export const SCHEDULER_LOCK_TTL_SECONDS = 180;

/** Our default ttl with the default 1 s interval: a dead master's lock is free again within 10 s. */
export const DEFAULT_SCHEDULER_LOCK_TTL_SECONDS = 10;

/**
 * The default ttl for an interval: 10 s, or three intervals when that is longer (a live master refreshes
 * it at least once per interval, so it survives two late passes), at most Ruby's 180 s.
 */
export function defaultLockTtl(intervalSeconds: number): number {
  return Math.min(SCHEDULER_LOCK_TTL_SECONDS, Math.max(DEFAULT_SCHEDULER_LOCK_TTL_SECONDS, Math.ceil(intervalSeconds * 3)));
}

/** Ruby's lock value: `host:pid`. */
export function defaultLockOwner(): string {
  return `${hostname()}:${process.pid}`;
}

/**
 * resque-scheduler's master lock (`<ns>:<ns>:resque_scheduler_master_lock` = `host:pid`): taken or
 * extended on every pass (and by every promotion batch), released on stop, all owner-checked in Lua, so
 * one scheduler, ours or Ruby's, leads at a time. Ruby only compares the value, so our short ttl does
 * not change how a Ruby scheduler behaves; it only frees a dead master's lock sooner than Ruby's 180 s.
 */
export class SchedulerLock {
  constructor(
    private readonly redis: ResqueRedis,
    readonly key: string,
    readonly owner: string = defaultLockOwner(),
    readonly ttlSeconds: number = DEFAULT_SCHEDULER_LOCK_TTL_SECONDS,
  ) {
    if (!Number.isInteger(ttlSeconds) || ttlSeconds < 1 || ttlSeconds > SCHEDULER_LOCK_TTL_SECONDS) {
      throw new RangeError(`lockTtl must be an integer from 1 to ${SCHEDULER_LOCK_TTL_SECONDS} seconds, got ${ttlSeconds}`);
    }
  }

  /** Takes the lock, or extends it when we hold it. True when we lead after the call. */
  async acquire(): Promise<boolean> {
    return (await runScript<number>(this.redis, LOCK_ACQUIRE_SCRIPT, [this.key], [this.owner, this.ttlSeconds])) === 1;
  }

  /** Deletes the lock only if we still hold it. True when it was ours. */
  async release(): Promise<boolean> {
    return (await runScript<number>(this.redis, LOCK_RELEASE_SCRIPT, [this.key], [this.owner])) === 1;
  }

  /** Who holds it now (`host:pid`), or null. */
  async holder(): Promise<string | null> {
    return this.redis.get(this.key);
  }
}

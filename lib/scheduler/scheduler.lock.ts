import { hostname } from 'node:os';
import type { ResqueRedis } from '../connection/connection.types.js';
import { LOCK_ACQUIRE_SCRIPT, LOCK_RELEASE_SCRIPT } from '../protocol/protocol.scripts.scheduler.js';
import { runScript } from '../protocol/index.js';

/** Ruby's LOCK_TIMEOUT. */
export const SCHEDULER_LOCK_TTL_SECONDS = 180;

/** Ruby's lock value: `host:pid`. */
export function defaultLockOwner(): string {
  return `${hostname()}:${process.pid}`;
}

/**
 * resque-scheduler's master lock (`<ns>:<ns>:resque_scheduler_master_lock` = `host:pid`, EX 180): taken
 * or extended on every pass, released on stop, both owner-checked in Lua, so one scheduler, ours or
 * Ruby's, leads at a time.
 */
export class SchedulerLock {
  constructor(
    private readonly redis: ResqueRedis,
    readonly key: string,
    readonly owner: string = defaultLockOwner(),
    readonly ttlSeconds: number = SCHEDULER_LOCK_TTL_SECONDS,
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

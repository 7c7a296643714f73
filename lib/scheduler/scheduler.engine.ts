import { Logger } from '@nestjs/common';
import { promoteDue } from './scheduler.promote.js';
import { RecurringClock } from './scheduler.recurring.js';
import { defaultLockOwner, defaultLockTtl, SchedulerLock } from './scheduler.lock.js';
import { ScheduleStore } from './scheduler.schedules.store.js';
import type { ResolvedSchedule } from './scheduler.schedules.js';
import type { SchedulerObserver, SchedulerOptions, SchedulerRedis } from './scheduler.types.js';

export const DEFAULT_SCHEDULER_INTERVAL = 1;
const DEFAULT_BATCH_SIZE = 500;
/** Never spin: the shortest sleep between passes. */
const MIN_SLEEP_MS = 5;

/** What one pass did. */
export interface PassResult {
  leader: boolean;
  promoted: number;
  fired: number;
}

/**
 * The scheduler loop, Nest-free: every pass takes (or extends) Ruby's master lock, with a short ttl so a
 * dead master is replaced within seconds; only the leader promotes due delayed items (each batch extends
 * the lock again) and fires recurring schedules. It sleeps `interval` seconds, or less when
 * the next delayed timestamp or schedule tick is sooner, so a due job is promoted within `interval`.
 */
export class SchedulerEngine {
  readonly interval: number;
  readonly owner: string;
  private readonly lock: SchedulerLock;
  private readonly clock: RecurringClock;
  private readonly store: ScheduleStore;
  private readonly batchSize: number;
  private leader = false;
  private running: Promise<void> | null = null;
  private stopping = false;
  private wake: (() => void) | null = null;

  constructor(
    private readonly redis: SchedulerRedis,
    private readonly options: SchedulerOptions = {},
    private readonly statics: () => readonly ResolvedSchedule[] = () => [],
    private readonly observer: SchedulerObserver = {},
    private readonly logger: Logger = new Logger('ResqueScheduler'),
  ) {
    const interval = options.interval ?? DEFAULT_SCHEDULER_INTERVAL;
    if (typeof interval !== 'number' || !Number.isFinite(interval) || interval <= 0) {
      throw new RangeError(`interval must be a positive number of seconds, got ${String(interval)}`);
    }
    const batch = options.batchSize ?? DEFAULT_BATCH_SIZE;
    if (!Number.isInteger(batch) || batch < 1) throw new RangeError(`batchSize must be a positive integer, got ${String(batch)}`);
    this.interval = interval;
    this.batchSize = batch;
    this.owner = options.owner ?? defaultLockOwner();
    const lockKey = redis.keys.schedulerLock(options.lockPrefix);
    // A ttl no longer than the sleep would let the lock lapse between every two passes of a live master.
    if (typeof options.lockTtl === 'number' && options.lockTtl <= interval) {
      throw new RangeError(`lockTtl (${options.lockTtl} s) must be longer than interval (${interval} s)`);
    }
    this.lock = new SchedulerLock(redis.client, lockKey, this.owner, options.lockTtl ?? defaultLockTtl(interval));
    this.clock = new RecurringClock(redis.client, redis.keys, lockKey, this.owner);
    this.store = new ScheduleStore(redis);
  }

  get isLeader(): boolean {
    return this.leader;
  }

  get isRunning(): boolean {
    return this.running !== null;
  }

  /** Starts the loop (idempotent). Resolves once the first pass has run. */
  async start(): Promise<void> {
    if (this.running) return;
    this.stopping = false;
    let firstPass!: () => void;
    const started = new Promise<void>((resolve) => (firstPass = resolve));
    this.running = this.loop(firstPass).finally(() => {
      this.running = null;
    });
    await started;
  }

  /** Stops after the current batch, then releases the lock if we hold it. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.wake?.();
    if (this.running) await this.running;
    await this.releaseLock();
    this.stopping = false; // runOnce() stays usable after a stop
  }

  /** One pass: lock, promote, fire. Usable without start() (Ruby's --once). */
  async runOnce(): Promise<PassResult> {
    const result: PassResult = { leader: false, promoted: 0, fired: 0 };
    const leader = await this.lock.acquire();
    this.setLeader(leader);
    result.leader = leader;
    if (!leader) return result;
    if (this.options.delayed !== false) {
      const promoted = await promoteDue(this.redis.client, this.redis.keys, {
        now: Math.floor(Date.now() / 1000),
        owner: this.owner,
        lockKey: this.lock.key,
        lockTtl: this.lock.ttlSeconds,
        batchSize: this.batchSize,
        failureWorker: `${this.owner}:scheduler`,
        shouldStop: () => this.stopping,
        onPromoted: this.observer.promoted?.bind(this.observer),
      });
      result.promoted = promoted.moved;
      if (promoted.failed > 0) this.logger.warn(`moved ${promoted.failed} unreadable delayed item(s) to the failed list`);
      if (promoted.lockLost) {
        this.setLeader(false);
        result.leader = false;
        return result;
      }
      if (promoted.moved > 0) this.logger.verbose(`promoted ${promoted.moved} delayed job(s)`);
    }
    if (this.options.recurring !== false && !this.stopping) {
      const persistent = await this.store.loadPersistent((name, error) =>
        this.logger.warn(`persistent schedule "${name}" ignored: ${(error as Error).message}`),
      );
      const byName = new Map<string, ResolvedSchedule>();
      for (const schedule of this.statics()) byName.set(schedule.name, schedule);
      for (const schedule of persistent) byName.set(schedule.name, schedule); // the runtime API wins
      const now = Date.now();
      await this.clock.sync([...byName.values()], now);
      const fired = await this.clock.fireDue(now);
      if (fired === null) {
        this.setLeader(false);
        result.leader = false;
        return result;
      }
      result.fired = fired.length;
      for (const tick of fired) {
        this.logger.verbose(`schedule "${tick.name}" fired ${tick.className} on ${tick.queue} (tick ${tick.tick.toISOString()})`);
        await this.observer.fired?.(tick);
      }
    }
    return result;
  }

  private async loop(firstPass: () => void): Promise<void> {
    let first = true;
    while (!this.stopping) {
      try {
        await this.runOnce();
      } catch (error) {
        this.logger.error(`scheduler pass failed: ${(error as Error)?.message ?? String(error)}`);
        this.observer.error?.(error, 'pass');
      }
      if (first) {
        first = false;
        firstPass();
      }
      if (this.stopping) break;
      await this.sleep(await this.sleepMs());
    }
    if (first) firstPass();
  }

  /** The interval, or less when the next delayed timestamp or schedule tick is due sooner. */
  private async sleepMs(): Promise<number> {
    const intervalMs = this.interval * 1000;
    if (!this.leader) return intervalMs;
    let until = Date.now() + intervalMs;
    try {
      if (this.options.delayed !== false) {
        const next = await this.redis.client.zrangebyscore(this.redis.keys.delayedSchedule, '-inf', '+inf', 'LIMIT', 0, 1);
        if (next[0] !== undefined) until = Math.min(until, Number(next[0]) * 1000);
      }
    } catch {
      // the next pass reports Redis errors
    }
    const tick = this.clock.nextDue();
    if (tick !== null) until = Math.min(until, tick);
    return Math.max(MIN_SLEEP_MS, until - Date.now());
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.wake = () => {
        this.wake = null;
        done();
      };
    });
  }

  private setLeader(leader: boolean): void {
    if (leader === this.leader) return;
    this.leader = leader;
    if (!leader) this.clock.reset(); // a later leadership starts from now: missed ticks are not replayed
    this.logger.log(leader ? `became the master scheduler (${this.owner})` : `no longer the master scheduler (${this.owner})`);
    this.observer.leadership?.(leader, leader ? this.owner : null);
  }

  private async releaseLock(): Promise<void> {
    try {
      if (await this.lock.release()) this.logger.log(`released the master lock (${this.owner})`);
    } catch (error) {
      this.logger.warn(`could not release the master lock: ${(error as Error)?.message ?? String(error)}`);
    }
    this.setLeader(false);
  }
}

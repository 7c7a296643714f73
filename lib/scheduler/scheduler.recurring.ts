import { newJobId, queueTimeNow, runScript, rubyTimeToS, type ResqueKeys } from '../protocol/index.js';
import { SCHEDULE_TICK_SCRIPT } from '../protocol/protocol.scripts.scheduler.js';
import type { ResqueRedis } from '../connection/connection.types.js';
import { withUniqueMarker, type UniqueLock } from '../policies/policy.unique.js';
import type { ResolvedSchedule } from './scheduler.schedules.js';

/** Ours: schedule name → last fired tick (unix ms), the per-tick guard beside Ruby's last_enqueued_at. */
export function tickGuardKey(keys: ResqueKeys): string {
  return keys.key('scheduler_last_tick');
}

/** Most missed ticks walked when collapsing a backlog into one firing. */
const MAX_TICK_WALK = 10_000;

export interface FiredTick {
  name: string;
  tick: Date;
  queue: string;
  className: string;
  args: unknown[];
  id: string;
}

interface Entry {
  schedule: ResolvedSchedule;
  nextTick: number | null;
}

/**
 * The leader's recurring-schedule clock. Ticks are computed locally, and each firing is one Lua script
 * that pushes the job only if this owner holds the lock and the tick is newer than the last one fired
 * (so a leadership change mid-tick cannot fire it twice). Missed ticks are skipped (Ruby's rule) unless a
 * schedule opts in to `catchUp`, which fires once for them.
 */
export class RecurringClock {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly redis: ResqueRedis,
    private readonly keys: ResqueKeys,
    private readonly lockKey: string,
    private readonly owner: string,
  ) {}

  /** Forgets computed ticks (on losing leadership: the next leader starts from now). */
  reset(): void {
    this.entries.clear();
  }

  /** Installs the current schedule set; new or changed schedules get their first tick computed. */
  async sync(schedules: readonly ResolvedSchedule[], now: number): Promise<void> {
    const seen = new Set<string>();
    for (const schedule of schedules) {
      seen.add(schedule.name);
      const current = this.entries.get(schedule.name);
      if (current && current.schedule.fingerprint === schedule.fingerprint) continue;
      this.entries.set(schedule.name, { schedule, nextTick: await this.firstTick(schedule, now) });
    }
    for (const name of [...this.entries.keys()]) if (!seen.has(name)) this.entries.delete(name);
  }

  /** The soonest pending tick (ms), or null. */
  nextDue(): number | null {
    let soonest: number | null = null;
    for (const { nextTick } of this.entries.values()) {
      if (nextTick !== null && (soonest === null || nextTick < soonest)) soonest = nextTick;
    }
    return soonest;
  }

  /** Fires every due schedule once. Returns the fired jobs, or null when the lock turned out not ours. */
  async fireDue(now: number): Promise<FiredTick[] | null> {
    const fired: FiredTick[] = [];
    for (const entry of this.entries.values()) {
      if (entry.nextTick === null || entry.nextTick > now) continue;
      const { schedule } = entry;
      const tick = latestDueTick(schedule, entry.nextTick, now);
      const id = newJobId();
      const payload = JSON.stringify({ class: schedule.className, args: schedule.args, id, queue_time: queueTimeNow() });
      const args: Array<string | number> = [this.owner, schedule.name, tick, rubyTimeToS(new Date(tick)), schedule.queue, payload];
      if (schedule.unique) uniqueTickArgs(args, this.keys, schedule.unique, id);
      const reply = await runScript<number>(
        this.redis,
        SCHEDULE_TICK_SCRIPT,
        [this.lockKey, tickGuardKey(this.keys), this.keys.lastEnqueuedAt, this.keys.queues, this.keys.queue(schedule.queue)],
        args,
      );
      if (reply === -1) return null;
      // Whatever happened to this tick, the next one is after now: a backlog never fires twice.
      entry.nextTick = schedule.timing.next(Math.max(tick, now));
      if (reply === 1) {
        fired.push({ name: schedule.name, tick: new Date(tick), queue: schedule.queue, className: schedule.className, args: schedule.args, id });
      }
    }
    return fired;
  }

  private async firstTick(schedule: ResolvedSchedule, now: number): Promise<number | null> {
    if (schedule.catchUp) {
      const last = await this.redis.hget(tickGuardKey(this.keys), schedule.name);
      if (last !== null && Number.isFinite(Number(last))) {
        const missed = schedule.timing.next(Number(last));
        if (missed !== null) return missed;
      }
    }
    return schedule.timing.next(now);
  }
}

/** unique: the firing's payload names its lock (for the worker), and the tick script takes it (or skips the tick). */
function uniqueTickArgs(args: Array<string | number>, keys: ResqueKeys, unique: UniqueLock, id: string): void {
  if (unique.until !== 'queued') args[5] = withUniqueMarker(String(args[5]), unique);
  args.push(keys.key(unique.lock), id, unique.ttl, unique.until === 'queued' ? '0' : '1');
}

/** Collapses a backlog: the latest tick at or before now, starting from the first pending one. */
function latestDueTick(schedule: ResolvedSchedule, first: number, now: number): number {
  let tick = first;
  for (let i = 0; i < MAX_TICK_WALK; i++) {
    const next = schedule.timing.next(tick);
    if (next === null || next > now) return tick;
    tick = next;
  }
  return tick;
}

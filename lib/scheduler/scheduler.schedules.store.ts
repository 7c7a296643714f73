import { parseResqueTime } from '../protocol/index.js';
import { nameOnlyResolver, parseStoredSchedule, resolveSchedule, type JobNameResolver, type ResolvedSchedule } from './scheduler.schedules.js';
import type { RecurringScheduleConfig, SchedulerRedis } from './scheduler.types.js';

/** A schedule as listed: Ruby's stored config plus where it lives and when it last fired. */
export interface ScheduleInfo {
  name: string;
  source: 'static' | 'persistent';
  config: Record<string, unknown>;
  lastEnqueuedAt: Date | null;
}

/**
 * Runtime schedules in resque-scheduler's layout: `persistent_schedules` (name → config JSON without
 * `persist`) plus `SADD schedules_changed name` on every change, so a Ruby scheduler with
 * DYNAMIC_SCHEDULE reloads them too. Static schedules (module options, @Job) are never written.
 */
export class ScheduleStore {
  constructor(
    private readonly redis: SchedulerRedis,
    private readonly resolveJob: JobNameResolver = nameOnlyResolver,
  ) {}

  /** Validates, then stores (replacing a schedule of the same name). Returns Ruby's stored config. */
  async set(name: string, config: RecurringScheduleConfig): Promise<Record<string, unknown>> {
    const resolved = resolveSchedule(name, config, 'persistent', this.resolveJob);
    const { client, keys } = this.redis;
    await client.multi().hset(keys.persistentSchedules, name, JSON.stringify(resolved.config)).sadd(keys.schedulesChanged, name).exec();
    return resolved.config;
  }

  /** Removes a runtime schedule; false when there was none. */
  async remove(name: string): Promise<boolean> {
    if (typeof name !== 'string' || name === '') throw new TypeError('schedule name must be a non-empty string');
    const { client, keys } = this.redis;
    const reply = await client.multi().hdel(keys.persistentSchedules, name).sadd(keys.schedulesChanged, name).exec();
    return Number(reply?.[0]?.[1] ?? 0) === 1;
  }

  /** Every readable persistent schedule; unreadable entries are reported, never thrown. */
  async loadPersistent(onError?: (name: string, error: unknown) => void): Promise<ResolvedSchedule[]> {
    const stored = await this.redis.client.hgetall(this.redis.keys.persistentSchedules);
    const out: ResolvedSchedule[] = [];
    for (const [name, json] of Object.entries(stored)) {
      try {
        out.push(parseStoredSchedule(name, json));
      } catch (error) {
        onError?.(name, error);
      }
    }
    return out;
  }

  /** Static schedules given here plus the persistent ones, with `delayed:last_enqueued_at`. */
  async list(statics: readonly ResolvedSchedule[] = []): Promise<ScheduleInfo[]> {
    const { client, keys } = this.redis;
    const [stored, last] = await Promise.all([client.hgetall(keys.persistentSchedules), client.hgetall(keys.lastEnqueuedAt)]);
    const out: ScheduleInfo[] = statics.map((s) => ({
      name: s.name,
      source: 'static',
      config: s.config,
      lastEnqueuedAt: parseResqueTime(last[s.name]),
    }));
    for (const [name, json] of Object.entries(stored)) {
      let config: Record<string, unknown>;
      try {
        config = JSON.parse(json) as Record<string, unknown>;
      } catch {
        config = { unreadable: json };
      }
      out.push({ name, source: 'persistent', config, lastEnqueuedAt: parseResqueTime(last[name]) });
    }
    return out;
  }
}

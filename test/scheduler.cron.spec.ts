import { describe, expect, it } from 'vitest';
import { cronTiming, everyTiming, parseEvery, splitCronZone } from '../lib/scheduler/scheduler.cron.js';
import { jobArgs, parseStoredSchedule, resolveSchedule } from '../lib/scheduler/scheduler.schedules.js';
import { resolveSchedulerHostOptions } from '../lib/scheduler/scheduler.env.js';

const at = (iso: string): number => new Date(iso).getTime();

describe('schedule timing and configs', () => {
  it('parses rufus durations and rejects others naming the schedule', () => {
    expect(parseEvery('30s', 'x')).toBe(30_000);
    expect(parseEvery('5m', 'x')).toBe(300_000);
    expect(parseEvery('1h30m', 'x')).toBe(5_400_000);
    expect(parseEvery('2d', 'x')).toBe(172_800_000);
    expect(parseEvery('45', 'x')).toBe(45_000);
    expect(() => parseEvery('5x', 'schedule "s" every')).toThrow(/schedule "s" every must be a duration/);
    expect(() => parseEvery('500ms', 'x')).toThrow(/at least one second/);
    expect(() => parseEvery('', 'x')).toThrow(RangeError);
  });

  it('every ticks are aligned to the epoch, so every scheduler computes the same ones', () => {
    const hourly = everyTiming(3_600_000);
    expect(hourly.next(at('2030-01-01T10:17:00Z'))).toBe(at('2030-01-01T11:00:00Z'));
    expect(hourly.next(at('2030-01-01T11:00:00Z'))).toBe(at('2030-01-01T12:00:00Z'));
  });

  it('cron: 5 fields (minutes), 6 fields (seconds), rufus trailing zone or timezone member', () => {
    const from = at('2030-01-01T00:00:00.500Z');
    expect(cronTiming('* * * * *', undefined, 'x').next(from)).toBe(at('2030-01-01T00:01:00Z'));
    expect(cronTiming('* * * * * *', undefined, 'x').next(from)).toBe(at('2030-01-01T00:00:01Z'));
    expect(cronTiming('0 5 * * * Asia/Kolkata', undefined, 'x').next(from)).toBe(at('2030-01-01T23:30:00Z'));
    expect(cronTiming('0 5 * * *', 'Asia/Kolkata', 'x').next(from)).toBe(at('2030-01-01T23:30:00Z'));
    expect(splitCronZone('*/5 * * * * *')).toEqual({ pattern: '*/5 * * * * *', timezone: undefined });
    expect(() => cronTiming('61 * * * *', undefined, 'schedule "s"')).toThrow(/schedule "s" has an invalid cron/);
    expect(() => cronTiming('0 5 * * * Europe/Paris', 'UTC', 'schedule "s"')).toThrow(/two timezones/);
  });

  it("args follow Ruby's enqueue_from_config; params always become one argument", () => {
    expect(jobArgs({ a: 1 })).toEqual([{ a: 1 }]);
    expect(jobArgs([1, 'two'])).toEqual([1, 'two']);
    expect(jobArgs(undefined)).toEqual([]);
    expect(jobArgs('x')).toEqual(['x']);
    const list = resolveSchedule('s', { every: '1m', class: 'C', queue: 'q', params: [1, 2] }, 'persistent');
    expect(list.args).toEqual([[1, 2]]);
    expect(list.config).toEqual({ every: '1m', class: 'C', queue: 'q', args: [[1, 2]] });
    // Stored and read back, the job gets the same args.
    expect(parseStoredSchedule('s', JSON.stringify(list.config)).args).toEqual([[1, 2]]);
    const hash = resolveSchedule('s', { every: ['1h', { first_in: '10s' }], class: 'C', queue: 'q', params: { a: 1 } }, 'persistent');
    expect(hash.config).toEqual({ every: ['1h', { first_in: '10s' }], class: 'C', queue: 'q', args: { a: 1 } });
    expect(hash.args).toEqual([{ a: 1 }]);
    expect(() => resolveSchedule('s', { every: '1m', class: 'C', queue: 'q', params: { f: () => 1 } }, 'static')).toThrow(/params\.f/);
    expect(() => resolveSchedule('s', { every: '1m', queue: 'q' }, 'static')).toThrow(/needs "class"/);
    expect(() => parseStoredSchedule('s', '{nope')).toThrow(/schedule "s" in persistent_schedules is not JSON/);
  });

  it('host options: explicit > environment > defaults, bad variables named', () => {
    const env = { INTERVAL: '0.25', PREFIX: 'app:', REDIS_BACKEND: 'redis://h:7000/3', VVERBOSE: '1', PIDFILE: '/tmp/s.pid' };
    expect(resolveSchedulerHostOptions({}, env)).toMatchObject({
      interval: 0.25,
      namespace: 'app',
      connection: { host: 'h', port: 7000, db: 3 },
      logLevel: 'debug',
      pidFile: '/tmp/s.pid',
    });
    expect(resolveSchedulerHostOptions({ interval: 2 }, env).interval).toBe(2);
    expect(resolveSchedulerHostOptions({}, {})).toEqual({});
    expect(() => resolveSchedulerHostOptions({}, { INTERVAL: '0' })).toThrow(/INTERVAL/);
    expect(() => resolveSchedulerHostOptions({}, { REDIS_BACKEND: 'redis://h:99999' })).toThrow(/REDIS_BACKEND/);
  });
});

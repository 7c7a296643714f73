import 'reflect-metadata';
import { hostname } from 'node:os';
import { Test, type TestingModule } from '@nestjs/testing';
import type { Redis } from 'ioredis';
import { Queue as NodeResqueQueue } from 'node-resque';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ResqueConnection } from '../lib/connection/connection.service.js';
import { Job, Perform } from '../lib/decorators/index.js';
import { ResqueEvents } from '../lib/events/events.service.js';
import type { DelayedEnqueueEvent } from '../lib/events/events.types.js';
import { decodeFailure, decodePayload, parseResqueTime, ResqueKeys } from '../lib/protocol/index.js';
import { ResqueModule } from '../lib/resque.module.js';
import { ResqueDelayedJobs } from '../lib/queue/queue.delayed.js';
import { SchedulerEngine } from '../lib/scheduler/scheduler.engine.js';
import { defaultLockTtl, SchedulerLock } from '../lib/scheduler/scheduler.lock.js';
import { promoteDue } from '../lib/scheduler/scheduler.promote.js';
import { ResqueSchedules } from '../lib/scheduler/scheduler.schedules.service.js';
import { ResqueScheduler } from '../lib/scheduler/scheduler.service.js';
import { pushDueItems, shiftTimestamps, waitFor, withSchedulerProviders } from './apps/scheduler-helpers.js';
import { dumpKeys, loadKeys, readFixture, snapshot } from './support/fixtures.js';
import { startRedis, type TestRedis } from './support/redis-server.js';

@Job('HourlyReport', { queue: 'reports', schedule: { cron: '0 0 * * * *', params: { kind: 'hourly' } } })
class HourlyReport {
  @Perform()
  perform(): void {}
}

const LOCK_KEY = 'resque:resque:resque_scheduler_master_lock';
const nowSeconds = (): number => Math.floor(Date.now() / 1000);

describe('scheduler', () => {
  let redis: TestRedis;
  let client: Redis;
  let app: TestingModule;
  let scheduler: ResqueScheduler;
  const connections: ResqueConnection[] = [];

  /** A scheduler engine on its own connection (a separate client, as a separate process would have). */
  function engine(owner: string, options: ConstructorParameters<typeof SchedulerEngine>[1] = {}): SchedulerEngine {
    const connection = ResqueConnection.create(redis.url, 'resque', { logger: false });
    connections.push(connection);
    return new SchedulerEngine(connection, { owner, interval: 0.05, ...options });
  }

  beforeAll(async () => {
    redis = await startRedis();
    client = redis.client();
    app = await Test.createTestingModule({
      imports: [
        withSchedulerProviders(
          ResqueModule.forRoot({
            connection: redis.url,
            logger: false,
            schedules: { nightly: { cron: '0 0 3 * * *', class: 'Nightly', queue: 'low', args: { a: 1 } } },
          }),
        ),
      ],
      providers: [HourlyReport],
    }).compile();
    await app.init();
    scheduler = app.get(ResqueScheduler);
  });

  afterAll(async () => {
    await app?.close();
    await Promise.all(connections.map((c) => c.close()));
    await redis?.stop();
  });

  beforeEach(async () => {
    await client.flushall();
  });

  describe('18: promotes delayed items written by php, Ruby and node-resque, leaving no residue', () => {
    it('php-delayed items become our payloads with args [hash], fresh id and queue_time', async () => {
      const php = readFixture('php-delayed');
      const past = nowSeconds() - 10;
      await loadKeys(client, shiftTimestamps(php.keys, { '1795730545': past, '1893456000': past - 1 }));
      const seen: DelayedEnqueueEvent[] = [];
      const sub = app.get(ResqueEvents).beforeDelayedEnqueue$.subscribe((e) => seen.push(e));
      const result = await scheduler.runOnce();
      sub.unsubscribe();
      expect(result).toMatchObject({ leader: true, promoted: 2 });
      const keys = await dumpKeys(client);
      expect(Object.keys(keys).sort()).toEqual(Object.keys(readFixture('php-delayed-moved').keys).sort());
      const jobs = (keys['resque:queue:default']!.value as string[]).map(decodePayload);
      // Same shape as php's own pass (php-delayed-moved): class, args [hash], id, queue_time.
      const moved = readFixture('php-delayed-moved');
      const phpMoved = JSON.parse((moved.keys['resque:queue:default']!.value as string[])[0]!) as Record<string, unknown>;
      for (const job of jobs) {
        expect(Object.keys(job.payload)).toEqual(Object.keys(phpMoved));
        expect(job.id).toMatch(/^[0-9a-f]{32}$/);
        expect(typeof job.queueTime).toBe('number');
      }
      expect(jobs.map((j) => j.params)).toEqual([
        { name: 'x', path: 'a/b', uni: 'café', n: 1, list: [1, 2] },
        { name: 'in-an-hour' },
      ]);
      expect(seen.map((e) => [e.queue, e.className, e.args])).toEqual(jobs.map((j) => ['default', 'PhpEcho', j.args]));
    });

    it('ruby-delayed items (hash and splat) move with their args as stored and their timestamps: index removed', async () => {
      const ruby = readFixture('ruby-delayed');
      const past = nowSeconds() - 5;
      await loadKeys(client, shiftTimestamps(ruby.keys, { '1795730547': past, '1893456000': past - 3 }));
      expect(await scheduler.runOnce()).toMatchObject({ leader: true, promoted: 3 });
      const keys = await dumpKeys(client);
      expect(Object.keys(keys).sort()).toEqual(['resque:queue:default', 'resque:queues']);
      const jobs = (keys['resque:queue:default']!.value as string[]).map(decodePayload);
      expect(jobs.map((j) => [j.className, j.args])).toEqual([
        ['RubyEcho', [{ name: 'x', path: 'a/b', uni: 'café' }]],
        ['RubyEcho', [1, 'two', { three: 3 }]],
        ['RubyEcho', [{ name: 'x', path: 'a/b', uni: 'café' }]],
      ]);
      // Exactly the keys Ruby's own --once pass leaves (ruby-delayed-moved): the lock is released too.
      expect(Object.keys(keys).sort()).toEqual(Object.keys(readFixture('ruby-delayed-moved').keys).sort());
    });

    it('node-resque items ({"class","queue","args"}, written by node-resque itself) move too', async () => {
      const queue = new NodeResqueQueue({ connection: { host: redis.host, port: redis.port, namespace: 'resque' } });
      await queue.connect();
      try {
        await queue.enqueueAt(Date.now() - 4000, 'nq', 'NodeJob', [{ a: 1 }, 2]);
        await queue.enqueueAt(Date.now() - 3000, 'nq', 'NodeJob', ['x']);
      } finally {
        await queue.end();
      }
      const written = await dumpKeys(client);
      expect(Object.keys(written).some((k) => k.startsWith('resque:timestamps:{"class":"NodeJob","queue":"nq"'))).toBe(true);
      await client.del('resque:connection_test_key'); // node-resque's connect probe, not scheduler data
      expect(await scheduler.runOnce()).toMatchObject({ promoted: 2 });
      const keys = await dumpKeys(client);
      expect(Object.keys(keys).sort()).toEqual(['resque:queue:nq', 'resque:queues']);
      const jobs = (keys['resque:queue:nq']!.value as string[]).map(decodePayload);
      expect(jobs.map((j) => j.args)).toEqual([[{ a: 1 }, 2], ['x']]);
    });

    it('an unreadable item goes to the failed list with the reason, not lost and not looping', async () => {
      const ts = nowSeconds() - 2;
      await client.rpush(`resque:delayed:${ts}`, 'not json', '{"class":"C","args":[1]}', '{"class":"C","args":[{"a":1}],"queue":"q"}');
      await client.zadd('resque:delayed_queue_schedule', ts, String(ts));
      expect(await scheduler.runOnce()).toMatchObject({ promoted: 1 });
      const failed = (await client.lrange('resque:failed', 0, -1)).map((raw) => decodeFailure(raw)!);
      expect(failed.map((f) => f.exception)).toEqual(['PayloadDecodeError', 'PayloadDecodeError']);
      expect(failed[0]!.payload).toBe('not json');
      expect(failed[1]!.error).toMatch(/no "queue"/);
      expect(await client.exists(`resque:delayed:${ts}`, 'resque:delayed_queue_schedule')).toBe(0);
      expect(await client.llen('resque:queue:q')).toBe(1);
    });

    it('future items stay; our own enqueueAt items are promoted once due', async () => {
      const delayed = app.get(ResqueDelayedJobs);
      await delayed.enqueueAt(nowSeconds() + 3600, 'q', 'Later', { a: 1 });
      await client.rpush(`resque:delayed:${nowSeconds() - 1}`, '{"class":"Now","args":[{"b":2}],"queue":"q"}');
      await client.zadd('resque:delayed_queue_schedule', nowSeconds() - 1, String(nowSeconds() - 1));
      expect(await scheduler.runOnce()).toMatchObject({ promoted: 1 });
      expect(await delayed.delayedQueueScheduleSize()).toBe(1);
      expect((await client.lrange('resque:queue:q', 0, -1)).map((r) => decodePayload(r).className)).toEqual(['Now']);
    });
  });

  describe('22: master lock (Ruby key and host:pid value)', () => {
    it('while a Ruby scheduler holds the lock we do not drain, and our release never deletes its lock', async () => {
      await client.set(LOCK_KEY, 'otherhost:123', 'EX', 180);
      await pushDueItems(client, 'resque', 10, nowSeconds() - 5);
      const ours = engine(`${hostname()}:${process.pid}`);
      expect(await ours.runOnce()).toEqual({ leader: false, promoted: 0, fired: 0 });
      await ours.stop();
      expect(await client.get(LOCK_KEY)).toBe('otherhost:123');
      expect(await client.llen('resque:queue:bulk')).toBe(0);
      // Ruby's lock expired: now we lead and drain.
      await client.del(LOCK_KEY);
      expect(await ours.runOnce()).toMatchObject({ leader: true, promoted: 10 });
      await ours.stop();
      expect(await client.exists(LOCK_KEY)).toBe(0);
    });

    it('while we hold it (host:pid, short ttl) another scheduler of ours does not drain; losing it stops us', async () => {
      const a = engine('hostA:1');
      const b = engine('hostB:2');
      expect((await a.runOnce()).leader).toBe(true);
      expect(await client.get(LOCK_KEY)).toBe('hostA:1');
      const ttl = await client.ttl(LOCK_KEY);
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(10);
      await pushDueItems(client, 'resque', 5, nowSeconds() - 5);
      expect(await b.runOnce()).toEqual({ leader: false, promoted: 0, fired: 0 });
      expect(await client.llen('resque:queue:bulk')).toBe(0);
      await b.stop(); // not the owner: the lock stays
      expect(await client.get(LOCK_KEY)).toBe('hostA:1');
      // The lock moves to someone else (expiry + takeover): A's fenced scripts refuse, A stands down.
      await client.set(LOCK_KEY, 'hostC:3', 'EX', 180);
      expect(await a.runOnce()).toEqual({ leader: false, promoted: 0, fired: 0 });
      expect(a.isLeader).toBe(false);
      expect(await client.llen('resque:queue:bulk')).toBe(0);
      await client.del(LOCK_KEY);
      expect(await a.runOnce()).toMatchObject({ leader: true, promoted: 5 });
      await a.stop();
      expect(await client.exists(LOCK_KEY)).toBe(0);
    });

    it("the default owner is Ruby's host:pid; the ttl is 10 s (3 intervals when longer, at most Ruby's 180 s)", async () => {
      const lock = new SchedulerLock(client, new ResqueKeys().schedulerLock());
      expect(lock.key).toBe(LOCK_KEY);
      expect(await lock.acquire()).toBe(true);
      expect(await client.get(LOCK_KEY)).toBe(`${hostname()}:${process.pid}`);
      const ttl = await client.ttl(LOCK_KEY);
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(10);
      expect(await lock.release()).toBe(true);
      expect(await lock.release()).toBe(false);
      expect(() => new SchedulerLock(client, LOCK_KEY, 'x:1', 181)).toThrow(/lockTtl/);
      expect([0.1, 1, 4, 5, 59, 60, 100].map(defaultLockTtl)).toEqual([10, 10, 12, 15, 177, 180, 180]);
      expect(() => engine('x:1', { interval: 5, lockTtl: 5 })).toThrow(/lockTtl \(5 s\) must be longer than interval \(5 s\)/);
    });

    it("a Ruby scheduler (its Resilient lock scripts, verbatim) respects our short-ttl lock and takes it once it expires", async () => {
      // resque-scheduler 5.0 lib/resque/scheduler/lock/resilient.rb, with its default timeout (180) inlined.
      const rubyAcquire = `if redis.call('SETNX', KEYS[1], ARGV[1]) == 1
then
  redis.call('EXPIRE', KEYS[1], 180)
  return 1
else
  return 0
end`;
      const rubyLocked = `if redis.call('GET', KEYS[1]) == ARGV[1]
then
  redis.call('EXPIRE', KEYS[1], 180)
  if redis.call('GET', KEYS[1]) == ARGV[1]
  then
    return 1
  end
end
return 0`;
      const rubyMaster = async (): Promise<boolean> =>
        (await client.eval(rubyAcquire, 1, LOCK_KEY, 'rubyhost:9')) === 1 || (await client.eval(rubyLocked, 1, LOCK_KEY, 'rubyhost:9')) === 1;
      const ours = engine('hostA:1', { lockTtl: 1 });
      expect((await ours.runOnce()).leader).toBe(true);
      expect(await rubyMaster()).toBe(false); // Ruby only compares the value: it does not extend ours either
      expect(await client.get(LOCK_KEY)).toBe('hostA:1');
      expect(await client.pttl(LOCK_KEY)).toBeLessThanOrEqual(1000);
      // Our master dies (no more refreshes): the key expires and Ruby's next master? check takes it.
      await waitFor(async () => (await client.exists(LOCK_KEY)) === 0, 'our lock to expire');
      expect(await rubyMaster()).toBe(true);
      expect(await client.ttl(LOCK_KEY)).toBeGreaterThan(170);
      expect((await ours.runOnce()).leader).toBe(false); // and Ruby's 180 s lock keeps us out
      await ours.stop();
      expect(await client.get(LOCK_KEY)).toBe('rubyhost:9');
    });

    it('every promotion batch extends the lock, so a long promotion never lets a short ttl lapse', async () => {
      await pushDueItems(client, 'resque', 30, nowSeconds() - 5);
      await client.set(LOCK_KEY, 'hostA:1', 'EX', 2);
      const keys = new ResqueKeys();
      let batches = 0;
      const result = await promoteDue(client, keys, {
        now: nowSeconds(),
        owner: 'hostA:1',
        lockKey: LOCK_KEY,
        lockTtl: 60,
        batchSize: 10,
        failureWorker: 'hostA:1:scheduler',
        onPromoted: async () => {
          if (++batches % 10 === 1) expect(await client.ttl(LOCK_KEY)).toBeGreaterThan(2);
        },
      });
      expect(result).toEqual({ moved: 30, failed: 0, lockLost: false });
      expect(await client.ttl(LOCK_KEY)).toBeGreaterThan(50);
      // Someone else's lock is neither used nor extended.
      await pushDueItems(client, 'resque', 5, nowSeconds() - 5);
      await client.set(LOCK_KEY, 'hostB:2', 'EX', 2);
      const refused = await promoteDue(client, keys, { now: nowSeconds(), owner: 'hostA:1', lockKey: LOCK_KEY, lockTtl: 60, batchSize: 10, failureWorker: 'x' });
      expect(refused).toEqual({ moved: 0, failed: 0, lockLost: true });
      expect(await client.ttl(LOCK_KEY)).toBeLessThanOrEqual(2);
    });
  });

  it('two schedulers that both believe they lead still promote 5,000 due jobs exactly once (atomic moves)', async () => {
    await pushDueItems(client, 'resque', 5000, nowSeconds() - 10);
    // Same owner value on two connections: both pass the lock check, so only the scripts keep it exact.
    const a = engine('same:1', { batchSize: 100 });
    const b = engine('same:1', { batchSize: 100 });
    const [ra, rb] = await Promise.all([a.runOnce(), b.runOnce()]);
    expect(ra.promoted + rb.promoted).toBe(5000);
    const ns = (await client.lrange('resque:queue:bulk', 0, -1)).map((raw) => (decodePayload(raw).params as { n: number }).n);
    expect(ns).toHaveLength(5000);
    expect(new Set(ns).size).toBe(5000);
    expect(await client.exists('resque:delayed_queue_schedule')).toBe(0);
    await a.stop();
  });

  describe('recurring schedules', () => {
    it("set() stores Ruby's persistent_schedules/schedules_changed format byte for byte (ruby-schedule-persistent)", async () => {
      const fixture = readFixture('ruby-schedule-persistent');
      const schedules = app.get(ResqueSchedules);
      const stored = await schedules.set('every_minute', {
        cron: '* * * * *',
        class: 'RubyEcho',
        queue: 'default',
        args: { a: 1 },
        persist: true,
      });
      expect(stored).toEqual({ cron: '* * * * *', class: 'RubyEcho', queue: 'default', args: { a: 1 } });
      expect(await dumpKeys(client)).toEqual(fixture.keys);
      const list = await schedules.list();
      expect(list.map((s) => [s.name, s.source])).toEqual([
        ['nightly', 'static'],
        ['HourlyReport', 'static'],
        ['every_minute', 'persistent'],
      ]);
      expect(await schedules.remove('every_minute')).toBe(true);
      expect(await schedules.remove('every_minute')).toBe(false);
      expect(await client.exists('resque:persistent_schedules')).toBe(0);
      await expect(schedules.set('bad', { cron: 'nope', class: 'C', queue: 'q' })).rejects.toThrow(/schedule "bad" has an invalid cron/);
      await expect(schedules.set('bad', { every: '5x', class: 'C', queue: 'q' })).rejects.toThrow(/every must be a duration/);
      await expect(schedules.set('bad', { cron: '* * * * *', class: 'C' })).rejects.toThrow(/needs a "queue"/);
      await expect(schedules.set('bad', { cron: '* * * * *', every: '1s', class: 'C', queue: 'q' })).rejects.toThrow(/exactly one/);
      await expect(schedules.set('bad', { cron: '* * * * *', class: 'C', queue: 'q', timezone: 'Mars/Base' })).rejects.toThrow(/unknown timezone/);
      expect(await client.exists('resque:persistent_schedules')).toBe(0);
    });

    it('static schedules come from module options and @Job({ schedule }); timezones follow rufus', async () => {
      const statics = scheduler.staticSchedules();
      expect(statics.map((s) => [s.name, s.className, s.queue, s.args])).toEqual([
        ['nightly', 'Nightly', 'low', [{ a: 1 }]],
        ['HourlyReport', 'HourlyReport', 'reports', [{ kind: 'hourly' }]],
      ]);
      const stored = await app.get(ResqueSchedules).set('paris', { cron: '0 0 5 * * *', job: HourlyReport, timezone: 'Europe/Paris' });
      expect(stored).toEqual({ cron: '0 0 5 * * * Europe/Paris', class: 'HourlyReport', queue: 'reports' });
    });

    it('a fired schedule pushes [args] with our id/queue_time and records last_enqueued_at (Time#to_s)', async () => {
      await app.get(ResqueSchedules).set('tick', { every: '1s', class: 'RubyEcho', queue: 'default', args: { a: 1 } });
      const a = engine('fire:1', { interval: 0.05 });
      await a.start();
      await waitFor(async () => (await client.llen('resque:queue:default')) >= 1, 'the first firing');
      await a.stop();
      const [raw] = await client.lrange('resque:queue:default', 0, 0);
      const job = decodePayload(raw!);
      expect(Object.keys(job.payload)).toEqual(['class', 'args', 'id', 'queue_time']);
      expect(job.args).toEqual([{ a: 1 }]);
      const last = await client.hget('resque:delayed:last_enqueued_at', 'tick');
      expect(last).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+0000$/);
      // Same format as Ruby's (ruby-schedule-persistent, "fired" snapshot).
      const rubyLast = (snapshot(readFixture('ruby-schedule-persistent'), 'fired')['resque:delayed:last_enqueued_at']!.value as Record<string, string>)['every_minute']!;
      expect(last!.length).toBe(rubyLast.length);
    });

    it('a 6-field every-second cron fires exactly once per tick with three schedulers running', async () => {
      await app.get(ResqueSchedules).set('per-second', { cron: '* * * * * *', class: 'Tick', queue: 'ticks' });
      const engines = [engine('three:1'), engine('three:2'), engine('three:3')];
      const seen = new Set<string>();
      const watch = (async () => {
        const until = Date.now() + 3200;
        while (Date.now() < until) {
          const last = await client.hget('resque:delayed:last_enqueued_at', 'per-second');
          if (last) seen.add(last);
          await new Promise((r) => setTimeout(r, 25));
        }
      })();
      await Promise.all(engines.map((e) => e.start()));
      await watch;
      await Promise.all(engines.map((e) => e.stop()));
      const last = await client.hget('resque:delayed:last_enqueued_at', 'per-second');
      if (last) seen.add(last);
      const jobs = await client.lrange('resque:queue:ticks', 0, -1);
      const ticks = [...seen].map((s) => parseResqueTime(s)!.getTime()).sort((x, y) => x - y);
      expect(jobs.length).toBeGreaterThanOrEqual(2);
      // One job per tick, consecutive seconds, no tick twice and none skipped.
      expect(jobs.length).toBe(ticks.length);
      for (let i = 1; i < ticks.length; i++) expect(ticks[i]! - ticks[i - 1]!).toBe(1000);
      expect(new Set(jobs.map((j) => decodePayload(j).id)).size).toBe(jobs.length);
    });

    it('a tick fired by one leader is not fired again by the next one (per-tick guard)', async () => {
      await app.get(ResqueSchedules).set('guarded', { every: '1h', class: 'G', queue: 'g' });
      const hourAgo = Date.now() - 3_600_000 - 5_000;
      await client.hset('resque:scheduler_last_tick', 'guarded', String(Math.floor(hourAgo / 3_600_000) * 3_600_000));
      // Opt in to catch-up so both leaders consider the same missed tick due.
      await app.get(ResqueSchedules).set('guarded', { every: '1h', class: 'G', queue: 'g', catchUp: true });
      const a = engine('guard:1');
      expect(await a.runOnce()).toMatchObject({ leader: true, fired: 1 });
      await client.del(LOCK_KEY); // a's lock expires; b takes over and sees the same tick
      const b = engine('guard:2');
      expect(await b.runOnce()).toMatchObject({ leader: true, fired: 0 });
      expect(await client.llen('resque:queue:g')).toBe(1);
      await b.stop();
    });

    it('missed ticks are not replayed unless catchUp, which fires once', async () => {
      const schedules = app.get(ResqueSchedules);
      await schedules.set('hourly', { every: '1h', class: 'H', queue: 'h' });
      await schedules.set('hourly-catch', { every: '1h', class: 'HC', queue: 'hc', catchUp: true });
      const fiveHoursAgo = Math.floor((Date.now() - 5 * 3_600_000) / 3_600_000) * 3_600_000;
      await client.hset('resque:scheduler_last_tick', 'hourly', String(fiveHoursAgo), 'hourly-catch', String(fiveHoursAgo));
      const a = engine('miss:1');
      expect(await a.runOnce()).toMatchObject({ fired: 1 });
      expect(await a.runOnce()).toMatchObject({ fired: 0 });
      await a.stop();
      expect(await client.llen('resque:queue:h')).toBe(0);
      expect(await client.llen('resque:queue:hc')).toBe(1);
    });

    it('reads schedules Ruby stored (ruby-schedule-persistent) and computes its next minute', async () => {
      const fixture = readFixture('ruby-schedule-persistent');
      await loadKeys(client, fixture.keys);
      const list = await app.get(ResqueSchedules).list();
      expect(list.find((s) => s.name === 'every_minute')!.config).toEqual({ cron: '* * * * *', class: 'RubyEcho', queue: 'default', args: { a: 1 } });
      const a = engine('ruby:1');
      expect(await a.runOnce()).toMatchObject({ leader: true, fired: 0 }); // next minute, not now
      await a.stop();
    });
  });
});

import 'reflect-metadata';
import { Test, type TestingModule } from '@nestjs/testing';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Job, Perform } from '../lib/decorators/index.js';
import { DoNotScheduleError } from '../lib/events/events.errors.js';
import { ResqueEvents } from '../lib/events/events.service.js';
import type { ScheduleEvent } from '../lib/events/events.types.js';
import { decodePayload } from '../lib/protocol/index.js';
import { decodeDelayedItem } from '../lib/protocol/protocol.delayed.js';
import { ResqueModule } from '../lib/resque.module.js';
import { ResqueDelayedJobs } from '../lib/queue/queue.delayed.js';
import { dumpKeys, loadKeys, readFixture } from './support/fixtures.js';
import { startRedis, type TestRedis } from './support/redis-server.js';

@Job('DelayedReport', { queue: 'reports' })
class DelayedReport {
  @Perform()
  perform(): void {}
}

const TS = 1893456000; // 2030-01-01T00:00:00Z, the fixtures' timestamp
const rubyHash = { name: 'x', path: 'a/b', uni: 'café' };
const phpHash = { name: 'x', path: 'a/b', uni: 'café', n: 1, list: [1, 2] };

/** php's json_encode escaping undone: `\/` → `/`, `\u00e9` → `é`. */
function unescapePhp(raw: string): string {
  return raw.replace(/\\\//g, '/').replace(/\\u([0-9a-f]{4})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

describe('delayed jobs (resque-scheduler layout)', () => {
  let redis: TestRedis;
  let client: Redis;
  let app: TestingModule;
  let delayed: ResqueDelayedJobs;
  let events: ResqueEvents;

  beforeAll(async () => {
    redis = await startRedis();
    client = redis.client();
    app = await Test.createTestingModule({
      imports: [ResqueModule.forRoot({ connection: redis.url, logger: false })],
      providers: [DelayedReport],
    }).compile();
    await app.init();
    delayed = app.get(ResqueDelayedJobs);
    events = app.get(ResqueEvents);
  });

  afterAll(async () => {
    await app?.close();
    await redis?.stop();
  });

  beforeEach(async () => {
    await client.flushall();
  });

  it('17: enqueueAt writes RPUSH delayed:<ts>, ZADD ts ts and SADD timestamps:<item> delayed:<ts>, and nothing else', async () => {
    expect(await delayed.enqueueAt(TS, 'q', 'C', { a: 1 })).toBe(true);
    const item = '{"class":"C","args":[{"a":1}],"queue":"q"}';
    expect(await dumpKeys(client)).toEqual({
      [`resque:delayed:${TS}`]: { type: 'list', value: [item], ttl: -1 },
      'resque:delayed_queue_schedule': { type: 'zset', value: [[String(TS), TS]], ttl: -1 },
      [`resque:timestamps:${item}`]: { type: 'set', value: [`delayed:${TS}`], ttl: -1 },
    });
    // A Date gives the same second; enqueueIn lands at now + seconds.
    await delayed.enqueueAt(new Date(TS * 1000 + 999), 'q', 'C', { a: 1 });
    expect(await client.lrange(`resque:delayed:${TS}`, 0, -1)).toEqual([item, item]);
    const before = Math.floor(Date.now() / 1000);
    await delayed.enqueueIn(3600, 'q', 'C', { a: 1 });
    const at = await client.zrange('resque:delayed_queue_schedule', '0', '0');
    expect(Number(at[0])).toBeGreaterThanOrEqual(before + 3600);
    expect(Number(at[0])).toBeLessThanOrEqual(Math.floor(Date.now() / 1000) + 3600);
  });

  it("19: our item is byte-identical to Ruby's (ruby-delayed) and to php's modulo escaping (php-delayed)", async () => {
    const ruby = readFixture('ruby-delayed');
    const php = readFixture('php-delayed');
    await delayed.enqueueAt(TS, 'default', 'RubyEcho', rubyHash);
    await delayed.enqueueAt(TS, 'default', 'PhpEcho', phpHash);
    const ours = await client.lrange(`resque:delayed:${TS}`, 0, -1);
    const rubyItem = (ruby.keys[`resque:delayed:${TS}`]!.value as string[])[0]!;
    const phpItem = (php.keys[`resque:delayed:${TS}`]!.value as string[])[0]!;
    expect(ours[0]).toBe(rubyItem);
    expect(phpItem).toContain('a\\/b'); // the fixture really is escaped
    expect(ours[1]).toBe(unescapePhp(phpItem));
    // The index key and member are Ruby's exactly, so Ruby's remove_delayed/scheduled_at find our item.
    const rubyIndexKey = Object.keys(ruby.keys).find((k) => k.startsWith('resque:timestamps:') && k.includes('"uni"'))!;
    expect(await client.smembers(rubyIndexKey)).toEqual([`delayed:${TS}`]);
    // What Ruby's and php's schedulers do with it: args[0] is the hash for both.
    for (const raw of ours) expect(decodeDelayedItem(raw).args).toHaveLength(1);
  });

  it('a time already past enqueues at once through the normal path; nothing delayed is left', async () => {
    expect(await delayed.enqueueAt(1000, 'q', 'C', { a: 1 })).toBe(true);
    expect(await delayed.enqueueIn(0, 'q', 'C', { b: 2 })).toBe(true);
    const jobs = (await client.lrange('resque:queue:q', 0, -1)).map(decodePayload);
    expect(jobs.map((j) => j.params)).toEqual([{ a: 1 }, { b: 2 }]);
    for (const job of jobs) expect(job.id).toMatch(/^[0-9a-f]{32}$/);
    expect(await client.smembers('resque:queues')).toEqual(['q']);
    expect(await client.exists('resque:delayed_queue_schedule')).toBe(0);
  });

  it('rejects bad arguments with errors naming them and writes nothing', async () => {
    await expect(delayed.enqueueAt(new Date('nope'), 'q', 'C')).rejects.toThrow(TypeError);
    await expect(delayed.enqueueAt(new Date('nope'), 'q', 'C')).rejects.toThrow(/when/);
    await expect(delayed.enqueueAt(Number.NaN, 'q', 'C')).rejects.toThrow(RangeError);
    await expect(delayed.enqueueAt(-5, 'q', 'C')).rejects.toThrow(/when must not be negative/);
    await expect(delayed.enqueueAt('2030' as unknown as number, 'q', 'C')).rejects.toThrow(/when must be a Date/);
    await expect(delayed.enqueueIn(-1, 'q', 'C')).rejects.toThrow(/seconds must not be negative/);
    await expect(delayed.enqueueIn(Number.POSITIVE_INFINITY, 'q', 'C')).rejects.toThrow(/seconds must be a finite/);
    await expect(delayed.enqueueIn(10, '', 'C')).rejects.toThrow(/queue/);
    await expect(delayed.enqueueIn(10, 'q', '')).rejects.toThrow(/job/);
    await expect(delayed.enqueueIn(10, 'q', 'C', { f: () => 1 })).rejects.toThrow(/params\.f/);
    await expect(delayed.enqueueIn(10, 'q', 'C', { n: 10n })).rejects.toThrow(TypeError);
    await expect(delayed.enqueueIn(10, 'q', class NotAJob {})).rejects.toThrow(/class NotAJob has no @Job/);
    expect(await client.dbsize()).toBe(0);
  });

  it('a @Job class is scheduled under its job name', async () => {
    await delayed.enqueueAt(TS, 'reports', DelayedReport, { day: 1 });
    expect(await client.lrange(`resque:delayed:${TS}`, 0, -1)).toEqual(['{"class":"DelayedReport","args":[{"day":1}],"queue":"reports"}']);
    expect(await delayed.removeDelayed('reports', DelayedReport, { day: 1 })).toBe(1);
  });

  it('beforeSchedule can veto (nothing written); afterSchedule gets at, queue, class and args', async () => {
    const seen: ScheduleEvent[] = [];
    const sub = events.afterSchedule$.subscribe((e) => seen.push(e));
    const stop = events.listen('beforeSchedule', (e) => {
      if (e.className === 'Vetoed' || e.queue === 'nope') throw new DoNotScheduleError();
    });
    try {
      expect(await delayed.enqueueAt(TS, 'q', 'Vetoed', { a: 1 })).toBe(false);
      expect(await delayed.enqueueAt(TS, 'nope', 'C', { a: 1 })).toBe(false);
      expect(await client.dbsize()).toBe(0);
      expect(await delayed.enqueueAt(TS, 'q', 'C', { a: 1 })).toBe(true);
      expect(seen).toEqual([{ at: TS, queue: 'q', className: 'C', args: [{ a: 1 }], params: { a: 1 } }]);
    } finally {
      stop();
      sub.unsubscribe();
    }
  });

  it('20: removeDelayed removes php (escaped, unindexed) items and ours with exact counts and full cleanup', async () => {
    const php = readFixture('php-delayed');
    await loadKeys(client, php.keys);
    await delayed.enqueueAt(TS, 'default', 'PhpEcho', phpHash); // ours, same job, beside php's
    await delayed.enqueueAt(TS + 60, 'default', 'PhpEcho', { other: true });
    expect(await delayed.removeDelayed('default', 'PhpEcho', { ...phpHash, n: 2 })).toBe(0);
    expect(await delayed.removeDelayed('default', 'Other', phpHash)).toBe(0);
    expect(await delayed.removeDelayed('elsewhere', 'PhpEcho', phpHash)).toBe(0);
    expect(await delayed.removeDelayed('default', 'PhpEcho', phpHash)).toBe(2);
    const keys = await dumpKeys(client);
    expect(Object.keys(keys).sort()).toEqual([
      'resque:delayed:1795730545',
      `resque:delayed:${TS + 60}`,
      'resque:delayed_queue_schedule',
      `resque:timestamps:{"class":"PhpEcho","args":[{"other":true}],"queue":"default"}`,
    ]);
    expect(keys['resque:delayed_queue_schedule']!.value).toEqual([
      ['1795730545', 1795730545],
      [String(TS + 60), TS + 60],
    ]);
    expect(await delayed.removeDelayed('default', 'PhpEcho', { name: 'in-an-hour' })).toBe(1);
    expect(await delayed.removeDelayed('default', 'PhpEcho', { other: true })).toBe(1);
    expect(await client.dbsize()).toBe(0);
  });

  it('20: removeDelayed on Ruby items uses the index (both timestamps) and keeps the splat item', async () => {
    const ruby = readFixture('ruby-delayed');
    await loadKeys(client, ruby.keys);
    expect(await delayed.removeDelayed('default', 'RubyEcho', rubyHash)).toBe(2);
    const splat = '{"class":"RubyEcho","args":[1,"two",{"three":3}],"queue":"default"}';
    expect(await dumpKeys(client)).toEqual({
      [`resque:delayed:${TS}`]: { type: 'list', value: [splat], ttl: -1 },
      'resque:delayed_queue_schedule': { type: 'zset', value: [[String(TS), TS]], ttl: -1 },
      [`resque:timestamps:${splat}`]: { type: 'set', value: [`delayed:${TS}`], ttl: -1 },
    });
  });

  it('20: removeDelayedJobFromTimestamp removes only that second, for php, Ruby and our items', async () => {
    await loadKeys(client, readFixture('ruby-delayed').keys);
    // The same Ruby job sits at two timestamps: remove one.
    expect(await delayed.removeDelayedJobFromTimestamp(1795730547, 'default', 'RubyEcho', rubyHash)).toBe(1);
    const index = `resque:timestamps:{"class":"RubyEcho","args":[{"name":"x","path":"a/b","uni":"café"}],"queue":"default"}`;
    expect(await client.smembers(index)).toEqual([`delayed:${TS}`]);
    expect(await client.exists('resque:delayed:1795730547')).toBe(0);
    expect(await client.zrange('resque:delayed_queue_schedule', '0', '-1')).toEqual([String(TS)]);
    expect(await delayed.removeDelayedJobFromTimestamp(new Date(TS * 1000), 'default', 'RubyEcho', rubyHash)).toBe(1);
    expect(await client.exists(index)).toBe(0);
    expect(await client.llen(`resque:delayed:${TS}`)).toBe(1); // the splat item stays

    await client.flushall();
    await loadKeys(client, readFixture('php-delayed').keys);
    await delayed.enqueueAt(TS, 'default', 'PhpEcho', phpHash);
    await delayed.enqueueAt(TS, 'default', 'PhpEcho', phpHash);
    expect(await delayed.removeDelayedJobFromTimestamp(TS - 1, 'default', 'PhpEcho', phpHash)).toBe(0);
    expect(await delayed.removeDelayedJobFromTimestamp(TS, 'default', 'PhpEcho', phpHash)).toBe(3); // php's + our two
    expect(await delayed.removeDelayedJobFromTimestamp(1795730545, 'default', 'PhpEcho', { name: 'in-an-hour' })).toBe(1);
    expect(await client.dbsize()).toBe(0);
  });

  it('no params matches every peer spelling of "no args"', async () => {
    await client.rpush(`resque:delayed:${TS}`, '{"class":"C","args":[[]],"queue":"q"}', '{"class":"C","args":[],"queue":"q"}');
    await client.zadd('resque:delayed_queue_schedule', TS, String(TS));
    await delayed.enqueueAt(TS, 'q', 'C');
    expect(await client.lindex(`resque:delayed:${TS}`, 2)).toBe('{"class":"C","args":[null],"queue":"q"}');
    expect(await delayed.removeDelayed('q', 'C')).toBe(3);
    expect(await client.dbsize()).toBe(0);
  });

  it('21: sizes count timestamps and items; next timestamp and peek read every shape', async () => {
    await loadKeys(client, readFixture('ruby-delayed').keys);
    expect(await delayed.delayedQueueScheduleSize()).toBe(2);
    expect(await delayed.delayedTimestampSize(TS)).toBe(2);
    expect(await delayed.delayedTimestampSize(1795730547)).toBe(1);
    expect(await delayed.delayedTimestampSize(new Date(5_000))).toBe(0);
    expect(await delayed.nextDelayedTimestamp()).toBe(1795730547);
    await client.rpush(`resque:delayed:${TS}`, 'not json');
    const peek = await delayed.peekDelayed(1, 5);
    expect(peek).toHaveLength(1);
    expect(peek[0]!.at).toBe(TS);
    expect(peek[0]!.items.map((i) => ('unreadable' in i ? 'unreadable' : i.args))).toEqual([[rubyHash], [1, 'two', { three: 3 }], 'unreadable']);
    expect(await delayed.scheduledAt('default', 'RubyEcho', rubyHash)).toEqual([1795730547, TS]);
    await client.flushall();
    expect(await delayed.delayedQueueScheduleSize()).toBe(0);
    expect(await delayed.nextDelayedTimestamp()).toBeNull();
    await expect(delayed.peekDelayed(-1)).rejects.toThrow(/start/);
  });
});

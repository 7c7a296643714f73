import { Module } from '@nestjs/common';
import type { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { JobStatus, ResqueConnection, ResqueModule, ResqueQueue, type DecodedJob, type PeekedJob } from '../lib/index.js';
import { PhpEchoJob, PlainClass, RemoteOnlyJob } from './apps/surface-jobs.js';
import { dumpKeys, loadKeys, readFixture, snapshot } from './support/fixtures.js';
import { startRedis, type TestRedis } from './support/redis-server.js';

let redis: TestRedis;
let app: INestApplicationContext;
let queue: ResqueQueue;
let raw: Redis;

beforeAll(async () => {
  redis = await startRedis();
  raw = redis.client();
  @Module({ imports: [ResqueModule.forRoot({ connection: redis.url })], providers: [PhpEchoJob] })
  class AppModule {}
  app = await NestFactory.createApplicationContext(AppModule, { logger: false });
  queue = app.get(ResqueQueue);
});
afterAll(async () => {
  await app?.close();
  await redis?.stop();
});
beforeEach(async () => {
  await raw.flushall();
});

const decoded = (entry: PeekedJob | undefined): DecodedJob => {
  if (!entry || 'unreadable' in entry) throw new Error(`expected a readable job, got ${JSON.stringify(entry)}`);
  return entry;
};

describe('enqueue (checklist 3 and 13)', () => {
  it('writes {"class","args":[params],"id","queue_time"} and adds the queue to queues', async () => {
    const id = await queue.enqueue('emails', 'Mailer', { to: 'a@b.c', n: 2 });
    expect(id).toMatch(/^[0-9a-f]{32}$/);
    const items = await raw.lrange('resque:queue:emails', 0, -1);
    expect(items).toHaveLength(1);
    const payload = JSON.parse(items[0]!) as Record<string, unknown>;
    expect(Object.keys(payload)).toEqual(['class', 'args', 'id', 'queue_time']);
    expect(payload).toMatchObject({ class: 'Mailer', args: [{ to: 'a@b.c', n: 2 }], id });
    expect(await raw.smembers('resque:queues')).toEqual(['emails']);
    expect(await raw.exists(`resque:job:${id}:status`)).toBe(0); // untracked: no status key
    expect(await queue.status(id as string)).toBeNull();
  });

  it('takes a @Job class (registered or not) for the class name', async () => {
    await queue.enqueue('default', PhpEchoJob, { name: 'x', path: 'a/b', uni: 'é', n: 1, list: [] });
    await queue.enqueue('remote', RemoteOnlyJob, { to: 'x' });
    expect(JSON.parse((await raw.lindex('resque:queue:default', 0))!).class).toBe('PhpEcho');
    expect(JSON.parse((await raw.lindex('resque:queue:remote', 0))!).class).toBe('RemoteOnly');
  });

  it('writes [null] when params are omitted, as php does', async () => {
    await queue.enqueue('q', 'NoArgs');
    expect(JSON.parse((await raw.lindex('resque:queue:q', 0))!).args).toEqual([null]);
  });

  it('tracked: creates the WAITING packet {"status":1,"updated":T,"started":T} without TTL', async () => {
    const id = (await queue.enqueue('q', 'Tracked', { a: 1 }, { track: true })) as string;
    const packet = await raw.get(`resque:job:${id}:status`);
    expect(packet).toMatch(/^\{"status":1,"updated":(\d+),"started":\1\}$/);
    expect(await raw.ttl(`resque:job:${id}:status`)).toBe(-1);
    const status = await queue.status(id);
    expect(status?.status).toBe(JobStatus.WAITING);
    expect(status?.result).toBeNull();
  });
});

describe('reading foreign payloads (checklist 5)', () => {
  it('peeks payloads without id, with args [], [null], [[]], [1,2] and Ruby splats', async () => {
    await loadKeys(raw, readFixture('ruby-enqueue-hash').keys);
    const key = 'resque:queue:default';
    await raw.rpush(
      key,
      '{"class":"NoArgs","args":[]}',
      '{"class":"Splat","args":[1,2]}',
      '{"class":"OnlyClass"}',
      'not json at all',
    );
    const empty = readFixture('php-enqueue-empty-args').keys[key]!.value as string[];
    const nulls = readFixture('php-enqueue-null-args').keys[key]!.value as string[];
    const splat = readFixture('ruby-enqueue-splat').keys[key]!.value as string[];
    await raw.rpush(key, ...empty, ...nulls, ...splat);

    const jobs = await queue.peek('default', 0, 100);
    expect(jobs).toHaveLength(9);
    const ruby = decoded(jobs[0]);
    expect(ruby).toMatchObject({ className: 'RubyEcho', id: null, queueTime: null, params: { name: 'x', path: 'a/b', uni: 'café' } });
    expect(decoded(jobs[1])).toMatchObject({ className: 'NoArgs', args: [], params: {}, id: null });
    expect(decoded(jobs[2])).toMatchObject({ className: 'Splat', args: [1, 2], params: 1 });
    expect(decoded(jobs[3])).toMatchObject({ className: 'OnlyClass', args: [], params: {} });
    expect(jobs[4]).toEqual({ raw: 'not json at all', unreadable: expect.stringMatching(/not valid JSON/) });
    expect(decoded(jobs[5])).toMatchObject({ className: 'PhpEcho', args: [[]], params: {}, id: '541f68379ed1fa922d78a8c9dae28aaf' });
    expect(decoded(jobs[6])).toMatchObject({ args: [null], params: {}, id: '9aba446ae8b7568753ae114602fefdec' });
    expect(decoded(jobs[8])).toMatchObject({ className: 'RubyEcho', args: [1, 'two', { three: 3 }], params: 1 });
    expect(decoded(jobs[5]).queueTime).toBeCloseTo(1795726920.261181, 5);

    // Peeking is read-only and windowed.
    expect(await queue.size('default')).toBe(9);
    expect((await queue.peek('default', 2, 2)).map((j) => decoded(j).className)).toEqual(['Splat', 'OnlyClass']);
    expect(decoded((await queue.peek('default'))[0]).className).toBe('RubyEcho');
  });

  it('reads php status packets, including one without started', async () => {
    const fixture = readFixture('php-status-complete');
    await loadKeys(raw, fixture.keys);
    expect(await queue.status('8e35ff9a0016d1fa7f25b4205be3488b')).toEqual({
      status: JobStatus.COMPLETE,
      updated: 1795726939,
      started: null,
      result: null,
      progress: null,
    });
    await loadKeys(raw, readFixture('php-enqueue-tracked').keys);
    expect(await queue.status('96402b8a278ea1aaef323f6b322ff84b')).toEqual({
      status: JobStatus.WAITING,
      updated: 1795726920,
      started: 1795726920,
      result: null,
      progress: null,
    });
    expect(await queue.status('0'.repeat(32))).toBeNull();
  });

  it("reads the php fork's prefixed status key", async () => {
    await raw.set('resque:job:x_abc:status', '{"status":2,"updated":5,"started":4,"result":null}');
    expect(await queue.status('abc', 'x')).toEqual({ status: JobStatus.RUNNING, updated: 5, started: 4, result: null, progress: null });
  });
});

describe('dequeue (checklist 25): replaying php-dequeue', () => {
  const fixture = readFixture('php-dequeue');
  const ids = fixture.returns as Record<string, string>;
  const queueKey = 'resque:queue:default';
  const listOf = (label: string) => (snapshot(fixture, label)[queueKey]?.value as string[] | undefined) ?? [];

  it('removes exactly what php removed, keeps the order of the rest and leaves no temp keys', async () => {
    await loadKeys(raw, fixture.keys);
    expect(await queue.dequeue('default', ['OtherJob'])).toBe(fixture.returns['dequeue class only']);
    expect(await raw.lrange(queueKey, 0, -1)).toEqual(listOf('after-class'));

    expect(await queue.dequeue('default', [{ PhpEcho: ids['seed 2 id']! }])).toBe(fixture.returns['dequeue class=>id']);
    expect(await raw.lrange(queueKey, 0, -1)).toEqual(listOf('after-class-id'));

    expect(await queue.dequeue('default', [{ PhpEcho: { a: 1 } }])).toBe(fixture.returns['dequeue class=>args {a:1}']);
    expect(await raw.lrange(queueKey, 0, -1)).toEqual(listOf('after-class-args-1'));

    expect(await queue.dequeue('default', [{ PhpEcho: { a: 1, b: 'x' } }])).toBe(fixture.returns['dequeue class=>args {a:1,b:x}']);
    expect(await raw.lrange(queueKey, 0, -1)).toEqual(listOf('after-class-args-2'));

    // Our one documented difference: nested values compare structurally. PHP compared [1,2] and [9] as the
    // string "Array" and removed {"list":[1,2]} (after-class-args-3); we keep it.
    expect(await queue.dequeue('default', [{ PhpEcho: { list: [9] } }])).toBe(0);
    const kept = await raw.lrange(queueKey, 0, -1);
    expect(kept).toEqual(listOf('after-class-args-2'));
    expect(listOf('after-class-args-3')).toEqual(kept.filter((item) => !item.includes('"list":[1,2]')));
    // ...while a structurally equal nested value does select it.
    expect(await queue.dequeue('default', [{ PhpEcho: { list: [1, 2] } }])).toBe(1);
    expect(await raw.lrange(queueKey, 0, -1)).toEqual(listOf('after-class-args-3'));

    expect(await queue.dequeue('default')).toBe(fixture.returns['dequeue whole queue']);
    expect(await dumpKeys(raw)).toEqual(snapshot(fixture, 'after-all'));
  });

  it('accepts several selectors at once and removes duplicates one by one', async () => {
    await loadKeys(raw, fixture.keys);
    const original = fixture.keys[queueKey]!.value as string[];
    await raw.rpush(queueKey, original[2]!); // a second identical OtherJob {a:1}
    const removed = await queue.dequeue('default', [{ OtherJob: ['1'] }, { PhpEcho: ids['seed 1 id']! }]);
    expect(removed).toBe(3); // both identical OtherJob {a:1} (PHP's loose "1" == 1) and seed 1 by id
    expect(await raw.lrange(queueKey, 0, -1)).toEqual([original[1], original[3], original[4], original[5], original[6], original[7]]);
    expect((await raw.keys('*temp*')).length).toBe(0);
  });

  it('never selects unreadable entries and an empty selector list removes nothing', async () => {
    await raw.rpush(queueKey, 'garbage', '{"class":"A","args":[{"x":1}]}');
    expect(await queue.dequeue('default', ['A'])).toBe(1);
    expect(await queue.dequeue('default', [])).toBe(0);
    expect(await raw.lrange(queueKey, 0, -1)).toEqual(['garbage']);
  });
});

describe('enqueueBulk', () => {
  it('pushes every job in order in one MULTI, with statuses for tracked ones', async () => {
    const jobs = Array.from({ length: 250 }, (_, i) => ({ job: i % 2 ? 'Odd' : PhpEchoJob, params: { i } as never }));
    const ids = await queue.enqueueBulk('bulk', jobs, { track: true });
    expect(ids).toHaveLength(250);
    expect(new Set(ids).size).toBe(250);
    const items = (await raw.lrange('resque:queue:bulk', 0, -1)).map((s) => JSON.parse(s) as Record<string, unknown>);
    expect(items.map((p) => p['id'])).toEqual(ids);
    expect(items.map((p) => (p['args'] as Array<{ i: number }>)[0]!.i)).toEqual(jobs.map((_, i) => i));
    expect(items[0]!['class']).toBe('PhpEcho');
    expect(items[1]!['class']).toBe('Odd');
    expect(Object.keys(items[7]!)).toEqual(['class', 'args', 'id', 'queue_time']);
    expect(await raw.smembers('resque:queues')).toEqual(['bulk']);
    const status = await raw.get(`resque:job:${ids[249] as string}:status`);
    expect(JSON.parse(status!)).toMatchObject({ status: 1 });
    expect(await raw.ttl(`resque:job:${ids[0] as string}:status`)).toBe(-1);
  });

  it('creates no status keys untracked, and an empty list touches nothing', async () => {
    expect(await queue.enqueueBulk('bulk', [])).toEqual([]);
    expect(await raw.dbsize()).toBe(0);
    await queue.enqueueBulk('bulk', [{ job: 'A' }, { job: 'B', params: [1, 2] }]);
    expect(await raw.keys('resque:job:*')).toEqual([]);
    const items = await raw.lrange('resque:queue:bulk', 0, -1);
    expect(items.map((s) => JSON.parse(s).args)).toEqual([[null], [[1, 2]]]);
  });
});

describe('queues, size, removeQueue', () => {
  it('lists, counts and removes queues (DEL + SREM)', async () => {
    await queue.enqueue('b', 'J', {});
    await queue.enqueue('a', 'J', {});
    await queue.enqueue('a', 'J', {});
    expect(await queue.queues()).toEqual(['a', 'b']);
    expect(await queue.size('a')).toBe(2);
    expect(await queue.size('missing')).toBe(0);
    expect(await queue.removeQueue('a')).toBe(2);
    expect(await queue.queues()).toEqual(['b']);
    expect(await raw.exists('resque:queue:a')).toBe(0);
  });

  it("dequeue without selectors deletes the list but keeps the name in queues (php's behaviour)", async () => {
    await queue.enqueue('keep', 'J', {});
    expect(await queue.dequeue('keep')).toBe(1);
    expect(await queue.queues()).toEqual(['keep']);
  });
});

describe('bad input throws before anything is written', () => {
  const cyclic: Record<string, unknown> = {};
  cyclic['self'] = cyclic;
  const cases: Array<[string, () => Promise<unknown>, ErrorConstructor, RegExp]> = [
    ['empty queue', () => queue.enqueue('', 'J', {}), RangeError, /^queue must be a non-empty/],
    ['non-string queue', () => queue.enqueue(5 as never, 'J', {}), TypeError, /^queue must be a string, got number/],
    ['queue with a comma', () => queue.enqueue('a,b', 'J', {}), RangeError, /^queue "a,b" must not contain ','/],
    ['empty job name', () => queue.enqueue('q', '', {}), RangeError, /^job must be a non-empty job name/],
    ['job that is not a string or class', () => queue.enqueue('q', { name: 'x' } as never, {}), TypeError, /^job must be a job name string/],
    ['class without @Job', () => queue.enqueue('q', PlainClass as never, {}), TypeError, /^job must be .*class PlainClass has no @Job/],
    ['function in params', () => queue.enqueue('q', 'J', { f: () => 1 }), TypeError, /^params\.f must be JSON-serialisable/],
    ['BigInt in params', () => queue.enqueue('q', 'J', { n: 1n }), TypeError, /^params\.n must be JSON-serialisable: BigInt/],
    ['cycle in params', () => queue.enqueue('q', 'J', cyclic), TypeError, /^params\.self must be JSON-serialisable: it contains a cycle/],
    ['undefined member', () => queue.enqueue('q', 'J', { a: undefined }), TypeError, /^params\.a must be JSON-serialisable/],
    ['NaN params', () => queue.enqueue('q', 'J', Number.NaN), TypeError, /^params must be JSON-serialisable/],
    ['bad track option', () => queue.enqueue('q', 'J', {}, { track: 'yes' as never }), TypeError, /^options\.track must be a boolean/],
    ['bulk not an array', () => queue.enqueueBulk('q', {} as never), TypeError, /^jobs must be an array/],
    ['bulk bad entry', () => queue.enqueueBulk('q', [{ job: 'A' }, null as never]), TypeError, /^jobs\[1\] must be an object/],
    ['bulk bad params', () => queue.enqueueBulk('q', [{ job: 'A' }, { job: 'B', params: { f: Symbol('s') } }]), TypeError, /^jobs\[1\]\.params\.f/],
    ['bulk bad class', () => queue.enqueueBulk('q', [{ job: PlainClass }]), TypeError, /^jobs\[0\]\.job must be/],
    ['selector not an array', () => queue.dequeue('q', 'J' as never), TypeError, /^selectors must be an array/],
    ['selector of the wrong shape', () => queue.dequeue('q', ['A', 3 as never]), TypeError, /^selectors\[1\] must be a class name/],
    ['selector value of the wrong shape', () => queue.dequeue('q', [{ A: 3 as never }]), TypeError, /^selectors\[0\]\.A must be a job id/],
    ['dequeue empty queue name', () => queue.dequeue(''), RangeError, /^queue must be a non-empty/],
    ['status empty id', () => queue.status(''), RangeError, /^id must be a non-empty job id/],
    ['peek negative start', () => queue.peek('q', -1), RangeError, /^start must be >= 0/],
    ['peek zero count', () => queue.peek('q', 0, 0), RangeError, /^count must be >= 1/],
    ['removeQueue non-string', () => queue.removeQueue(null as never), TypeError, /^queue must be a string, got null/],
  ];
  it.each(cases)('%s', async (_label, call, type, message) => {
    await raw.rpush('resque:queue:q', '{"class":"A","args":[{"a":1}]}');
    const before = await dumpKeys(raw);
    const error = await call().then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(type);
    expect((error as Error).message).toMatch(message);
    expect(await dumpKeys(raw)).toEqual(before);
  });

  it('a bad element late in a bulk list writes none of the earlier ones', async () => {
    const jobs = [{ job: 'A', params: {} }, { job: 'B', params: { x: () => 0 } }];
    await expect(queue.enqueueBulk('q', jobs)).rejects.toThrow(TypeError);
    expect(await raw.dbsize()).toBe(0);
  });
});

describe('without Nest', () => {
  it('new ResqueQueue(ResqueConnection.create(...)) enqueues, connecting on first use', async () => {
    const connection = ResqueConnection.create(redis.url, 'plain');
    const plain = new ResqueQueue(connection);
    try {
      const id = await plain.enqueue('q', RemoteOnlyJob, { to: 'x' }, { track: true });
      expect(JSON.parse((await raw.lindex('plain:queue:q', 0))!)).toMatchObject({ class: 'RemoteOnly', id });
      expect((await plain.status(id as string))?.status).toBe(JobStatus.WAITING);
      await expect(plain.enqueue('q', PlainClass as never)).rejects.toThrow(TypeError);
    } finally {
      await connection.close();
    }
  });

  it('its delayed methods work too (the README recipe), on a fresh connection that connects on first use', async () => {
    const connection = ResqueConnection.create(redis.url, 'plain2');
    const plain = new ResqueQueue(connection);
    try {
      expect(await plain.enqueueIn(3600, 'mail', RemoteOnlyJob, { to: 'y' })).toBe(true);
      const at = await plain.delayed.nextDelayedTimestamp();
      expect(JSON.parse((await raw.lindex(`plain2:delayed:${at}`, 0))!)).toEqual({ class: 'RemoteOnly', args: [{ to: 'y' }], queue: 'mail' });
      expect(await plain.enqueueAt(new Date(0), 'mail', RemoteOnlyJob, { to: 'z' })).toBe(true);
      expect(await plain.size('mail')).toBe(1);
      expect(await plain.removeDelayed('mail', RemoteOnlyJob, { to: 'y' })).toBe(1);
      expect(await plain.delayedQueueScheduleSize()).toBe(0);
    } finally {
      await connection.close();
    }
  });
});

describe('delayed jobs through ResqueQueue (delegated to ResqueDelayedJobs)', () => {
  it('enqueueIn schedules; enqueueAt in the past enqueues at once through enqueue', async () => {
    expect(await queue.enqueueIn(3600, 'later', PhpEchoJob, { name: 'x', path: '', uni: '', n: 1, list: [] })).toBe(true);
    expect(await queue.delayedQueueScheduleSize()).toBe(1);
    expect(await queue.size('later')).toBe(0);
    expect(await queue.enqueueAt(1000, 'now', 'Due', { a: 1 })).toBe(true);
    const payload = JSON.parse((await raw.lindex('resque:queue:now', 0))!) as Record<string, unknown>;
    expect(Object.keys(payload)).toEqual(['class', 'args', 'id', 'queue_time']);
    expect(payload).toMatchObject({ class: 'Due', args: [{ a: 1 }] });
    expect(await queue.removeDelayed('later', 'PhpEcho', { name: 'x', path: '', uni: '', n: 1, list: [] })).toBe(1);
    expect(await queue.delayedQueueScheduleSize()).toBe(0);
  });
});

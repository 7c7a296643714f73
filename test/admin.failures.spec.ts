import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { ResqueFailures } from '../lib/admin/index.js';
import { ResqueConnection } from '../lib/connection/index.js';
import { buildFailure, decodePayload, encodeFailure, encodePayload, newJobId, parseResqueTime } from '../lib/protocol/index.js';
import { loadKeys, readFixture, snapshot } from './support/fixtures.js';
import { startRedis, type TestRedis } from './support/redis-server.js';

const RUBY_FAILED_AT = /^\d{4}\/\d{2}\/\d{2} \d{2}:\d{2}:\d{2} UTC$/;

let server: TestRedis;
let redis: Redis;
let connection: ResqueConnection;
let failures: ResqueFailures;

beforeAll(async () => {
  server = await startRedis();
  redis = server.client();
  connection = ResqueConnection.create(server.url, 'resque', { logger: false });
  failures = new ResqueFailures(connection);
});
afterAll(async () => {
  await connection.close();
  await server.stop();
});
beforeEach(async () => {
  await redis.flushall();
});

/** Replaces the retried_at value so entries from different runs compare byte for byte. */
function normalizeRetriedAt(raw: string): string {
  return raw.replace(/"retried_at":"[^"]*"/, '"retried_at":"<T>"');
}

function expectRecentRubyTime(value: string | undefined): void {
  expect(value).toMatch(RUBY_FAILED_AT);
  const at = parseResqueTime(value)!.getTime();
  expect(Math.abs(at - Date.now())).toBeLessThan(120_000);
}

describe('reading failures written by the peers', () => {
  it('lists and counts a Ruby failure', async () => {
    const fixture = readFixture('ruby-failure');
    await loadKeys(redis, fixture.keys);
    expect(await failures.count()).toBe(1);
    const [entry] = await failures.list();
    expect(entry!.index).toBe(0);
    expect(entry!.raw).toBe((fixture.keys['resque:failed']!.value as string[])[0]);
    expect(entry!.className).toBe('InteropFail');
    expect(entry!.record).toMatchObject({ exception: 'RuntimeError', worker: 'vm:1957:default', queue: 'default' });
    expect(entry!.failedAt?.toISOString()).toBe('2026-11-26T21:02:23.000Z');
    expect(entry!.retriedAt).toBeNull();
  });

  it('lists a php-resque failure, decoding PHP escapes', async () => {
    await loadKeys(redis, readFixture('php-failure').keys);
    const entry = await failures.get(0);
    expect(entry!.className).toBe('InteropFail');
    expect(entry!.failedAt?.toISOString()).toBe('2026-11-26T21:02:21.000Z');
    expect((entry!.record!.payload as { args: unknown[] }).args[0]).toMatchObject({ path: 'a/b', uni: 'café' });
    expect(entry!.record!.backtrace).toHaveLength(5);
    expect(await failures.get(1)).toBeNull();
  });

  it('tolerates retried_at written by Ruby', async () => {
    await loadKeys(redis, readFixture('ruby-failure-requeued').keys);
    const [entry] = await failures.list();
    expect(entry!.record!.retried_at).toBe('2026/11/26 21:02:24 UTC');
    expect(entry!.retriedAt?.toISOString()).toBe('2026-11-26T21:02:24.000Z');
  });
});

describe('requeue', () => {
  it('matches Ruby Failure.requeue(0) on a Ruby failure: retried_at appended, {class,args} in queue:default', async () => {
    const fixture = readFixture('ruby-failure-requeued');
    const before = snapshot(fixture, 'failed');
    await loadKeys(redis, before);
    expect(await failures.requeue(0)).toBe('default');

    const [ours] = await redis.lrange('resque:failed', 0, -1);
    const rubys = (fixture.keys['resque:failed']!.value as string[])[0]!;
    // Ruby's result is the original bytes with retried_at appended; ours too, byte for byte.
    const original = (before['resque:failed']!.value as string[])[0]!;
    expect(normalizeRetriedAt(rubys)).toBe(`${original.slice(0, -1)},"retried_at":"<T>"}`);
    expect(normalizeRetriedAt(ours!)).toBe(normalizeRetriedAt(rubys));
    expectRecentRubyTime((JSON.parse(ours!) as { retried_at: string }).retried_at);

    expect(await redis.lrange('resque:queue:default', 0, -1)).toEqual(fixture.keys['resque:queue:default']!.value);
    expect(await redis.smembers('resque:queues')).toEqual(['default']);
    expect(await failures.count()).toBe(1);
  });

  it('on a PHP failure: re-encodes the entry like Ruby, but keeps the id and sets the status back to WAITING', async () => {
    const fixture = readFixture('php-failure-requeued-by-ruby');
    const before = snapshot(fixture, 'failed');
    await loadKeys(redis, before);
    const statusKey = 'resque:job:8a9d974065b7bc2d8209b92e503f4275:status';
    expect(await redis.ttl(statusKey)).toBeGreaterThan(0);

    expect(await failures.requeue(0)).toBe('default');
    const [ours] = await redis.lrange('resque:failed', 0, -1);
    // Same bytes as Ruby's re-encoding of the PHP entry (\/ and \u00e9 gone), retried_at aside.
    expect(normalizeRetriedAt(ours!)).toBe(normalizeRetriedAt((fixture.keys['resque:failed']!.value as string[])[0]!));

    const queued = await redis.lrange('resque:queue:default', 0, -1);
    expect(queued).toHaveLength(1);
    const rubyJob = JSON.parse((fixture.keys['resque:queue:default']!.value as string[])[0]!) as Record<string, unknown>;
    const job = decodePayload(queued[0]!);
    // Documented difference: Ruby pushes {class,args}; we keep the id and refresh queue_time.
    expect(job.className).toBe(rubyJob['class']);
    expect(job.args).toEqual(rubyJob['args']);
    expect(job.id).toBe('8a9d974065b7bc2d8209b92e503f4275');
    expect(Object.keys(job.payload)).toEqual(['class', 'args', 'id', 'queue_time']);
    expect(Math.abs(job.queueTime! - Date.now() / 1000)).toBeLessThan(120); // refreshed

    const status = JSON.parse((await redis.get(statusKey))!) as { status: number; updated: number };
    expect(status.status).toBe(1);
    expect(await redis.ttl(statusKey)).toBe(-1);
  });

  it('does not create a status key that does not exist', async () => {
    await loadKeys(redis, readFixture('php-failure').keys);
    await failures.requeue(0);
    expect(await redis.exists('resque:job:f7f03b10923a6fd8722f5bdf6cda26cf:status')).toBe(0);
    expect(decodePayload((await redis.lindex('resque:queue:default', 0))!).id).toBe('f7f03b10923a6fd8722f5bdf6cda26cf');
  });

  it('can push to another queue and drop the entry', async () => {
    await loadKeys(redis, readFixture('ruby-failure').keys);
    expect(await failures.requeue(0, { queue: 'retry', remove: true })).toBe('retry');
    expect(await failures.count()).toBe(0);
    expect(await redis.llen('resque:queue:retry')).toBe(1);
    expect(await redis.sismember('resque:queues', 'retry')).toBe(1);
  });

  it('requeues an entry only once when two admins act on the same stale read', async () => {
    await loadKeys(redis, readFixture('ruby-failure').keys);
    const [entry] = await failures.list();
    expect(await failures.requeue(entry!)).toBe('default');
    expect(await failures.requeue(entry!)).toBeNull(); // the entry now carries retried_at: not the one read
    expect(await redis.llen('resque:queue:default')).toBe(1);
    expect(await failures.requeue(5)).toBeNull();
  });

  it('refuses an entry whose payload cannot run, writing nothing', async () => {
    await redis.rpush('resque:failed', 'not json', JSON.stringify({ failed_at: 'x', payload: { args: [] }, queue: 'q' }));
    await expect(failures.requeue(0)).rejects.toThrow(/not a readable failure record/);
    await expect(failures.requeue(1)).rejects.toThrow(/without a class/);
    expect(await redis.exists('resque:queue:q')).toBe(0);
    await expect(failures.requeue(-1)).rejects.toThrow(RangeError);
  });
});

/** One failure from each peer (R and P from fixtures; PF and N built per resque-protocol.md §7) plus ours. */
async function loadMixed(): Promise<string[]> {
  const ruby = (readFixture('ruby-failure').keys['resque:failed']!.value as string[])[0]!;
  const php = (readFixture('php-failure').keys['resque:failed']!.value as string[])[0]!;
  const phpFork = JSON.stringify({
    failed_at: '2026-11-26T21:05:00+00:00',
    payload: { class: 'ForkJob', args: [{ a: 1 }], id: newJobId(), prefix: '', queue_time: 1795727100.5 },
    exception: 'Exception',
    error: 'fork failed',
    backtrace: ['#0 {main}'],
    worker: 'vm:77:low',
    queue: 'low',
  });
  const node = JSON.stringify({
    worker: 'vm:88',
    queue: 'low',
    payload: { class: 'NodeJob', queue: 'low', args: [1, 2] },
    exception: 'Error',
    error: 'node failed',
    backtrace: null,
    failed_at: 'Thu Nov 26 2026 21:06:00 GMT+0000 (Coordinated Universal Time)',
  });
  const ours = encodeFailure(
    buildFailure({
      rawPayload: encodePayload('OurJob', { b: 2 }, { id: newJobId(), queueTime: 1795727200 }),
      exception: 'TypeError',
      error: 'ours failed',
      backtrace: ['at x'],
      worker: 'vm:99:default',
      queue: 'default',
    }),
  );
  const all = [ruby, php, phpFork, node, ours];
  await redis.rpush('resque:failed', ...all);
  return all;
}

describe('list, filter and remove across peers', () => {
  it('lists in list order or newest first, with list indexes', async () => {
    const all = await loadMixed();
    const listed = await failures.list(0, 10);
    expect(listed.map((e) => e.className)).toEqual(['InteropFail', 'InteropFail', 'ForkJob', 'NodeJob', 'OurJob']);
    expect(listed.map((e) => e.index)).toEqual([0, 1, 2, 3, 4]);
    expect(listed.every((e) => e.failedAt instanceof Date)).toBe(true);
    const newest = await failures.list(1, 2, { order: 'newest' });
    expect(newest.map((e) => [e.index, e.raw])).toEqual([
      [3, all[3]],
      [2, all[2]],
    ]);
    expect(await failures.list(3, 10)).toHaveLength(2);
  });

  it('filters by queue, class, exception and predicate', async () => {
    await loadMixed();
    expect((await failures.all({ queue: 'low' })).map((e) => e.className)).toEqual(['ForkJob', 'NodeJob']);
    expect((await failures.all({ class: 'InteropFail', exception: 'RuntimeException' })).map((e) => e.index)).toEqual([1]);
    expect((await failures.all({ predicate: (e) => e.record?.backtrace === null })).map((e) => e.className)).toEqual(['NodeJob']);
    await expect(failures.all({ queue: 3 as unknown as string })).rejects.toThrow('filter.queue must be a string');
  });

  it('removes by index (Ruby\'s LSET + LREM) entries written by R, P, PF, N and us', async () => {
    const all = await loadMixed();
    await redis.lpush('resque:failed', ''); // a stray "" from a crashed Ruby remove must not be taken for ours
    expect(await failures.remove(4)).toBe(true); // N
    expect(await failures.remove(2)).toBe(true); // P
    expect(await redis.lrange('resque:failed', 0, -1)).toEqual(['', all[0], all[2], all[4]]);
    expect(await failures.remove(1)).toBe(true); // R
    expect(await failures.remove(1)).toBe(true); // PF
    expect(await failures.remove(1)).toBe(true); // ours
    expect(await redis.lrange('resque:failed', 0, -1)).toEqual(['']);
    expect(await failures.remove(7)).toBe(false);
  });

  it('removing a stale entry follows it when the list shifted, and does nothing when it is gone', async () => {
    const all = await loadMixed();
    const entry = (await failures.get(2))!;
    await failures.remove(0);
    expect(await failures.remove(entry)).toBe(true);
    expect(await redis.lrange('resque:failed', 0, -1)).toEqual([all[1], all[3], all[4]]);
    expect(await failures.remove(entry)).toBe(false);
    expect(await failures.count()).toBe(3);
  });

  it('requeues entries written by R, P, PF, N and us', async () => {
    await loadMixed();
    expect(await failures.requeueAll()).toBe(5);
    const entries = await failures.all();
    expect(entries.every((e) => RUBY_FAILED_AT.test(e.record?.retried_at ?? ''))).toBe(true);
    const queued = (await redis.lrange('resque:queue:default', 0, -1)).map((raw) => decodePayload(raw).className).sort();
    expect(queued).toEqual(['InteropFail', 'InteropFail', 'OurJob']);
    const low = (await redis.lrange('resque:queue:low', 0, -1)).map((raw) => decodePayload(raw));
    expect(low.map((j) => j.className).sort()).toEqual(['ForkJob', 'NodeJob']);
    expect(low.find((j) => j.className === 'NodeJob')!.args).toEqual([1, 2]);
    expect(low.find((j) => j.className === 'ForkJob')!.payload).toHaveProperty('prefix', '');
  });

  it('requeueAll with a filter and remove, removeWhere and clear', async () => {
    await loadMixed();
    expect(await failures.requeueAll({ queue: 'low' }, { remove: true })).toBe(2);
    expect((await failures.all()).map((e) => e.className)).toEqual(['InteropFail', 'InteropFail', 'OurJob']);
    expect(await redis.llen('resque:queue:low')).toBe(2);
    expect(await failures.removeWhere({ class: 'InteropFail' })).toBe(2);
    expect((await failures.all()).map((e) => e.className)).toEqual(['OurJob']);
    expect(await failures.clear()).toBe(1);
    expect(await redis.exists('resque:failed')).toBe(0);
  });
});

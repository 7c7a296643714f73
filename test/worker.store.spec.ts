// The slot's bookkeeping scripts against a real Redis: the per-job cycle (finish, start, claim ahead), the
// resync after a call whose effect is unknown, and putting claimed jobs back.
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ResqueKeys } from '../lib/protocol/index.js';
import { SlotStore, WorkerStore, type CycleRequest } from '../lib/worker/worker.store.js';
import { startRedis, type TestRedis } from './support/redis-server.js';

let server: TestRedis;
let redis: Redis;
const keys = new ResqueKeys('resque');
const k = (key: string) => `resque:${key}`;
const ID = 'host:1:qa,qb';
const RAW_A = '{"class":"Echo","args":[{"path":"a\\/b"}],"id":"aaaa"}';
const RAW_B = '{"class":"Echo","args":[{"n":2}],"id":"bbbb"}';

function slot(ownQueue: string | null = null): SlotStore {
  return new SlotStore(new WorkerStore(redis, keys), ID, ownQueue);
}

beforeAll(async () => {
  server = await startRedis();
  redis = server.client();
});
afterAll(async () => {
  await server.stop();
});
beforeEach(async () => {
  await redis.flushall();
  await redis.sadd(k('workers'), ID); // registered: the scripts fence unregistered workers
});

describe('SlotStore', () => {
  it('claims ahead in priority order, records each queue, then starts a claimed job as the Ruby-shaped worker:<id>', async () => {
    await redis.rpush(k('queue:qb'), RAW_B);
    await redis.rpush(k('queue:qa'), RAW_A);
    await redis.set(k('job:aaaa:status'), '{"status":1,"updated":1,"started":5}');
    const store = slot();
    const claimed = await store.cycle({ finished: null, start: null, claim: 3, queues: ['qa', 'qb'] });
    expect(claimed).toEqual([
      { queue: 'qa', raw: RAW_A },
      { queue: 'qb', raw: RAW_B },
    ]);
    expect(await redis.lrange(k(`worker:${ID}:claim`), 0, -1)).toEqual([RAW_A, RAW_B]);
    expect(await redis.lrange(k(`worker:${ID}:claim:queues`), 0, -1)).toEqual(['qa', 'qb']);

    if (!Array.isArray(claimed)) throw new Error(JSON.stringify(claimed));
    const start = store.starting(claimed[0]!, keys.status('aaaa'), true);
    expect(await store.cycle({ finished: null, start, claim: 1, queues: ['qa', 'qb'] })).toEqual([]);
    const record = await redis.get(k(`worker:${ID}`));
    expect(record).toMatch(/^\{"queue":"qa","run_at":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ","payload":/);
    expect(record!.endsWith(`"payload":${RAW_A}}`)).toBe(true);
    expect(JSON.parse((await redis.get(k('job:aaaa:status')))!)).toEqual({ status: 2, updated: expect.any(Number), started: 5 });
    expect(await redis.lrange(k(`worker:${ID}:claim`), 0, -1)).toEqual([RAW_B]);
    expect(await redis.lrange(k(`worker:${ID}:claim:queues`), 0, -1)).toEqual(['qb']);

    // Finishing it: processed +1 (global and per worker), COMPLETE with the result, worker:<id> gone.
    await store.cycle({ finished: { statusKey: keys.status('aaaa'), resultJson: '{"ok":1}', className: 'Echo', jobId: 'aaaa' }, start: null, claim: 0, queues: [] });
    expect(await redis.mget(k('stat:processed'), k(`stat:processed:${ID}`))).toEqual(['1', '1']);
    expect(JSON.parse((await redis.get(k('job:aaaa:status')))!)).toEqual({ status: 4, updated: expect.any(Number), started: 5, result: { ok: 1 } });
    expect(await redis.exists(k(`worker:${ID}`))).toBe(0);
  });

  it('embeds a payload that is not a JSON object as a JSON string, and finds a started job that is not at the head', async () => {
    await redis.rpush(k(`worker:${ID}:claim`), RAW_B, 'garbage');
    await redis.rpush(k(`worker:${ID}:claim:queues`), 'qb', 'qa');
    const store = slot();
    await store.cycle({ finished: null, start: store.starting({ queue: 'qa', raw: 'garbage' }, null, false), claim: 0, queues: [] });
    expect(JSON.parse((await redis.get(k(`worker:${ID}`)))!)).toMatchObject({ queue: 'qa', payload: 'garbage' });
    expect(await redis.lrange(k(`worker:${ID}:claim`), 0, -1)).toEqual([RAW_B]);
    expect(await redis.lrange(k(`worker:${ID}:claim:queues`), 0, -1)).toEqual(['qb']);
  });

  it("refuses to claim while pause-all-workers is 'true' (a start in the same call still happens)", async () => {
    await redis.rpush(k('queue:qa'), RAW_B);
    await redis.rpush(k(`worker:${ID}:claim`), RAW_A);
    await redis.set(k('pause-all-workers'), 'true');
    const store = slot('qa');
    const start = store.starting({ queue: 'qa', raw: RAW_A }, null, true);
    expect(await store.cycle({ finished: null, start, claim: 1, queues: ['qa'] })).toBe('paused');
    expect(await redis.get(k(`worker:${ID}`))).toContain(RAW_A);
    expect(await redis.lrange(k('queue:qa'), 0, -1)).toEqual([RAW_B]);
    expect(await redis.exists(k(`worker:${ID}:claim:queues`))).toBe(0); // a one-queue worker records none
  });

  it('resync: a cycle that never ran has its job dropped from the claim list and its finish applied; one that ran is left alone', async () => {
    const store = slot('qa');
    // The cycle that started RAW_A ran; the one that started RAW_B (finishing RAW_A) did not.
    await redis.rpush(k(`worker:${ID}:claim`), RAW_B, '{"class":"Echo","args":[],"id":"cccc"}');
    await redis.set(k('job:aaaa:status'), '{"status":2,"updated":1,"started":1}');
    const ranRequest: CycleRequest = { finished: null, start: store.starting({ queue: 'qa', raw: RAW_A }, null, true), claim: 1, queues: ['qa'] };
    const lostRequest: CycleRequest = {
      finished: { statusKey: keys.status('aaaa'), resultJson: 'null', className: 'Echo', jobId: 'aaaa' },
      start: store.starting({ queue: 'qa', raw: RAW_B }, null, true),
      claim: 1,
      queues: ['qa'],
    };
    const claimed = await store.resync([ranRequest, lostRequest]);
    expect(claimed).toEqual([{ queue: 'qa', raw: '{"class":"Echo","args":[],"id":"cccc"}' }]);
    expect(await redis.mget(k('stat:processed'), k(`stat:processed:${ID}`))).toEqual(['1', '1']);
    expect(JSON.parse((await redis.get(k('job:aaaa:status')))!)).toMatchObject({ status: 4, result: null });
  });

  it('release and unregister put claimed jobs back at the head of their queues, in their original order', async () => {
    await redis.rpush(k('queue:qa'), 'later-a');
    await redis.rpush(k('queue:qb'), 'later-b');
    await redis.rpush(k(`worker:${ID}:claim`), 'a1', 'b1', 'a2');
    await redis.rpush(k(`worker:${ID}:claim:queues`), 'qa', 'qb', 'qa');
    const store = slot();
    expect(await store.release()).toBe(3);
    expect(await redis.lrange(k('queue:qa'), 0, -1)).toEqual(['a1', 'a2', 'later-a']);
    expect(await redis.lrange(k('queue:qb'), 0, -1)).toEqual(['b1', 'later-b']);

    await redis.sadd(k('workers'), ID);
    await redis.rpush(k(`worker:${ID}:claim`), 'x1', 'x2');
    expect(await slot('qa').unregister()).toBe(2);
    expect(await redis.lrange(k('queue:qa'), 0, 1)).toEqual(['x1', 'x2']);
    expect(await redis.exists(k(`worker:${ID}:claim`), k(`worker:${ID}:claim:queues`))).toBe(0);
    expect(await redis.smembers(k('workers'))).toEqual([]);
  });

  it('fences an unregistered (pruned) worker: no start, no claim, no outcome; stat:fenced counts the outcomes', async () => {
    await redis.rpush(k('queue:qa'), RAW_B);
    await redis.rpush(k(`worker:${ID}:claim`), RAW_A);
    await redis.set(k('job:aaaa:status'), '{"status":1,"updated":1}');
    await redis.srem(k('workers'), ID);
    const store = slot('qa');
    const finished = { statusKey: keys.status('aaaa'), resultJson: 'null', className: 'Echo', jobId: 'aaaa' };
    const start = store.starting({ queue: 'qa', raw: RAW_A }, keys.status('aaaa'), true);
    expect(await store.cycle({ finished, start, claim: 1, queues: ['qa'] })).toBe('pruned');
    expect(await redis.exists(k(`worker:${ID}`), k('stat:processed'))).toBe(0);
    expect(await redis.lrange(k(`worker:${ID}:claim`), 0, -1)).toEqual([RAW_A]);
    expect(await redis.lrange(k('queue:qa'), 0, -1)).toEqual([RAW_B]);
    expect(JSON.parse((await redis.get(k('job:aaaa:status')))!)).toMatchObject({ status: 1 });
    expect(await store.fail('{"failure":1}', keys.status('aaaa'), 'q')).toEqual({ kind: 'fenced' });
    expect(await redis.exists(k('failed'), k('stat:failed'))).toBe(0);
    expect(await redis.get(k('stat:fenced'))).toBe('2');
    expect(await store.resync([{ finished, start, claim: 0, queues: [] }])).toBe('pruned');
    expect(await redis.lrange(k(`worker:${ID}:claim`), 0, -1)).toEqual([RAW_A]);

    // The heartbeat does not bring a pruned worker back to life, and says which ids are gone.
    const workers = new WorkerStore(redis, keys);
    await redis.sadd(k('workers'), 'host:2:qa');
    expect(await workers.heartbeat([ID, 'host:2:qa'], new Date())).toEqual([ID]);
    expect(await redis.hkeys(k('workers:heartbeat'))).toEqual(['host:2:qa']);
    expect(await redis.hkeys(k('workers:claim_heartbeat'))).toEqual(['host:2:qa']);
  });
});

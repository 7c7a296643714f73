// Throttling and concurrency caps (README "Job policies") with real worker processes on a real Redis:
// the limits hold across processes, a throttled job stays at the head of its queue, a throttled worker does
// not spin, and a SIGKILLed worker's concurrency slot comes back through the pruner.
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Job } from '../lib/decorators/decorators.job.js';
import { checkWorkerThrottle, holderMember, ThrottlePlan } from '../lib/policies/policy.throttle.js';
import { encodePayload, ResqueKeys } from '../lib/protocol/index.js';
import { resolveWorkerOptions } from '../lib/worker/worker.options.js';
import { SlotStore, WorkerStore } from '../lib/worker/worker.store.js';
import { killAllWorkers, spawnWorker, waitFor, type WorkerProcess } from './apps/worker-harness.js';
import { freePort, startRedis, type TestRedis } from './support/redis-server.js';

const MAIN = 'test/apps/throttle-main.ts';
let server: TestRedis;
let redis: Redis;
const k = (key: string) => `resque:${key}`;

beforeAll(async () => {
  server = await startRedis();
  redis = server.client();
});
afterAll(async () => {
  await killAllWorkers();
  await server.stop();
});
beforeEach(async () => {
  await redis.flushall();
});
afterEach(async () => {
  await killAllWorkers();
});

async function push(queue: string, className: string, count: number, params: unknown = {}, on: Redis = redis): Promise<string[]> {
  await on.sadd(k('queues'), queue);
  const ids: string[] = [];
  for (let n = 0; n < count; n++) {
    const id = randomUUID().replace(/-/g, '');
    ids.push(id);
    await on.rpush(k(`queue:${queue}`), encodePayload(className, params, { id, queueTime: 1 }));
  }
  return ids;
}

function worker(queue: string, options: Record<string, unknown> = {}, url = server.url): WorkerProcess {
  return spawnWorker(url, { QUEUE: queue, INTERVAL: '1' }, { heartbeatIntervalSeconds: 1, ...options }, MAIN);
}

async function ran(prefix: string): Promise<string[]> {
  return (await redis.lrange('t:ran', 0, -1)).filter((entry) => entry.startsWith(`${prefix}:`));
}

/** Total command calls a Redis served so far (INFO commandstats), with the calls of one command if named. */
async function commandCalls(on: Redis): Promise<Map<string, number>> {
  const calls = new Map<string, number>();
  for (const line of (await on.info('commandstats')).split('\n')) {
    const m = /^cmdstat_([^:]+):calls=(\d+)/.exec(line.trim());
    if (m) calls.set(m[1]!, Number(m[2]));
  }
  return calls;
}

function total(calls: Map<string, number>): number {
  let sum = 0;
  for (const [name, n] of calls) if (name !== 'info') sum += n;
  return sum;
}

describe('throttle: a rate limit per job class', () => {
  it('two worker processes never claim more than max jobs of the class in any window of perSeconds', async () => {
    const a = worker('rl');
    const b = worker('rl');
    await Promise.all([a.ready, b.ready]);
    await push('rl', 'Limited', 9);
    await waitFor('the 9 limited jobs ran', async () => (await ran('Limited')).length === 9, 30_000);
    // Every job copied the class's window log (claim times by the Redis clock) when it ran: their union is
    // every claim, each seen by its own job at least.
    const claims = Object.values(await redis.hgetall('t:claims'))
      .map(Number)
      .sort((x, y) => x - y);
    expect(claims).toHaveLength(9);
    // Max 3 per 1 s: any 4 consecutive claims span at least one window.
    for (let i = 0; i + 3 < claims.length; i++) expect(claims[i + 3]! - claims[i]!).toBeGreaterThanOrEqual(1000);
  });

  it('a throttled job stays at the head of its queue while the next queue is worked; the wait is counted', async () => {
    const port = await freePort();
    const w = worker('slow,free', { metrics: { port, host: '127.0.0.1' } });
    await w.ready;
    const [, second] = await push('slow', 'Slow', 2);
    await push('free', 'Free', 3);
    await waitFor('the free jobs ran', async () => (await ran('Free')).length === 3);
    expect(await ran('Slow')).toHaveLength(1);
    const head = await redis.lindex(k('queue:slow'), 0);
    expect(await redis.llen(k('queue:slow'))).toBe(1);
    expect((JSON.parse(head!) as { id: string }).id).toBe(second);
    // Claimed by no one: not in any claim list.
    for (const id of await redis.smembers(k('workers'))) expect(await redis.llen(k(`worker:${id}:claim`))).toBe(0);
    // Once the free queue is empty too, the slot waits for the window: onThrottled, counted as a rate wait.
    await waitFor('a throttled wait in /metrics', async () => {
      const body = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      return /resque_throttled_waits_total\{reason="rate"\} [1-9]/.test(body);
    });
  });

  it('in blocking mode a worker with throttles polls instead of BLMOVE, so a throttled job that arrives is not popped', async () => {
    const w = worker('slow', { blocking: true });
    await w.ready;
    await push('slow', 'Slow', 1);
    await waitFor('the first Slow job ran', async () => (await ran('Slow')).length === 1);
    const [second] = await push('slow', 'Slow', 1);
    // Two throttled claims after the push (LINDEX is theirs only): the later one saw the job and left it at
    // the head. BLMOVE would have moved it into the claim list as it arrived.
    const heads = async () => (await commandCalls(redis)).get('lindex') ?? 0;
    const from = await heads();
    await waitFor('two more throttled claims', async () => (await heads()) >= from + 2);
    expect(await redis.lrange(k('queue:slow'), 0, -1)).toHaveLength(1);
    expect((JSON.parse((await redis.lindex(k('queue:slow'), 0))!) as { id: string }).id).toBe(second);
    for (const id of await redis.smembers(k('workers'))) expect(await redis.llen(k(`worker:${id}:claim`))).toBe(0);
    expect(await ran('Slow')).toHaveLength(1);
  });

  it('a throttled idle worker sends no more commands than an idle worker (no busy loop), and the plain path adds none', async () => {
    const other = await startRedis();
    const otherRedis = other.client();
    try {
      // Throttled: one Slow job runs, the next waits ~60 s at the head of the queue.
      const throttled = worker('slow');
      // Idle and unthrottled: the worker tests' module (no throttle declared) on an empty queue of its own Redis.
      const idle = spawnWorker(other.url, { QUEUE: 'idle', INTERVAL: '1' }, { heartbeatIntervalSeconds: 1 });
      await Promise.all([throttled.ready, idle.ready]);
      await push('slow', 'Slow', 2);
      await push('idle', 'Echo', 1, { x: 1 }, otherRedis);
      await waitFor('one Slow job ran', async () => (await ran('Slow')).length === 1);
      await waitFor('the Echo job ran', async () => (await otherRedis.llen('t:seen')) === 1);
      const before = [await commandCalls(redis), await commandCalls(otherRedis)] as const;
      await new Promise((r) => setTimeout(r, 3000));
      const after = [await commandCalls(redis), await commandCalls(otherRedis)] as const;
      const scripts = (calls: Map<string, number>) => (calls.get('evalsha') ?? 0) + (calls.get('eval') ?? 0);
      const throttledScripts = scripts(after[0]) - scripts(before[0]);
      const idleScripts = scripts(after[1]) - scripts(before[1]);
      const throttledCalls = total(after[0]) - total(before[0]);
      const idleCalls = total(after[1]) - total(before[1]);
      expect(await redis.llen(k('queue:slow'))).toBe(1);
      // Both poll once per INTERVAL (1 s), plus heartbeats and prunes: the same number of round trips (a
      // spinning worker would make thousands); the margin absorbs a heartbeat or prune falling in one
      // measured window and not the other. Inside its claim script a throttled poll runs a few more
      // commands (TIME, LINDEX, the window's ZSET): a bounded factor, not a loop.
      expect(throttledScripts).toBeLessThanOrEqual(idleScripts + 3);
      expect(throttledCalls).toBeLessThanOrEqual(4 * idleCalls);
      // The plain path (no throttle declared) ran none of the throttle's commands, its Echo job included.
      for (const cmd of ['lindex', 'zadd', 'zcard', 'zremrangebyscore']) expect(after[1].get(cmd) ?? 0, cmd).toBe(0);
    } finally {
      await killAllWorkers();
      await other.stop();
    }
  });
});

describe('throttle: a rate limit per queue (worker option)', () => {
  it('limits a queue whatever its job classes, across two worker processes', async () => {
    const options = { throttle: { queues: { api: { max: 2, perSeconds: 1 } } } };
    const a = worker('api', options);
    const b = worker('api', options);
    await Promise.all([a.ready, b.ready]);
    await push('api', 'Free', 6);
    await waitFor('the 6 jobs ran', async () => (await ran('Free')).length === 6, 30_000);
    const claims = Object.values(await redis.hgetall('t:qclaims'))
      .map(Number)
      .sort((x, y) => x - y);
    expect(claims).toHaveLength(6);
    // Max 2 per 1 s: any 3 consecutive claims span at least one window.
    for (let i = 0; i + 2 < claims.length; i++) expect(claims[i + 2]! - claims[i]!).toBeGreaterThanOrEqual(1000);
    // The log expires with its window.
    expect(await redis.pttl(k('throttle:queue:api'))).toBeLessThanOrEqual(1000);
  });
});

describe('throttle: maxConcurrent per job class', () => {
  it('three worker processes never run three capped jobs at once, and every slot is returned', async () => {
    // Claiming one job at a time, three idle workers would run three of these 1 s jobs at once (seen
    // without the cap); the cap holds them to two.
    const ws = [worker('cap', { prefetch: 0 }), worker('cap', { prefetch: 0 }), worker('cap', { prefetch: 0 })];
    await Promise.all(ws.map((w) => w.ready));
    await push('cap', 'Capped', 5, { ms: 1000 });
    await waitFor('the 5 capped jobs ran', async () => (await ran('Capped')).length === 5, 30_000);
    expect(Number(await redis.get('t:peak'))).toBeLessThanOrEqual(2);
    await waitFor('every concurrency slot returned', async () => (await redis.zcard(k('throttle:running:Capped'))) === 0);
  });

  it('a worker SIGKILLed mid-job gives its slot back through the pruner', async () => {
    const first = worker('hold', { prefetch: 0 });
    const [deadId] = await first.ready;
    const [held, next] = await push('hold', 'Hold', 2, { quick: false });
    await waitFor('the first Hold job runs', async () => (await ran('Hold')).length === 1);
    const holders = await redis.zrange(k('throttle:running:Hold'), '0', '-1');
    expect(holders).toHaveLength(1);
    expect(holders[0]!.startsWith(`${deadId!}|`)).toBe(true);
    first.signal('SIGKILL');
    await first.exited;
    // Its slot is still taken: nothing returned it yet.
    expect(await redis.zcard(k('throttle:running:Hold'))).toBe(1);
    // A new worker of this host finds the dead pid at start-up and prunes it; the slot comes back, so the
    // queued Hold job (blocked by the cap until then) runs.
    const second = worker('hold', { prefetch: 0 });
    const [liveId] = await second.ready;
    await waitFor('the second Hold job runs', async () => (await ran('Hold')).length === 2, 20_000);
    const entries = await ran('Hold');
    expect(entries[0]).toContain(held!);
    expect(entries[1]).toContain(next!);
    expect(entries[1]).toContain(liveId!);
    const now = await redis.zrange(k('throttle:running:Hold'), '0', '-1');
    expect(now).toHaveLength(1);
    expect(now[0]!.startsWith(`${liveId!}|`)).toBe(true);
    // The killed job was failed by the pruner (the default onDeadWorker), not left running.
    expect(await redis.llen(k('failed'))).toBe(1);
  });
});

describe('throttle: the worker scripts (one slot store, no process)', () => {
  const keys = new ResqueKeys('resque');
  const ID = 'host:1:hold';
  const plan = ThrottlePlan.of(keys, [{ name: 'Hold', options: { maxConcurrent: 1 } }], undefined);
  const RAW_1 = encodePayload('Hold', { n: 1 }, { id: 'h1', queueTime: 1 });
  const RAW_2 = encodePayload('Hold', { n: 2 }, { id: 'h2', queueTime: 1 });

  beforeEach(async () => {
    await redis.sadd(k('workers'), ID);
    await redis.rpush(k('queue:hold'), RAW_1, RAW_2);
  });

  it('at the cap, a holder whose worker is gone from `workers` (e.g. pruned by Ruby) is dropped and the slot taken', async () => {
    await redis.zadd(k('throttle:running:Hold'), 1, 'gone:9:hold|0123');
    const store = new SlotStore(new WorkerStore(redis, keys, 10, plan), ID, 'hold');
    expect(await store.cycle({ finished: null, start: null, claim: 3, queues: ['hold'] })).toEqual([{ queue: 'hold', raw: RAW_1 }]);
    expect(await redis.zrange(k('throttle:running:Hold'), '0', '-1')).toEqual([holderMember(ID, RAW_1)]);
    // The cap is reached by this worker's own claimed job: the next claim reports a wait of unknown length.
    expect(await store.cycle({ finished: null, start: null, claim: 1, queues: ['hold'] })).toEqual({ throttledMs: -1 });
    expect(await redis.lrange(k('queue:hold'), 0, -1)).toEqual([RAW_2]);
  });

  it('putting claimed jobs back (pause, re-registration) returns their slots; a failure returns its own', async () => {
    const store = new SlotStore(new WorkerStore(redis, keys, 10, plan), ID, 'hold');
    await store.cycle({ finished: null, start: null, claim: 1, queues: ['hold'] });
    expect(await redis.zcard(k('throttle:running:Hold'))).toBe(1);
    expect(await store.release()).toBe(1);
    expect(await redis.zcard(k('throttle:running:Hold'))).toBe(0);
    const [claimed] = (await store.cycle({ finished: null, start: null, claim: 1, queues: ['hold'] })) as Array<{ queue: string; raw: string }>;
    await store.cycle({ finished: null, start: store.starting(claimed!, null, true), claim: 0, queues: [] });
    expect(await redis.zcard(k('throttle:running:Hold'))).toBe(1);
    expect(await store.fail('{"failure":1}', null, 'hold', null, { className: 'Hold', raw: RAW_1 })).toEqual({ kind: 'recorded' });
    expect(await redis.zcard(k('throttle:running:Hold'))).toBe(0);
  });

  it('a resync after a lost cycle returns the slots of jobs no longer claimed (performed meanwhile), keeps the others', async () => {
    const wide = ThrottlePlan.of(keys, [{ name: 'Hold', options: { maxConcurrent: 5 } }], undefined);
    const store = new SlotStore(new WorkerStore(redis, keys, 10, wide), ID, 'hold');
    const claimed = (await store.cycle({ finished: null, start: null, claim: 2, queues: ['hold'] })) as Array<{ queue: string; raw: string }>;
    expect(await redis.zcard(k('throttle:running:Hold'))).toBe(2);
    // The cycle that started the first job was lost (its effect unknown); the job was performed.
    const lost = { finished: null, start: store.starting(claimed[0]!, null, true), claim: 0, queues: [] };
    expect(await store.resync([lost])).toEqual([{ queue: 'hold', raw: RAW_2 }]);
    expect(await redis.zrange(k('throttle:running:Hold'), '0', '-1')).toEqual([holderMember(ID, RAW_2)]);
  });

  it('equal payloads without an id (as Ruby enqueues them) each count: in the window and in the cap', async () => {
    const twin = ThrottlePlan.of(keys, [{ name: 'Twin', options: { throttle: { max: 2, perSeconds: 60 }, maxConcurrent: 2 } }], undefined);
    const raw = '{"class":"Twin","args":[1]}';
    await redis.rpush(k('queue:twin'), raw, raw, raw);
    const store = new SlotStore(new WorkerStore(redis, keys, 10, twin), ID, 'twin');
    // One call claims two (both in the same ms) and stops at the window's max.
    expect(await store.cycle({ finished: null, start: null, claim: 3, queues: ['twin'] })).toHaveLength(2);
    expect(await redis.zcard(k('throttle:class:Twin'))).toBe(2);
    expect(await redis.zrange(k('throttle:running:Twin'), '0', '-1', 'WITHSCORES')).toEqual([holderMember(ID, raw), '2']);
    const blocked = await store.cycle({ finished: null, start: null, claim: 1, queues: ['twin'] });
    expect(blocked).toMatchObject({ throttledMs: expect.any(Number) as number });
    expect((blocked as { throttledMs: number }).throttledMs).toBeGreaterThan(0);
    // Outcomes return one slot each.
    await store.fail('{"failure":1}', null, 'twin', null, { className: 'Twin', raw });
    expect(await redis.zrange(k('throttle:running:Twin'), '0', '-1', 'WITHSCORES')).toEqual([holderMember(ID, raw), '1']);
    await store.cycle({ finished: { statusKey: null, resultJson: 'null', className: 'Twin', jobId: null, raw }, start: null, claim: 0, queues: [] });
    expect(await redis.exists(k('throttle:running:Twin'))).toBe(0);
  });

  it('without a plan the cycle sends an empty spec and claims as before, throttle keys untouched', async () => {
    const store = new SlotStore(new WorkerStore(redis, keys), ID, 'hold');
    expect(await store.cycle({ finished: null, start: null, claim: 2, queues: ['hold'] })).toHaveLength(2);
    expect(await redis.keys(k('throttle:*'))).toEqual([]);
  });
});

describe('throttle: invalid options throw before anything is written', () => {
  it('@Job rejects a bad throttle or maxConcurrent, naming the job and the field', () => {
    expect(() => Job('Bad', { throttle: { max: 0, perSeconds: 1 } })).toThrow(/@Job\('Bad'\) throttle\.max must be a positive integer/);
    expect(() => Job('Bad', { throttle: { max: 1, perSeconds: 0 } })).toThrow(/perSeconds must be a number of seconds/);
    expect(() => Job('Bad', { throttle: { max: 1, per: 1 } as never })).toThrow(/perSeconds/);
    expect(() => Job('Bad', { maxConcurrent: 1.5 })).toThrow(/@Job\('Bad'\) maxConcurrent must be a positive integer, got 1.5/);
  });

  it('the worker option rejects bad queue limits', () => {
    expect(() => checkWorkerThrottle({ queues: { api: { max: -1, perSeconds: 1 } } })).toThrow(/throttle\.queues\.api\.max/);
    expect(() => checkWorkerThrottle({ queues: { 'a*': { max: 1, perSeconds: 1 } } })).toThrow(/not a literal queue name/);
    expect(() => checkWorkerThrottle({ rate: 1 })).toThrow(/unknown field\(s\) rate/);
    expect(() => resolveWorkerOptions({ queues: ['api'], throttle: { queues: { api: 5 as never } } }, undefined, 'h')).toThrow(/throttle\.queues\.api must be an object/);
  });
});

// WorkerPruner against real Redis state: peers' registries from the fixtures, and workers of this host whose
// pid belongs to a process that really died.
import { spawn } from 'node:child_process';
import { hostname } from 'node:os';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseResqueTime, ResqueKeys } from '../lib/protocol/index.js';
import { WorkerPruner, type WorkerPrunerOptions } from '../lib/worker/worker.pruner.js';
import { WorkerStore } from '../lib/worker/worker.store.js';
import { killAllWorkers, spawnWorker } from './apps/worker-harness.js';
import { loadKeys, readFixture } from './support/fixtures.js';
import { startRedis, type TestRedis } from './support/redis-server.js';

let server: TestRedis;
let redis: Redis;
let deadPid: number;
const keys = new ResqueKeys('resque');
const k = (key: string) => `resque:${key}`;

function pruner(options: Partial<WorkerPrunerOptions> = {}): WorkerPruner {
  return new WorkerPruner(redis, keys, { selfId: `${hostname()}:${process.pid}:self`, hostname: hostname(), pruneAfterSeconds: 300, onDeadWorker: 'fail', ...options });
}

/** Registers a worker the way ours do, busy with `raw` (or with `claimed` in its claim list). */
async function registerBusy(id: string, raw: string | null, claimed: string[] = []): Promise<void> {
  await redis.sadd(k('workers'), id);
  await redis.set(k(`worker:${id}:started`), '2026-11-26 21:00:00 +0000');
  await redis.set(k(`stat:processed:${id}`), '3');
  if (raw !== null) await redis.set(k(`worker:${id}`), `{"queue":"default","run_at":"2026-11-26T21:00:00Z","payload":${raw}}`);
  if (claimed.length) await redis.rpush(k(`worker:${id}:claim`), ...claimed);
  const [now] = await redis.time();
  await redis.hset(k('workers:heartbeat'), id, new Date(Number(now) * 1000).toISOString().replace(/\.\d+Z$/, '+00:00'));
}

beforeAll(async () => {
  server = await startRedis();
  redis = server.client();
  const proc = spawn(process.execPath, ['-e', '0']);
  deadPid = proc.pid!;
  await new Promise((r) => proc.once('exit', r));
});
afterAll(async () => {
  await killAllWorkers();
  await server.stop();
});
beforeEach(async () => {
  await redis.flushall();
});

const PHP_RAW = '{"class":"PhpEcho","args":[{"path":"a\\/b"}],"id":"abcdabcdabcdabcdabcdabcdabcdabcd","queue_time":1795726922.96}';

describe('WorkerPruner', () => {
  it('prunes a Ruby worker with a stale heartbeat but never a heartbeat-less php worker of another host', async () => {
    await loadKeys(redis, readFixture('php-worker-busy').keys);
    await loadKeys(redis, readFixture('ruby-worker-busy').keys);
    await redis.sadd(k('workers'), 'vm:1185:default');
    await redis.hset(k('workers:heartbeat'), 'vm:1476:default', '2020-01-01T00:00:00+00:00');
    await redis.del(k('pruning_dead_workers_in_progress')); // the Ruby worker's lock (60 s) has expired
    const rubyPayload = (JSON.parse((await redis.get(k('worker:vm:1476:default')))!) as { payload: unknown }).payload;

    const pruned = await pruner({ hostname: 'elsewhere' }).pruneDeadWorkers();
    expect(pruned).toEqual([{ workerId: 'vm:1476:default', reason: 'heartbeat', jobs: [expect.any(String)], action: 'fail' }]);
    expect(await redis.smembers(k('workers'))).toEqual(['vm:1185:default']);
    expect(await redis.exists(k('worker:vm:1476:default'), k('worker:vm:1476:default:started'), k('stat:processed:vm:1476:default'))).toBe(0);
    expect(await redis.hget(k('workers:heartbeat'), 'vm:1476:default')).toBeNull();
    const [failure] = (await redis.lrange(k('failed'), 0, -1)).map((f) => JSON.parse(f) as Record<string, unknown>);
    expect(failure).toMatchObject({
      payload: rubyPayload,
      exception: 'Resque::PruneDeadWorkerDirtyExit',
      error: 'Worker vm:1476:default did not gracefully exit while processing InteropSleep (no heartbeat for over 300 s)',
      worker: 'vm:1476:default',
      queue: 'default',
    });
    expect(Object.keys(failure!)).toEqual(['failed_at', 'payload', 'exception', 'error', 'backtrace', 'worker', 'queue']);
    expect(await redis.get(k('stat:failed'))).toBe('1');
    // The php worker is busy and untouched.
    expect(await redis.exists(k('worker:vm:1185:default'))).toBe(1);
    // Our lock is released afterwards.
    expect(await redis.get(k('pruning_dead_workers_in_progress'))).toBeNull();
  });

  it('prunes a worker of this host whose pid is gone, failing its tracked job (FAILED, TTL 86400)', async () => {
    const id = `${hostname()}:${deadPid}:default`;
    await registerBusy(id, PHP_RAW);
    await redis.set(k('job:abcdabcdabcdabcdabcdabcdabcdabcd:status'), '{"status":2,"updated":1,"started":1}');
    const alive = `${hostname()}:${process.pid}:default`;
    await registerBusy(alive, null);

    const pruned = await pruner().pruneDeadWorkers();
    expect(pruned.map((p) => [p.workerId, p.reason])).toEqual([[id, 'pid']]);
    expect(await redis.smembers(k('workers'))).toEqual([alive]);
    const [failure] = await redis.lrange(k('failed'), 0, -1);
    expect(failure).toContain(`"payload":${JSON.stringify(JSON.parse(PHP_RAW))}`);
    expect(JSON.parse(await redis.get(k('job:abcdabcdabcdabcdabcdabcdabcdabcd:status')) as string)).toEqual({ status: 3, updated: expect.any(Number), started: 1 });
    expect(await redis.ttl(k('job:abcdabcdabcdabcdabcdabcdabcdabcd:status'))).toBeGreaterThan(86_000);
    expect(await redis.mget(k('stat:failed'), k('stat:processed'))).toEqual(['1', '1']);
  });

  it("re-enqueues the exact payload bytes with onDeadWorker 'requeue', including a job left in the claim list", async () => {
    const id = `${hostname()}:${deadPid}:default`;
    const claimed = '{"class":"Echo","args":[{"n":2}]}';
    await registerBusy(id, PHP_RAW, [claimed]);
    const pruned = await pruner({ onDeadWorker: 'requeue' }).pruneDeadWorkers();
    expect(pruned).toEqual([{ workerId: id, reason: 'pid', jobs: [PHP_RAW, claimed], action: 'requeue' }]);
    expect(await redis.lrange(k('queue:default'), 0, -1)).toEqual([PHP_RAW, claimed]);
    expect(await redis.smembers(k('queues'))).toEqual(['default']);
    expect(await redis.llen(k('failed'))).toBe(0);
    expect(await redis.exists(k(`worker:${id}:claim`), k(`worker:${id}`))).toBe(0);
  });

  it("fails the jobs a dead several-queue worker had claimed ahead, each with its recorded queue, or requeues them there", async () => {
    const id = `${hostname()}:${deadPid}:qa,qb`;
    const fromB = '{"class":"Echo","args":[{"n":3}],"id":"b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0"}';
    await registerBusy(id, null, ['{"class":"Echo","args":[{"n":1}]}', fromB]);
    await redis.rpush(k(`worker:${id}:claim:queues`), 'qa', 'qb');
    await redis.set(k('job:b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0:status'), '{"status":1,"updated":1}');
    const pruned = await pruner().pruneDeadWorkers();
    expect(pruned).toEqual([{ workerId: id, reason: 'pid', jobs: ['{"class":"Echo","args":[{"n":1}]}', fromB], action: 'fail' }]);
    const failures = (await redis.lrange(k('failed'), 0, -1)).map((f) => JSON.parse(f) as Record<string, unknown>);
    expect(failures.map((f) => [f['queue'], f['exception']])).toEqual([
      ['qa', 'Resque::PruneDeadWorkerDirtyExit'],
      ['qb', 'Resque::PruneDeadWorkerDirtyExit'],
    ]);
    expect(JSON.parse((await redis.get(k('job:b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0:status')))!)).toMatchObject({ status: 3 });
    expect(await redis.exists(k(`worker:${id}:claim`), k(`worker:${id}:claim:queues`))).toBe(0);

    await registerBusy(id, null, [fromB]);
    await redis.rpush(k(`worker:${id}:claim:queues`), 'qb');
    await pruner({ onDeadWorker: 'requeue' }).pruneDeadWorkers();
    expect(await redis.lrange(k('queue:qb'), 0, -1)).toEqual([fromB]);
    expect(await redis.exists(k(`worker:${id}:claim`), k(`worker:${id}:claim:queues`))).toBe(0);
  });

  it("does nothing while another pruner holds Ruby's lock", async () => {
    const id = `${hostname()}:${deadPid}:default`;
    await registerBusy(id, PHP_RAW);
    await redis.set(k('pruning_dead_workers_in_progress'), 'vm:1:ruby', 'EX', 60);
    expect(await pruner().pruneDeadWorkers()).toEqual([]);
    expect(await redis.sismember(k('workers'), id)).toBe(1);
    expect(await redis.get(k('pruning_dead_workers_in_progress'))).toBe('vm:1:ruby');
  });

  it('takes the lock over from a pruner of this host that was killed while holding it (no 60 s stall)', async () => {
    const id = `${hostname()}:${deadPid}:default`;
    await registerBusy(id, PHP_RAW);
    await redis.set(k('pruning_dead_workers_in_progress'), id, 'EX', 60); // the dead worker was pruning when killed
    const pruned = await pruner().pruneDeadWorkers();
    expect(pruned.map((p) => p.workerId)).toEqual([id]);
    expect(await redis.sismember(k('workers'), id)).toBe(0);
    expect(await redis.get(k('pruning_dead_workers_in_progress'))).toBeNull(); // released after the prune
  });

  it('takes the lock over from a pruner of another host paused past its own heartbeat threshold, not from a live one', async () => {
    const paused = 'otherhost:4242:default';
    await registerBusy(paused, PHP_RAW);
    await redis.hset(k('workers:heartbeat_interval'), paused, '1');
    await redis.set(k('pruning_dead_workers_in_progress'), paused, 'EX', 60);
    expect(await pruner({ pruneAfterSeconds: 3 }).pruneDeadWorkers()).toEqual([]); // heartbeat fresh: alive, its lock holds
    expect(await redis.get(k('pruning_dead_workers_in_progress'))).toBe(paused);

    const [now] = await redis.time();
    const stale = new Date((Number(now) - 10) * 1000).toISOString().replace(/\.\d+Z$/, '+00:00');
    await redis.hset(k('workers:heartbeat'), paused, stale); // paused (SIGSTOP) for 10 s, 3 × 1 s is its threshold
    const pruned = await pruner({ pruneAfterSeconds: 3 }).pruneDeadWorkers();
    expect(pruned.map((p) => [p.workerId, p.reason])).toEqual([[paused, 'heartbeat']]);
    expect(await redis.get(k('pruning_dead_workers_in_progress'))).toBeNull();
  });
});

describe('WorkerPruner: our workers unregistered by a peer', () => {
  const JOB_A = '{"class":"Echo","args":[{"n":1}],"id":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","queue_time":1.5}';
  const JOB_B = '{"class":"Echo","args":[{"n":2}],"id":"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb","queue_time":1.5}';

  /** What Ruby's unregister_worker leaves of a worker of ours: only its claim list and our claim heartbeat. */
  async function unregisteredByRuby(id: string, claimHeartbeat: string): Promise<void> {
    await redis.rpush(k(`worker:${id}:claim`), JOB_A, JOB_B);
    await redis.hset(k('workers:claim_heartbeat'), id, claimHeartbeat);
  }

  it('finds the claimed jobs of a dead worker a Ruby pruner unregistered (stale claim heartbeat) and fails them', async () => {
    const id = 'otherhost:4242:default';
    await unregisteredByRuby(id, '2020-01-01T00:00:00+00:00');
    const pruned = await pruner({ hostname: 'elsewhere' }).pruneDeadWorkers();
    expect(pruned).toEqual([{ workerId: id, reason: 'unregistered', jobs: [JOB_A, JOB_B], action: 'fail' }]);
    const failed = (await redis.lrange(k('failed'), 0, -1)).map((f) => JSON.parse(f) as { exception: string; payload: { id: string }; queue: string });
    expect(failed.map((f) => [f.exception, f.payload.id, f.queue])).toEqual([
      ['Resque::PruneDeadWorkerDirtyExit', 'a'.repeat(32), 'default'],
      ['Resque::PruneDeadWorkerDirtyExit', 'b'.repeat(32), 'default'],
    ]);
    expect(await redis.exists(k(`worker:${id}:claim`))).toBe(0);
    expect(await redis.hexists(k('workers:claim_heartbeat'), id)).toBe(0);
  });

  it('re-enqueues them byte for byte with onDeadWorker requeue; a dead pid on this host needs no stale heartbeat', async () => {
    const id = `${hostname()}:${deadPid}:default`;
    const [now] = await redis.time();
    await unregisteredByRuby(id, new Date(Number(now) * 1000).toISOString().replace(/\.\d+Z$/, '+00:00'));
    const pruned = await pruner({ onDeadWorker: 'requeue' }).pruneDeadWorkers();
    expect(pruned.map((p) => [p.workerId, p.reason, p.action])).toEqual([[id, 'unregistered', 'requeue']]);
    expect(await redis.lrange(k('queue:default'), 0, -1)).toEqual([JOB_A, JOB_B]);
    expect(await redis.exists(k(`worker:${id}:claim`))).toBe(0);
  });

  it('leaves alone a worker of another host whose claim heartbeat is fresh (it may be alive)', async () => {
    const id = 'otherhost:4242:default';
    const [now] = await redis.time();
    await unregisteredByRuby(id, new Date(Number(now) * 1000).toISOString().replace(/\.\d+Z$/, '+00:00'));
    expect(await pruner({ hostname: 'elsewhere' }).pruneDeadWorkers()).toEqual([]);
    expect(await redis.lrange(k(`worker:${id}:claim`), 0, -1)).toEqual([JOB_A, JOB_B]);
  });
});

describe('WorkerPruner: each worker judged by its own heartbeat interval', () => {
  /** A registered idle worker whose last heartbeat is `ageSeconds` old (Redis TIME), publishing `interval`. */
  async function beatAgo(id: string, ageSeconds: number, interval: number | null): Promise<void> {
    await registerBusy(id, null);
    const [now] = await redis.time();
    const at = new Date((Number(now) - ageSeconds) * 1000).toISOString().replace(/\.\d+Z$/, '+00:00');
    await redis.hset(k('workers:heartbeat'), id, at);
    if (interval !== null) await redis.hset(k('workers:heartbeat_interval'), id, String(interval));
  }

  it("a short pruneAfterSeconds here cannot prune another host's live worker (3 × its published interval)", async () => {
    await beatAgo('hostb:10:default', 25, 10); // 2.5 of its 10 s intervals: late, not dead
    await beatAgo('hostb:11:default', 35, 10); // 3.5 intervals: dead
    await beatAgo('hostc:12:default', 4, 1); // a host with 1 s heartbeats: dead after 3 s
    const pruned = await pruner({ hostname: 'hosta', pruneAfterSeconds: 3 }).pruneDeadWorkers();
    expect(pruned.map((p) => p.workerId).sort()).toEqual(['hostb:11:default', 'hostc:12:default']);
    expect(await redis.smembers(k('workers'))).toEqual(['hostb:10:default']);
    // The pruned ones' published intervals go with them; the live one's stays.
    expect(await redis.hgetall(k('workers:heartbeat_interval'))).toEqual({ 'hostb:10:default': '10' });
  });

  it("keeps Ruby's 300 s for workers that publish no interval (Ruby and php heartbeat every 60 s)", async () => {
    await beatAgo('rubyhost:20:default', 200, null);
    await beatAgo('rubyhost:21:default', 301, null);
    const pruned = await pruner({ hostname: 'hosta', pruneAfterSeconds: 3 }).pruneDeadWorkers();
    expect(pruned.map((p) => p.workerId)).toEqual(['rubyhost:21:default']);
    expect(await redis.smembers(k('workers'))).toEqual(['rubyhost:20:default']);
  });

  it('a patient pruner (pruneAfterSeconds above 3 intervals) waits for its own threshold', async () => {
    await beatAgo('hostb:30:default', 35, 10);
    expect(await pruner({ hostname: 'hosta', pruneAfterSeconds: 60 }).pruneDeadWorkers()).toEqual([]);
    expect(await redis.sismember(k('workers'), 'hostb:30:default')).toBe(1);
  });

  it('our workers publish their interval at registration and with every heartbeat, and remove it on unregister', async () => {
    const store = new WorkerStore(redis, keys, 2);
    const id = 'hosta:40:default';
    await store.register(id, new Date(), await store.serverTime());
    expect(await redis.hget(k('workers:heartbeat_interval'), id)).toBe('2');
    // Ruby and php read workers:heartbeat as times: nothing else goes there.
    expect(parseResqueTime(await redis.hget(k('workers:heartbeat'), id))).toBeInstanceOf(Date);
    await redis.hdel(k('workers:heartbeat_interval'), id);
    await store.heartbeat([id], await store.serverTime());
    expect(await redis.hget(k('workers:heartbeat_interval'), id)).toBe('2');
    await store.unregister(id, 'default');
    expect(await redis.exists(k('workers:heartbeat_interval'), k('workers:heartbeat'), k('workers:claim_heartbeat'))).toBe(0);
  });
});

describe('WorkerPruner: requeued jobs go back to the head of their queue', () => {
  it('in their original order: the in-flight job first, then the claim list, ahead of later jobs', async () => {
    const id = `${hostname()}:${deadPid}:default`;
    const [a, b, c] = [1, 2, 3].map((n) => `{"class":"Echo","args":[{"n":${n}}]}`) as [string, string, string];
    const later = '{"class":"Echo","args":[{"n":99}]}';
    await registerBusy(id, a, [b, c]);
    await redis.rpush(k('queue:default'), later);
    const pruned = await pruner({ onDeadWorker: 'requeue' }).pruneDeadWorkers();
    expect(pruned).toEqual([{ workerId: id, reason: 'pid', jobs: [a, b, c], action: 'requeue' }]);
    expect(await redis.lrange(k('queue:default'), 0, -1)).toEqual([a, b, c, later]);
  });

  it('each job of a several-queue worker at the head of its own queue, order kept per queue', async () => {
    const id = `${hostname()}:${deadPid}:qa,qb`;
    const [a, b, c, d] = [1, 2, 3, 4].map((n) => `{"class":"Echo","args":[{"n":${n}}]}`) as [string, string, string, string];
    await registerBusy(id, null, [a, b, c, d]);
    await redis.rpush(k(`worker:${id}:claim:queues`), 'qa', 'qb', 'qa', 'qb');
    await redis.rpush(k('queue:qa'), 'qa-later');
    await redis.rpush(k('queue:qb'), 'qb-later');
    await pruner({ onDeadWorker: 'requeue' }).pruneDeadWorkers();
    expect(await redis.lrange(k('queue:qa'), 0, -1)).toEqual([a, c, 'qa-later']);
    expect(await redis.lrange(k('queue:qb'), 0, -1)).toEqual([b, d, 'qb-later']);
  });
});

describe('unsafe prune settings', () => {
  it('a worker started with pruneAfterSeconds under 3 heartbeats fails to start with the reason, before writing to Redis', async () => {
    const worker = spawnWorker(server.url, { QUEUE: 'default' }, { heartbeatIntervalSeconds: 2, pruneAfterSeconds: 5 });
    await expect(worker.ready).rejects.toThrow(/pruneAfterSeconds must be at least 3 × heartbeatIntervalSeconds \(6\), got 5/);
    expect((await worker.exited).code).not.toBe(0);
    expect(await redis.dbsize()).toBe(0);
  });
});

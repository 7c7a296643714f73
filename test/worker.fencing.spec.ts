// A pooled worker (COUNT=2) frozen with SIGSTOP (host and children) past its heartbeat expiry is pruned by
// another host's pruner; after SIGCONT it must not start the jobs it had claimed, must not record outcomes
// of jobs taken back, must notice the prune, and re-register under a fresh id (or exit), losing nothing.
import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { encodePayload, ResqueKeys } from '../lib/protocol/index.js';
import type { DeadWorkerPolicy } from '../lib/worker/worker.options.js';
import { WorkerPruner } from '../lib/worker/worker.pruner.js';
import { killAllWorkers, spawnWorker, waitFor, type WorkerProcess } from './apps/worker-harness.js';
import { startRedis, type TestRedis } from './support/redis-server.js';

let server: TestRedis;
let redis: Redis;
const keys = new ResqueKeys('resque');
const k = (key: string) => `resque:${key}`;
const JOBS = 10;
const ids = Array.from({ length: JOBS }, (_, n) => `f${String(n).padStart(31, '0')}`);

/** The worker's children (pool slots), from /proc. */
function childrenOf(pid: number): number[] {
  return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
}

/** Freezes (or thaws) a whole worker: the host and its children, like a paused VM. */
function freeze(worker: WorkerProcess, signal: 'SIGSTOP' | 'SIGCONT'): void {
  const pids = [worker.pid, ...childrenOf(worker.pid)];
  for (const pid of signal === 'SIGSTOP' ? pids : pids.reverse()) process.kill(pid, signal);
}

interface Start {
  n: number;
  workerId: string;
}
const starts = async (): Promise<Start[]> => (await redis.lrange('t:starts', 0, -1)).map((s) => JSON.parse(s) as Start);
const nOf = (raw: string): number => (JSON.parse(raw) as { args: [{ n: number }] }).args[0].n;

async function statusOf(n: number): Promise<number | null> {
  const raw = await redis.get(k(`job:${ids[n]}:status`));
  return raw === null ? null : (JSON.parse(raw) as { status: number }).status;
}

/** Where each job is now: every job must be in exactly one place. */
async function whereabouts(): Promise<Map<number, string[]>> {
  const places = new Map<number, string[]>(ids.map((_, n) => [n, []]));
  const add = (raw: string, place: string) => places.get(nOf(raw))!.push(place);
  for (const raw of await redis.lrange(k('queue:fence'), 0, -1)) add(raw, 'queue');
  for (const f of await redis.lrange(k('failed'), 0, -1)) add(JSON.stringify((JSON.parse(f) as { payload: unknown }).payload), 'failed');
  for (const key of await redis.keys(k('worker:*'))) {
    if (key.endsWith(':claim')) for (const raw of await redis.lrange(key, 0, -1)) add(raw, 'claim');
    else if (!/:(started|claim:queues)$/.test(key)) add(JSON.stringify((JSON.parse((await redis.get(key))!) as { payload: unknown }).payload), 'running');
  }
  for (let n = 0; n < JOBS; n++) if ((await statusOf(n)) === 4) places.get(n)!.push('complete');
  return places;
}

beforeAll(async () => {
  server = await startRedis();
  redis = server.client();
}, 30_000);
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

/**
 * Runs the scenario: 10 jobs of 300 ms, the worker frozen once both slots run a job and hold claimed ones,
 * pruned by a pruner of "another host", then thawed. Returns what the test checks.
 */
async function frozenAndPruned(onDeadWorker: DeadWorkerPolicy, onPruned: 'reregister' | 'exit') {
  const worker = spawnWorker(
    server.url,
    { QUEUE: 'fence', COUNT: '2', INTERVAL: '0.05' },
    { onDeadWorker, onPruned, heartbeatIntervalSeconds: 0.25, pruneAfterSeconds: 1, pruneIntervalSeconds: 0.5, prefetch: 2 },
  );
  const oldIds = await worker.ready;
  // Jobs go in once both slots are up (a slot whose child boots first would otherwise take most of them).
  await redis.sadd(k('queues'), 'fence');
  for (let n = 0; n < JOBS; n++) {
    await redis.set(k(`job:${ids[n]}:status`), JSON.stringify({ status: 1, updated: 1 }));
    await redis.rpush(k('queue:fence'), encodePayload('Tally', { n, ms: 300, fail: n % 5 === 4 }, { id: ids[n]!, queueTime: 1 }));
  }
  // Both slots perform a job and hold claimed ones.
  await waitFor('both slots busy with jobs claimed ahead', async () => {
    for (const id of oldIds) {
      if ((await redis.exists(k(`worker:${id}`))) === 0 || (await redis.llen(k(`worker:${id}:claim`))) === 0) return false;
    }
    return true;
  }, 40_000);
  freeze(worker, 'SIGSTOP');
  const running = new Set<number>();
  const claimed = new Set<number>();
  for (const id of oldIds) {
    const record = await redis.get(k(`worker:${id}`));
    if (record) running.add(nOf(JSON.stringify((JSON.parse(record) as { payload: unknown }).payload)));
    for (const raw of await redis.lrange(k(`worker:${id}:claim`), 0, -1)) claimed.add(nOf(raw));
  }
  // Another host's pruner (short threshold) finds the heartbeats stale and takes the jobs back.
  const pruner = new WorkerPruner(redis, keys, { selfId: 'elsewhere:1:fence', hostname: 'elsewhere', pruneAfterSeconds: 1, onDeadWorker });
  const pruned = new Set<string>();
  await waitFor(
    'the frozen worker to be pruned',
    async () => {
      for (const p of await pruner.pruneDeadWorkers()) pruned.add(p.workerId);
      return oldIds.every((id) => pruned.has(id));
    },
    30_000,
  );
  const startsAtPrune = (await starts()).length;
  freeze(worker, 'SIGCONT');
  return { worker, oldIds, running, claimed, startsAtPrune };
}

describe('a frozen worker pruned by another host (fencing, notice)', () => {
  for (const onDeadWorker of ['fail', 'requeue'] as const) {
    it(`onDeadWorker ${onDeadWorker}: starts no claimed job after the prune, records no outcome of a job taken back, re-registers, loses nothing`, async () => {
      const { worker, oldIds, running, claimed, startsAtPrune } = await frozenAndPruned(onDeadWorker, 'reregister');
      expect(running.size).toBe(2);
      expect(claimed.size).toBeGreaterThan(0);
      // It notices, registers again under fresh ids, and works the queue to the end.
      const newIds = await waitFor('fresh registrations', async () => {
        const registered = await redis.smembers(k('workers'));
        return registered.length === 2 && registered.every((id) => !oldIds.includes(id)) ? registered : null;
      }, 40_000);
      expect(newIds.sort()).toEqual(oldIds.map((id) => id.replace(/:fence$/, '-r1:fence')).sort());
      // The pruned ids are never brought back to life by a heartbeat.
      for (const hash of ['workers:heartbeat', 'workers:claim_heartbeat']) {
        for (const id of oldIds) expect(await redis.hexists(k(hash), id)).toBe(0);
      }
      await waitFor(
        'the queue worked off',
        async () => (await redis.llen(k('queue:fence'))) === 0 && (await redis.exists(...newIds.map((id) => k(`worker:${id}`)))) === 0,
        40_000,
      );
      worker.signal('SIGQUIT');
      expect((await worker.exited).code).toBe(0);

      const all = await starts();
      // After the prune, only the fresh ids start jobs (never the pruned ones, never unregistered); a job that
      // was already running may record its start late.
      for (const s of all.slice(startsAtPrune)) if (!running.has(s.n)) expect(newIds, `job ${s.n}`).toContain(s.workerId);
      // The jobs it had claimed were not started by the pruned worker...
      for (const s of all) if (claimed.has(s.n)) expect(oldIds).not.toContain(s.workerId);
      // ...and its running jobs' outcomes were fenced, not recorded.
      expect(Number(await redis.get(k('stat:fenced')))).toBeGreaterThanOrEqual(running.size);
      const perJob = new Map<number, number>();
      for (const s of all) perJob.set(s.n, (perJob.get(s.n) ?? 0) + 1);
      for (const [n, times] of perJob) {
        // Only a job running when the pause began may run twice, and only when it was re-enqueued.
        expect(times, `job ${n} ran ${times} times`).toBeLessThanOrEqual(onDeadWorker === 'requeue' && running.has(n) ? 2 : 1);
      }
      // Every job in exactly one place, and none both failed and complete.
      const places = await whereabouts();
      for (const [n, where] of places) expect(where, `job ${n}`).toHaveLength(1);
      for (const n of running) expect(places.get(n)).toEqual(onDeadWorker === 'fail' ? ['failed'] : [n % 5 === 4 ? 'failed' : 'complete']);
      expect(worker.output().stderr).toMatch(/was pruned \(unregistered by a pruner that took its jobs back; noticed at its /);
      expect(await redis.hkeys(k('workers:heartbeat'))).toEqual([]);
    }, 120_000);
  }

  it("onPruned 'exit': the worker stops with exit code 75 instead of running unregistered; its jobs stay recoverable", async () => {
    const scenario = await frozenAndPruned('requeue', 'exit');
    const { worker, oldIds, claimed, startsAtPrune } = scenario;
    expect((await worker.exited).code).toBe(75);
    const { running } = scenario;
    const after = (await starts()).slice(startsAtPrune).filter((s) => !running.has(s.n));
    expect(after).toEqual([]);
    expect(await redis.smembers(k('workers'))).toEqual([]);
    for (const id of oldIds) expect(await redis.exists(k(`worker:${id}`), k(`worker:${id}:claim`))).toBe(0);
    // Claimed jobs went back to the queue (never started); nothing is lost.
    const queued = (await redis.lrange(k('queue:fence'), 0, -1)).map(nOf);
    for (const n of claimed) expect(queued).toContain(n);
    const places = await whereabouts();
    for (const [n, where] of places) expect(where, `job ${n}`).toHaveLength(1);
    expect(worker.output().stderr).toMatch(/was pruned .* stops the worker \(onPruned: exit\)/);
  }, 120_000);
});

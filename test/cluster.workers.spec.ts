// Past one machine: the parts that run beside the queue API on a real three-master Redis Cluster with a
// hash-tagged namespace. Pooled workers (real worker processes with forked children), two schedulers sharing
// Ruby's master lock, and the pruner cleaning up after a worker SIGKILLed mid-job. test/cluster.spec.ts
// covers the queue API and inline workers.
import type { INestApplicationContext } from '@nestjs/common';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Cluster } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { JobStatus, ResqueConnection, ResqueFailures, ResqueModule, ResqueQueue, ResqueScheduler, ResqueWorkers } from '../lib/index.js';
import { decodePayload } from '../lib/protocol/index.js';
import { ResqueWorkerHost } from '../lib/worker/index.js';
import { ATTEMPTS_KEY, CLUSTER_NAMESPACE, ClusterEchoJob, HELD_KEY, SEEN_KEY } from './apps/cluster-module.js';
import { isAlive, killAllWorkers, spawnWorker, waitFor, type WorkerProcess } from './apps/worker-harness.js';
import { startRedisCluster, type TestRedisCluster } from './support/redis-cluster.js';

let cluster: TestRedisCluster;
let client: Cluster;
let producer: ResqueConnection;
let queue: ResqueQueue;
const k = (key: string) => `${CLUSTER_NAMESPACE}:${key}`;

beforeAll(async () => {
  cluster = await startRedisCluster(3);
  client = new Cluster([...cluster.nodes]);
  producer = ResqueConnection.create(client, CLUSTER_NAMESPACE);
  queue = new ResqueQueue(producer);
}, 60_000);
afterAll(async () => {
  await killAllWorkers();
  await producer?.close();
  await client?.quit().catch(() => client.disconnect());
  await cluster?.stop();
});
beforeEach(async () => {
  await Promise.all(client.nodes('master').map((node) => node.flushall()));
});

/** A pooled worker process (test/apps/worker-main.ts) booting the cluster module, with php's env. */
function clusterWorker(env: Record<string, string>, options: Record<string, unknown> = {}): WorkerProcess {
  return spawnWorker('', { WORKER_APP: 'cluster', CLUSTER_NODES: JSON.stringify(cluster.nodes), INTERVAL: '0.05', ...env }, { isolation: 'pool', ...options });
}

async function numbers(...keys: string[]): Promise<number[]> {
  return (await Promise.all(keys.map((key) => client.get(k(key))))).map((v) => Number(v ?? 0));
}

interface Seen {
  id: string;
  pid: number;
  workerId: string;
  params: { n: number };
}

it('every key of the namespace hashes to one slot, so one master holds them all', async () => {
  const slots = await Promise.all(['queues', 'queue:q', 'workers', 'stat:processed', 'delayed_queue_schedule', `${CLUSTER_NAMESPACE}:resque_scheduler_master_lock`].map((key) => client.cluster('KEYSLOT', k(key))));
  expect(new Set(slots).size).toBe(1);
});

it('several namespaces spread the load: {mail} and {billing} live on two masters, each with its own workers', async () => {
  // The module's Cluster carries the jobs; each worker host keeps its books in its own namespace.
  @Module({ imports: [ResqueModule.forRoot({ connection: { cluster: [...cluster.nodes] }, namespace: CLUSTER_NAMESPACE, logger: false })], providers: [ClusterEchoJob] })
  class SpreadModule {}
  const namespaces = ['{mail}', '{billing}'];
  const queues = ['mail', 'billing']; // distinct worker ids for two hosts in one process
  const hosts = await Promise.all(
    namespaces.map((namespace, i) => ResqueWorkerHost.run(SpreadModule, { isolation: 'inline', queues: [queues[i]!], namespace, interval: 0.05, appOptions: { logger: false } })),
  );
  const connections = namespaces.map((namespace) => ResqueConnection.create(client, namespace));
  try {
    const ids = await Promise.all(connections.map((c, i) => new ResqueQueue(c).enqueueBulk(queues[i]!, Array.from({ length: 10 }, (_, n) => ({ job: 'ClusterEcho', params: { n: i * 10 + n } })))));
    await waitFor('20 jobs', async () => (await client.llen(SEEN_KEY)) === 20);
    const seen = (await client.lrange(SEEN_KEY, 0, -1)).map((s) => JSON.parse(s) as Seen);
    for (const [i, host] of hosts.entries()) {
      // Each namespace's jobs were performed by its own worker, once each.
      expect(seen.filter((s) => s.workerId === host.workerIds[0]).map((s) => s.id).sort()).toEqual([...ids[i]!].sort());
    }
    await waitFor('both counted', async () => (await Promise.all(namespaces.map((ns) => client.get(`${ns}:stat:processed`)))).every((v) => v === '10'));
    // One master per namespace, and not the same one.
    const owners = await Promise.all(
      namespaces.map(async (ns) => {
        // A master that does not serve the slot answers MOVED.
        const here = (node: ReturnType<Cluster['nodes']>[number]) =>
          node.exists(`${ns}:stat:processed`, `${ns}:workers`).catch((error: Error) => (/^MOVED /.test(error.message) ? -1 : Promise.reject(error)));
        const holding = await Promise.all(client.nodes('master').map(async (node) => ((await here(node)) === 2 ? node.options.port : null)));
        return holding.filter((port) => port !== null);
      }),
    );
    expect(owners.map((o) => o.length)).toEqual([1, 1]);
    expect(owners[0]![0]).not.toBe(owners[1]![0]);
  } finally {
    await Promise.all(hosts.map((h) => h.stop('quit')));
    await Promise.all(connections.map((c) => c.close()));
  }
});

describe('pooled workers on a Redis Cluster', () => {
  it('two slots in forked children (blocking BLMOVE) perform 60 jobs exactly once, count stats and record failures', async () => {
    const worker = clusterWorker({ QUEUE: 'q', COUNT: '2', BLOCKING: '1' });
    const ids = await worker.ready;
    expect(ids).toHaveLength(2);
    const jobs = Array.from({ length: 60 }, (_, n) => ({ job: 'ClusterEcho', params: { n } }));
    const echoed = (await queue.enqueueBulk('q', jobs, { track: true })) as string[];
    const failing = (await queue.enqueue('q', 'ClusterFail', { why: 'in a child' }, { track: true })) as string;
    await waitFor('61 jobs processed', async () => (await numbers('stat:processed'))[0] === 61);

    const seen = (await client.lrange(SEEN_KEY, 0, -1)).map((s) => JSON.parse(s) as Seen);
    expect(seen.map((s) => s.id).sort()).toEqual([...echoed].sort()); // each job once, none lost
    expect(seen.map((s) => s.params.n).sort((a, b) => a - b)).toEqual(jobs.map((j) => j.params.n));
    const pids = new Set(seen.map((s) => s.pid));
    expect(pids.has(worker.pid)).toBe(false); // performed in the children
    expect(pids.size).toBeLessThanOrEqual(2); // reused, one per slot
    expect(new Set(seen.map((s) => s.workerId)).size).toBeLessThanOrEqual(2);
    for (const s of seen) expect(ids).toContain(s.workerId);
    expect((await queue.status(echoed[59]!))?.status).toBe(JobStatus.COMPLETE);
    expect((await queue.status(failing))?.status).toBe(JobStatus.FAILED);

    expect(await numbers('stat:processed', 'stat:failed')).toEqual([61, 1]);
    const perSlot = await Promise.all(ids.map(async (id) => (await numbers(`stat:processed:${id}`))[0]!));
    expect(perSlot.reduce((a, b) => a + b, 0)).toBe(61);
    const failures = new ResqueFailures(producer);
    expect(await failures.count()).toBe(1);
    const [failure] = await failures.list(0, 1);
    expect(failure).toMatchObject({ className: 'ClusterFail', record: { exception: 'RangeError', error: 'cluster boom in a child', queue: 'q' } });
    expect(ids).toContain(failure!.record!.worker);

    expect((await client.smembers(k('workers'))).sort()).toEqual([...ids].sort());
    worker.signal('SIGQUIT');
    expect(await worker.exited).toEqual({ code: 0, signal: null });
    expect(await client.smembers(k('workers'))).toEqual([]);
    expect(await client.llen(k('queue:q'))).toBe(0);
    for (const id of ids) expect(await client.exists(k(`worker:${id}`), k(`worker:${id}:claim`), k(`worker:${id}:started`))).toBe(0);
  }, 60_000);
});

describe('the scheduler on a Redis Cluster', () => {
  const apps: INestApplicationContext[] = [];
  afterAll(async () => {
    await Promise.all(apps.map((app) => app.close()));
  });

  async function schedulerApp(): Promise<ResqueScheduler> {
    @Module({
      imports: [
        ResqueModule.forRoot({
          connection: { cluster: [...cluster.nodes] },
          namespace: CLUSTER_NAMESPACE,
          logger: false,
          schedules: { tick: { cron: '* * * * * *', class: 'ClusterEcho', queue: 'ticks', params: { from: 'cron' } } },
        }),
      ],
    })
    class SchedulerAppModule {}
    const app = await NestFactory.createApplicationContext(SchedulerAppModule, { logger: false, abortOnError: false });
    apps.push(app);
    return app.get(ResqueScheduler);
  }

  it('two schedulers: one holds the master lock, 300 delayed jobs are promoted once each, the cron schedule fires once per tick', async () => {
    const due = Math.floor(Date.now() / 1000) + 1;
    for (let n = 0; n < 300; n++) expect(await queue.enqueueAt(due + (n % 2), 'later', 'ClusterEcho', { n })).toBe(true);
    expect(await queue.delayedQueueScheduleSize()).toBe(2);

    const [a, b] = await Promise.all([schedulerApp(), schedulerApp()]);
    await Promise.all([a.start({ interval: 0.1, owner: 'scheduler-a' }), b.start({ interval: 0.1, owner: 'scheduler-b' })]);
    const lockKey = k(`${CLUSTER_NAMESPACE}:resque_scheduler_master_lock`); // Ruby's key: the namespace twice
    const holder = await client.get(lockKey);
    expect(['scheduler-a', 'scheduler-b']).toContain(holder);
    expect([a.isLeader, b.isLeader].filter(Boolean)).toHaveLength(1);
    expect(await client.ttl(lockKey)).toBeGreaterThan(0);

    await waitFor('the delayed jobs promoted', async () => (await queue.delayedQueueScheduleSize()) === 0 && (await queue.size('later')) === 300);
    const promoted = (await client.lrange(k('queue:later'), 0, -1)).map(decodePayload);
    expect(new Set(promoted.map((j) => j.id)).size).toBe(300);
    expect(promoted.map((j) => (j.params as { n: number }).n).sort((x, y) => x - y)).toEqual(Array.from({ length: 300 }, (_, n) => n));
    expect(await client.exists(k(`delayed:${due}`), k(`delayed:${due + 1}`))).toBe(0);

    await waitFor('three cron ticks', async () => (await queue.size('ticks')) >= 3);
    await Promise.all([a.stop(), b.stop()]);
    expect(await client.exists(lockKey)).toBe(0); // released by the leader
    const fired = (await client.lrange(k('queue:ticks'), 0, -1)).map(decodePayload);
    for (const job of fired) expect([job.className, job.args]).toEqual(['ClusterEcho', [{ from: 'cron' }]]);
    // Once per tick between the two schedulers: no more jobs than seconds between the first and last firing.
    const seconds = fired.map((j) => Math.floor(j.queueTime!));
    expect(new Set(fired.map((j) => j.id)).size).toBe(fired.length);
    expect(fired.length).toBeLessThanOrEqual(seconds[seconds.length - 1]! - seconds[0]! + 2);
    expect(Object.keys(await client.hgetall(k('scheduler_last_tick')))).toEqual(['tick']);
    expect(await client.smembers(k('queues'))).toEqual(expect.arrayContaining(['later', 'ticks']));
  }, 60_000);
});

describe('the pruner on a Redis Cluster', () => {
  it("a worker SIGKILLed mid-job is pruned by the next worker's start-up ('requeue': its jobs run once more), then that worker's own death is failed by pruneNow", async () => {
    // A: one slot, its child holds the first job; the two behind it are claimed ahead (prefetch 2).
    const a = clusterWorker({ QUEUE: 'hold', COUNT: '1' });
    const [deadId] = (await a.ready) as [string];
    const held = (await queue.enqueue('hold', 'ClusterHold', { n: 1 }, { track: true })) as string;
    const behind = (await queue.enqueueBulk('hold', [{ job: 'ClusterEcho', params: { n: 2 } }, { job: 'ClusterEcho', params: { n: 3 } }], { track: true })) as string[];
    const first = await waitFor('the held job to start', async () => {
      const [raw] = await client.lrange(HELD_KEY, 0, 0);
      return raw ? (JSON.parse(raw) as { pid: number; workerId: string }) : null;
    });
    expect(first.workerId).toBe(deadId);
    await waitFor('the jobs behind it claimed', async () => (await client.llen(k('queue:hold'))) === 0);
    a.signal('SIGKILL');
    expect(await a.exited).toEqual({ code: null, signal: 'SIGKILL' });
    await waitFor('its child to follow it', () => !isAlive(first.pid));
    expect(await client.sismember(k('workers'), deadId)).toBe(1); // nothing cleaned up: only a pruner can
    expect((await queue.status(held))?.status).toBe(JobStatus.RUNNING);

    // B prunes A when it starts: A's in-flight job and its claim list go back to the queue, and B runs them.
    const b = clusterWorker({ QUEUE: 'hold', COUNT: '1' }, { onDeadWorker: 'requeue' });
    const [liveId] = (await b.ready) as [string];
    await waitFor('the requeued jobs performed', async () => (await queue.status(held))?.status === JobStatus.COMPLETE && (await client.llen(SEEN_KEY)) === 2);
    expect(await client.hget(ATTEMPTS_KEY, held)).toBe('2'); // killed once, then performed once
    const seen = (await client.lrange(SEEN_KEY, 0, -1)).map((s) => JSON.parse(s) as Seen);
    expect(seen.map((s) => s.id).sort()).toEqual([...behind].sort()); // the claimed jobs ran once each
    expect(seen.every((s) => s.workerId === liveId)).toBe(true);
    expect(await client.smembers(k('workers'))).toEqual([liveId]);
    expect(await client.exists(k(`worker:${deadId}`), k(`worker:${deadId}:claim`), k(`worker:${deadId}:started`), k(`stat:processed:${deadId}`))).toBe(0);
    expect(await client.hget(k('workers:heartbeat'), deadId)).toBeNull();
    expect(await client.llen(k('failed'))).toBe(0);

    // B is SIGKILLed holding a job of its own: pruneNow (onDeadWorker 'fail') records it as Ruby's dirty exit.
    const doomed = (await queue.enqueue('hold', 'ClusterHold', { n: 4 }, { track: true })) as string;
    const second = await waitFor('the second held job to start', async () => {
      const raw = await client.lindex(HELD_KEY, -1);
      const entry = raw ? (JSON.parse(raw) as { id: string; pid: number }) : null;
      return entry?.id === doomed ? entry : null;
    });
    const processedBefore = (await numbers('stat:processed'))[0]!;
    b.signal('SIGKILL');
    await b.exited;
    await waitFor('its child to follow it', () => !isAlive(second.pid));
    const pruned = await new ResqueWorkers(producer).pruneNow();
    expect(pruned).toEqual([{ workerId: liveId, reason: 'pid', jobs: [expect.stringContaining(doomed)], action: 'fail' }]);
    const failures = new ResqueFailures(producer);
    const [failure] = await failures.list(0, 1);
    expect(await failures.count()).toBe(1);
    expect(failure).toMatchObject({
      className: 'ClusterHold',
      record: { exception: 'Resque::PruneDeadWorkerDirtyExit', worker: liveId, queue: 'hold', payload: { class: 'ClusterHold', id: doomed } },
    });
    expect(failure!.record!.error).toMatch(new RegExp(`^Worker ${liveId} did not gracefully exit while processing ClusterHold \\(process \\d+ is gone`));
    expect((await queue.status(doomed))?.status).toBe(JobStatus.FAILED);
    expect(await numbers('stat:processed', 'stat:failed')).toEqual([processedBefore + 1, 1]);
    expect(await client.smembers(k('workers'))).toEqual([]);
  }, 90_000);
});

// Redis Cluster: a real 3-master cluster (redis-server --cluster-enabled, joined by redis-cli). The queue API,
// delayed jobs, failures and an inline worker (polling and blocking) run with a hash-tagged namespace; a plain
// namespace is refused with an error that names the fix.
import type { INestApplicationContext } from '@nestjs/common';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Cluster, Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  JobStatus,
  ResqueConnection,
  ResqueFailures,
  ResqueModule,
  ResqueQueue,
  ResqueScheduler,
  ResqueWorkers,
} from '../lib/index.js';
import { describeCluster, isClusterConnection, namespaceHashTag, parseConnectionInput } from '../lib/connection/index.js';
import type { ResqueWorkerHandle, ResqueWorkerHostOptions } from '../lib/worker/index.js';
import { waitFor } from './apps/worker-harness.js';
import { startRedisCluster, type TestRedisCluster } from './support/redis-cluster.js';

let cluster: TestRedisCluster;
let client: Cluster;
let address: string;
const k = (key: string) => `{resque}:${key}`;

beforeAll(async () => {
  cluster = await startRedisCluster(3);
  client = new Cluster([...cluster.nodes]);
  address = `cluster ${cluster.ports.map((p) => `127.0.0.1:${p}`).join(',')}`;
});
afterAll(async () => {
  await client?.quit().catch(() => client.disconnect());
  await cluster?.stop();
});
beforeEach(async () => {
  // Every key of the namespace lives on the master that owns the {resque} slot.
  await Promise.all(client.nodes('master').map((node) => node.flushall()));
});

async function boot(imports: unknown[]): Promise<INestApplicationContext> {
  @Module({ imports: imports as never[] })
  class AppModule {}
  return NestFactory.createApplicationContext(AppModule, { logger: false, abortOnError: false });
}

describe('Redis Cluster connection', () => {
  it('uses a given Cluster with a {tagged} namespace: enqueue, status, bulk, dequeue, delayed, failures; never closes it', async () => {
    const app = await boot([ResqueModule.forRoot({ connection: client, namespace: '{resque}', logger: false })]);
    try {
      const connection = app.get(ResqueConnection);
      expect(connection.isCluster).toBe(true);
      expect(connection.ownsClient).toBe(false);
      expect(connection.address).toBe(address);
      const queue = app.get(ResqueQueue);

      const id = await queue.enqueue('q', 'ClusterEcho', { n: 1 }, { track: true });
      expect(id).toMatch(/^[0-9a-f]{32}$/);
      expect((await queue.status(id as string))?.status).toBe(JobStatus.WAITING);
      expect(await client.get(k(`job:${id}:status`))).toContain('"status":1');
      expect(await client.smembers(k('queues'))).toEqual(['q']);

      const ids = await queue.enqueueBulk('q', [
        { job: 'ClusterEcho', params: { n: 2 } },
        { job: 'ClusterEcho', params: { n: 3 } },
      ], { track: true });
      expect(await queue.size('q')).toBe(3);
      expect((await queue.status(ids[1] as string))?.status).toBe(JobStatus.WAITING);
      expect(await queue.dequeue('q', [{ ClusterEcho: { n: 2 } }])).toBe(1);
      expect((await queue.peek('q', 0, 5)).map((j) => ('params' in j ? j.params : null))).toEqual([{ n: 1 }, { n: 3 }]);

      const at = Math.floor(Date.now() / 1000) + 3600;
      expect(await queue.enqueueAt(at, 'q', 'ClusterEcho', { n: 4 })).toBe(true);
      expect(await queue.delayedQueueScheduleSize()).toBe(1);
      expect(await queue.delayedTimestampSize(at)).toBe(1);
      expect(await client.zrange(k('delayed_queue_schedule'), '0', '-1')).toEqual([String(at)]);
      expect(await queue.removeDelayed('q', 'ClusterEcho', { n: 4 })).toBe(1);
      expect(await queue.delayedQueueScheduleSize()).toBe(0);

      expect(await app.get(ResqueFailures).count()).toBe(0);
      expect(await queue.dequeue('q')).toBe(2);
    } finally {
      await app.close();
    }
    expect(client.status).toBe('ready'); // the user's client stays open
    expect(await client.ping()).toBe('PONG');
  });

  it('refuses a namespace without a hash tag, naming the fix, before opening any connection', async () => {
    const expected = /Redis Cluster \(cluster 127\.0\.0\.1:\d+,.*\) needs a hash-tagged namespace.*namespace: '\{resque\}'/;
    expect(() => ResqueConnection.create(client, 'resque')).toThrow(expected);
    expect(() => ResqueConnection.create(client)).toThrow(expected); // the default namespace is plain too
    expect(() => ResqueConnection.create({ cluster: cluster.nodes as Array<{ host: string; port: number }> }, 'myapp:')).toThrow(
      /namespace: '\{myapp\}'/,
    );
    expect(() => ResqueConnection.create(client, '{}x')).toThrow(/hash-tagged/); // an empty tag hashes the whole key
    await expect(boot([ResqueModule.forRoot({ connection: client, namespace: 'resque', logger: false })])).rejects.toThrow(expected);
    // A tagged namespace on the same client is accepted, and so is a second tagged one for a scheduler PREFIX.
    const ok = ResqueConnection.create(client, 'app{jobs}');
    expect(ok.keys.queue('x')).toBe('app{jobs}:queue:x');
    expect(ok.keysFor('{other}').prefix).toBe('{other}:');
    expect(() => ok.keysFor('other')).toThrow(/namespace: '\{other\}'/);
    await ok.close();
  });

  it('parses cluster options and names hash tags the way Redis hashes keys', () => {
    expect(parseConnectionInput({ cluster: [{ host: 'a', port: 7000 }, 'b:7001', 7002] })).toEqual({ cluster: [{ host: 'a', port: 7000 }, 'b:7001', 7002] });
    expect(() => parseConnectionInput({ cluster: [] })).toThrow(/non-empty array of startup nodes/);
    expect(() => parseConnectionInput({ cluster: [{ host: 'a', port: 1 }], password: 'x' })).toThrow(/move password into clusterOptions/);
    expect(describeCluster([{ host: 'a', port: 7000 }, 'redis://b:7001', 7002])).toBe('cluster a:7000,b:7001,127.0.0.1:7002');
    expect(namespaceHashTag('{resque}')).toBe('resque');
    expect(namespaceHashTag('app{jobs}x')).toBe('jobs');
    expect(namespaceHashTag('resque')).toBeNull();
    expect(namespaceHashTag('{}resque')).toBeNull();
    expect(namespaceHashTag('{resque')).toBeNull();
    // Every ioredis client has a cluster() method: a plain Redis is neither cluster options nor a Cluster.
    const plain = new Redis({ lazyConnect: true });
    expect(isClusterConnection(plain)).toBe(false);
    expect(parseConnectionInput(plain)).toBe(plain);
    plain.disconnect();
  });

  it('the scheduler promotes a due delayed job (Lua computing queue keys) on the cluster', async () => {
    const app = await boot([ResqueModule.forRoot({ connection: client, namespace: '{resque}', logger: false })]);
    try {
      const queue = app.get(ResqueQueue);
      const scheduler = app.get(ResqueScheduler);
      const at = Math.floor(Date.now() / 1000) + 1;
      expect(await queue.enqueueAt(at, 'later', 'ClusterEcho', { n: 5 })).toBe(true);
      expect(await queue.size('later')).toBe(0);
      await waitFor('the promotion', async () => (await scheduler.runOnce()).promoted === 1);
      expect((await queue.peek('later')).map((j) => ('params' in j ? j.params : null))).toEqual([{ n: 5 }]);
      expect(await queue.delayedQueueScheduleSize()).toBe(0);
      expect(await client.exists('{resque}:{resque}:resque_scheduler_master_lock')).toBe(0); // Ruby's lock key, released
    } finally {
      await app.close();
    }
  });

  it('creates and closes its own Cluster from { cluster: [...] }, and fails fast naming the cluster when none answers', async () => {
    const owned = ResqueConnection.create({ cluster: [...cluster.nodes] }, '{resque}');
    expect(owned.ownsClient).toBe(true);
    await owned.connect();
    expect(await owned.client.ping()).toBe('PONG');
    const blocking = owned.duplicate('resque-test');
    expect(blocking).toBeInstanceOf(Cluster);
    expect(await blocking.blmove(k('queue:none'), k('claim'), 'LEFT', 'LEFT', 0.05)).toBeNull();
    await owned.close();
    expect(owned.client.status).toBe('end');
    expect(blocking.status).toBe('end');

    const dead = ResqueConnection.create({ cluster: [{ host: '127.0.0.1', port: 1 }] }, '{resque}');
    await expect(dead.connect()).rejects.toThrow(/could not connect to Redis at cluster 127\.0\.0\.1:1: /);
    await dead.close();
  });
});

describe('inline worker on a Redis Cluster', () => {
  let run: (options: ResqueWorkerHostOptions) => Promise<ResqueWorkerHandle>;
  const handles: ResqueWorkerHandle[] = [];

  beforeAll(async () => {
    process.env['CLUSTER_NODES'] = JSON.stringify(cluster.nodes); // read by the module at import
    const [{ ResqueWorkerHost }, { ClusterWorkerModule }] = await Promise.all([
      import('../lib/worker/index.js'),
      import('./apps/cluster-module.js'),
    ]);
    run = async (options) => {
      const handle = await ResqueWorkerHost.run(ClusterWorkerModule, { isolation: 'inline', interval: 0.05, appOptions: { logger: false }, ...options });
      handles.push(handle);
      return handle;
    };
  });
  afterAll(async () => {
    await Promise.all(handles.map((h) => h.stop('quit')));
  });

  it.each([
    ['polling', false],
    ['blocking (BLMOVE on a duplicated Cluster)', true],
  ])('%s: performs a tracked job to COMPLETE and records a failure', async (_mode, blocking) => {
    const producer = ResqueConnection.create(client, '{resque}');
    const queue = new ResqueQueue(producer);
    try {
      const handle = await run({ queues: ['q'], blocking });
      const id = (await queue.enqueue('q', 'ClusterEcho', { hello: 'cluster' }, { track: true })) as string;
      const done = await waitFor('COMPLETE', async () => {
        const status = await queue.status(id);
        return status?.status === JobStatus.COMPLETE ? status : null;
      });
      expect(done.result).toEqual({ echoed: { hello: 'cluster' } });
      const seen = (await client.lrange(k('t:seen'), 0, -1)).map((s) => JSON.parse(s) as { id: string; workerId: string });
      expect(seen.map((s) => s.id)).toEqual([id]);
      expect(seen[0]!.workerId).toBe(handle.workerIds[0]);

      const failing = (await queue.enqueue('q', 'ClusterFail', { why: 'on purpose' }, { track: true })) as string;
      await waitFor('FAILED', async () => (await queue.status(failing))?.status === JobStatus.FAILED);
      const failures = new ResqueFailures(producer);
      expect(await failures.count()).toBe(1);
      expect((await failures.list(0, 1))[0]).toMatchObject({ className: 'ClusterFail', record: { exception: 'RangeError', error: 'cluster boom on purpose', queue: 'q' } });

      expect(await client.smembers(k('workers'))).toEqual(handle.workerIds);
      // resque-web's view reads every worker in one pipeline; the pruner's lock and script run too.
      const workers = new ResqueWorkers(producer);
      expect((await workers.list()).map((w) => [w.id, w.processed, w.failed])).toEqual([[handle.workerIds[0], 2, 1]]);
      expect(await workers.pruneNow()).toEqual([]); // our own live worker is not pruned
      await handle.stop('quit');
      expect(await client.smembers(k('workers'))).toEqual([]);
      expect(await client.get(k('stat:processed'))).toBe('2');
      expect(await client.get(k('stat:failed'))).toBe('1');
    } finally {
      await producer.close();
    }
  });
});

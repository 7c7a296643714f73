// Unique jobs on a real three-master Redis Cluster with a hash-tagged namespace: the lock keys live in the
// namespace's slot, so the enqueue, schedule, promote and release scripts that name them in ARGV (or route by
// the first one) run there.
import 'reflect-metadata';
import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ResqueConnection, ResqueQueue } from '../lib/index.js';
import { ResqueKeys } from '../lib/protocol/index.js';
import { promoteDue } from '../lib/scheduler/scheduler.promote.js';
import { UniqueFinishedJob, UniqueQueuedJob } from './apps/unique-jobs.js';
import { startRedisCluster, type TestRedisCluster } from './support/redis-cluster.js';

let cluster: TestRedisCluster;
let client: Cluster;
const keys = new ResqueKeys('{resque}');

beforeAll(async () => {
  cluster = await startRedisCluster(3);
  client = new Cluster([...cluster.nodes]);
});
afterAll(async () => {
  await client?.quit().catch(() => client.disconnect());
  await cluster?.stop();
});

describe('unique jobs on a Redis Cluster', () => {
  it('enqueue, enqueueIn, promotion and dequeue take and release the lock in the namespace slot', async () => {
    const queue = new ResqueQueue(ResqueConnection.create(client, '{resque}'));
    const first = await queue.enqueue('u', UniqueFinishedJob, { tag: 'c' });
    expect(await queue.enqueue('u', UniqueFinishedJob, { tag: 'c' })).toBe(first);
    expect(await client.get(keys.key('unique:UFinished:{"tag":"c"}'))).toBe(first);
    expect(await queue.dequeue('u', [{ UFinished: { tag: 'c' } }])).toBe(1);
    expect(await client.get(keys.key('unique:UFinished:{"tag":"c"}'))).toBeNull();

    const delayed = await queue.enqueueIn(600, 'u', UniqueQueuedJob, { tag: 'q' });
    expect(await queue.enqueue('u', UniqueQueuedJob, { tag: 'q' })).toBe(delayed);
    const owner = 'test';
    await client.set(keys.schedulerLock(), owner);
    const moved = await promoteDue(client, keys, { now: Math.floor(Date.now() / 1000) + 700, owner, lockKey: keys.schedulerLock(), lockTtl: 0, batchSize: 10, failureWorker: 'test' });
    expect(moved.moved).toBe(1);
    expect(await client.get(keys.key('unique:UQueued:{"tag":"q"}'))).toBeNull();
    expect(JSON.parse((await client.lindex(keys.queue('u'), 0))!)).toMatchObject({ id: delayed });
  });
});

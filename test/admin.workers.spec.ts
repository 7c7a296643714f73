import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { ResqueFailures, ResqueWorkers } from '../lib/admin/index.js';
import { ResqueConnection } from '../lib/connection/index.js';
import { loadKeys, readFixture, snapshot } from './support/fixtures.js';
import { startRedis, type TestRedis } from './support/redis-server.js';

let server: TestRedis;
let redis: Redis;
let connection: ResqueConnection;
let workers: ResqueWorkers;

beforeAll(async () => {
  server = await startRedis();
  redis = server.client();
  connection = ResqueConnection.create(server.url, 'resque', { logger: false });
  workers = new ResqueWorkers(connection);
});
afterAll(async () => {
  await connection.close();
  await server.stop();
});
beforeEach(async () => {
  await redis.flushall();
});

describe('ResqueWorkers', () => {
  it('lists busy php-resque and Ruby workers with their jobs, start times, heartbeats and stats', async () => {
    await loadKeys(redis, readFixture('php-worker-busy').keys);
    await loadKeys(redis, readFixture('ruby-worker-busy').keys);
    await redis.sadd('resque:workers', 'vm:1185:default'); // loadKeys replaced the shared set
    const list = await workers.list();
    expect(list.map((w) => w.id)).toEqual(['vm:1185:default', 'vm:1476:default']);
    const [php, ruby] = list;

    expect(php).toMatchObject({ host: 'vm', pid: 1185, queues: ['default'], state: 'working', processed: 1, failed: 0, heartbeat: null });
    expect(php!.started?.toISOString()).toBe('2026-11-26T21:02:01.000Z');
    expect(php!.startedRaw).toBe('Thu Nov 26 21:02:01 UTC 2026');
    expect(php!.job).toMatchObject({ queue: 'default', className: 'InteropSleep', runAtRaw: 'Thu Nov 26 21:02:03 UTC 2026' });
    expect(php!.job!.runAt?.toISOString()).toBe('2026-11-26T21:02:03.000Z');
    expect(php!.job!.payload).toMatchObject({ id: 'e5bf5ce7f19887b6fd58a2db245ce079', args: [{ path: 'a/b', uni: 'café' }] });

    expect(ruby).toMatchObject({ pid: 1476, state: 'working', processed: 1 });
    expect(ruby!.started?.toISOString()).toBe('2026-11-26T21:02:10.000Z');
    expect(ruby!.heartbeat?.toISOString()).toBe('2026-11-26T21:02:10.000Z');
    expect(ruby!.job!.runAt?.toISOString()).toBe('2026-11-26T21:02:12.000Z');
    expect(ruby!.job!.className).toBe('InteropSleep');

    expect((await workers.working()).length).toBe(2);
    expect((await workers.get('vm:1476:default'))?.job?.className).toBe('InteropSleep');
    expect(await workers.get('vm:1:nope')).toBeNull();
  });

  it('shows idle workers as idle and tolerates an unreadable job record', async () => {
    await loadKeys(redis, snapshot(readFixture('ruby-worker-busy'), 'idle'));
    await redis.sadd('resque:workers', 'vm:5:x');
    await redis.set('resque:worker:vm:5:x', 'garbage');
    const list = await workers.list();
    expect(list.map((w) => [w.id, w.state])).toEqual([
      ['vm:1476:default', 'idle'],
      ['vm:5:x', 'working'],
    ]);
    expect(list[0]!.job).toBeNull();
    expect(list[1]!.job).toMatchObject({ raw: 'garbage', className: null, runAt: null });
    expect(await workers.list()).toHaveLength(2);
    await redis.del('resque:workers');
    expect(await workers.list()).toEqual([]);
  });
});

describe('ResqueWorkers.pruneNow', () => {
  it('prunes a Ruby worker with a stale heartbeat: unregistered, its job failed as PruneDeadWorkerDirtyExit, then retryable', async () => {
    const fixture = readFixture('ruby-worker-busy');
    await loadKeys(redis, fixture.keys);
    await redis.del('resque:pruning_dead_workers_in_progress'); // Ruby's lock from the capture would stop us (as it should)
    // Make the heartbeat stale whatever this machine's clock says (Ruby's format), and pretend we run on
    // another host so only the heartbeat decides.
    await redis.hset('resque:workers:heartbeat', 'vm:1476:default', '2020-01-01T00:00:00+00:00');
    const pruned = await workers.pruneNow({ hostname: 'not-vm' });
    expect(pruned).toEqual([
      { workerId: 'vm:1476:default', reason: 'heartbeat', jobs: [JSON.stringify(JSON.parse(fixture.keys['resque:worker:vm:1476:default']!.value as string).payload)], action: 'fail' },
    ]);
    expect(await workers.list()).toEqual([]);
    expect(await redis.hexists('resque:workers:heartbeat', 'vm:1476:default')).toBe(0);
    const failures = new ResqueFailures(connection);
    const [entry] = await failures.list();
    expect(entry!.record).toMatchObject({ exception: 'Resque::PruneDeadWorkerDirtyExit', worker: 'vm:1476:default', queue: 'default' });
    expect(await failures.requeue(entry!)).toBe('default');
    expect(await redis.lrange('resque:queue:default', 0, -1)).toEqual(['{"class":"InteropSleep","args":[{"seconds":6,"path":"a/b","uni":"café"}]}']);
  });

  it('does nothing while another live pruner holds the lock', async () => {
    await loadKeys(redis, readFixture('ruby-worker-busy').keys);
    // The captured holder is alive now: its heartbeat is fresh (a holder past its own threshold is taken over).
    const [now] = await redis.time();
    await redis.hset('resque:workers:heartbeat', 'vm:1476:default', new Date(Number(now) * 1000).toISOString().replace(/\.\d+Z$/, '+00:00'));
    expect(await workers.pruneNow({ hostname: 'not-vm' })).toEqual([]);
    expect((await workers.list()).map((w) => w.id)).toEqual(['vm:1476:default']);
  });
});

// Nest's shutdown hooks run on QUIT: the user's beforeApplicationShutdown/onApplicationShutdown, in the
// worker parent and in each pooled child (real processes, real signals).
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseWorkerId } from '../lib/protocol/index.js';
import { killAllWorkers, spawnWorker } from './apps/worker-harness.js';
import { startRedis, type TestRedis } from './support/redis-server.js';

let server: TestRedis;
let redis: Redis;

beforeAll(async () => {
  server = await startRedis();
  redis = server.client();
});
afterAll(async () => {
  await killAllWorkers();
  await server.stop();
});

describe('worker shutdown', () => {
  it("runs the module's Nest shutdown hooks in the parent and in every child on QUIT", async () => {
    const worker = spawnWorker(server.url, { QUEUE: 'shutdown', COUNT: '2', INTERVAL: '0.05' });
    const ids = await worker.ready;
    const childPid = parseWorkerId(ids[1]!)!.pid;
    worker.signal('SIGQUIT');
    expect(await worker.exited).toEqual({ code: 0, signal: null });
    const hooks = await redis.lrange('t:shutdown', 0, -1);
    for (const hook of ['beforeApplicationShutdown', 'onApplicationShutdown']) {
      expect(hooks).toContain(`parent:${hook}:${worker.pid}`);
      expect(hooks).toContain(`child:${hook}:${childPid}`);
    }
    // Each process ran its hooks in Nest's order, and the worker was unregistered.
    expect(hooks.indexOf(`parent:beforeApplicationShutdown:${worker.pid}`)).toBeLessThan(hooks.indexOf(`parent:onApplicationShutdown:${worker.pid}`));
    expect(hooks.filter((h) => h.startsWith('child:beforeApplicationShutdown'))).toHaveLength(2);
    expect(await redis.smembers('resque:workers')).toEqual([]);
  }, 60_000);
});

// maxChildMemoryMb: a pooled child whose RSS passes the limit after a job is replaced (real processes).
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { killAllWorkers, spawnWorker, waitFor } from './apps/worker-harness.js';
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
beforeEach(async () => {
  await redis.flushall();
});

async function runCountJobs(options: Record<string, unknown>, jobs: number): Promise<number> {
  const worker = spawnWorker(server.url, { QUEUE: 'mem', INTERVAL: '0.05' }, options);
  await worker.ready;
  await redis.sadd('resque:queues', 'mem');
  for (let n = 0; n < jobs; n++) {
    await redis.rpush('resque:queue:mem', JSON.stringify({ class: 'Count', args: [{ n }], id: `mem${n}` }));
    // One at a time, so each job lands on whichever child the slot has after the previous one.
    await waitFor(`job ${n}`, async () => Number(await redis.get('resque:stat:processed')) === n + 1);
  }
  worker.signal('SIGQUIT');
  expect(await worker.exited).toEqual({ code: 0, signal: null });
  expect(await redis.llen('resque:failed')).toBe(0);
  return redis.scard('t:pids');
}

describe('maxChildMemoryMb', () => {
  it('replaces a child whose RSS is above the limit after a job; without a limit one child does every job', async () => {
    // Any Nest child uses far more than 1 MB: each job gets a fresh child.
    expect(await runCountJobs({ maxChildMemoryMb: 1 }, 3)).toBe(3);
    await redis.flushall();
    expect(await runCountJobs({}, 3)).toBe(1);
  }, 60_000);
});

// A full Redis (maxmemory + noeviction) refuses the writes that record jobs' outcomes: the worker must keep
// each job in its in-flight record and retry until memory is freed, never drop it; enqueueBulk must say OOM.
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ResqueModule, ResqueQueue } from '../lib/index.js';
import { encodePayload } from '../lib/protocol/index.js';
import { killAllWorkers, spawnWorker, waitFor } from './apps/worker-harness.js';
import { startRedis, type TestRedis } from './support/redis-server.js';

let server: TestRedis;
let redis: Redis;
const k = (key: string) => `resque:${key}`;
const JOBS = 40;
const ids = Array.from({ length: JOBS }, (_, n) => `00${String(n).padStart(30, '0')}`);
/** Jobs 6–11 are slow failures: Redis fills while both slots run one, so their failure records meet it. */
const slowFailure = (n: number) => n >= 6 && n < 12;
const fails = (n: number) => slowFailure(n) || (n >= 12 && n % 3 === 0);

beforeAll(async () => {
  server = await startRedis();
  redis = server.client();
  await redis.config('SET', 'maxmemory-policy', 'noeviction');
}, 30_000);
afterAll(async () => {
  await redis.config('SET', 'maxmemory', '0').catch(() => undefined);
  await killAllWorkers();
  await server.stop();
});

describe('a full Redis (maxmemory, noeviction)', () => {
  it('loses no job: outcomes Redis refuses stay in worker:<id> and are retried until written', async () => {
    await redis.sadd(k('queues'), 'oom');
    for (let n = 0; n < JOBS; n++) {
      await redis.set(k(`job:${ids[n]}:status`), JSON.stringify({ status: 1, updated: 1 }));
      // quiet: the jobs themselves write nothing, so only the worker's own bookkeeping meets the OOM.
      const ms = slowFailure(n) ? 1_500 : 40;
      await redis.rpush(k('queue:oom'), encodePayload('Tally', { n, ms, fail: fails(n), quiet: true }, { id: ids[n]!, queueTime: 1 }));
    }
    const worker = spawnWorker(server.url, { QUEUE: 'oom', COUNT: '2', INTERVAL: '0.05' });
    const workerIds = await worker.ready;
    // Both slots busy with a slow failing job: the next write of each is that job's failure record.
    const runningSlow = async () => {
      const records = await redis.mget(workerIds.map((id) => k(`worker:${id}`)));
      return records.every((r) => r !== null && /"ms":1500/.test(r));
    };
    await waitFor('both slots running a slow failing job', runningSlow, 40_000);
    await redis.config('SET', 'maxmemory', '1'); // every write that needs memory is refused from now on
    // A failing job meets the full Redis: its failure record cannot be written (the worker says so; before
    // the fix it said "could not record a failure" once it gave up).
    await waitFor('a failure record refused', () => /could not (write the failure of job|record a failure)/.test(worker.output().stderr), 40_000);
    // Longer than the old five tries (2 s) after which a failure record was given up.
    await new Promise((r) => setTimeout(r, 3_000));
    await redis.config('SET', 'maxmemory', '0');
    await waitFor(
      'the queue worked off',
      async () => (await redis.llen(k('queue:oom'))) === 0 && (await redis.exists(...workerIds.flatMap((id) => [k(`worker:${id}`), k(`worker:${id}:claim`)]))) === 0,
      40_000,
    );
    worker.signal('SIGQUIT');
    expect((await worker.exited).code).toBe(0);

    const failed = (await redis.lrange(k('failed'), 0, -1)).map((f) => (JSON.parse(f) as { payload: { id: string } }).payload.id);
    const lost: number[] = [];
    for (let n = 0; n < JOBS; n++) {
      const status = (JSON.parse((await redis.get(k(`job:${ids[n]}:status`)))!) as { status: number }).status;
      const inFailed = failed.filter((id) => id === ids[n]).length;
      if (status !== 4 && inFailed === 0) lost.push(n);
      // Each job ends in exactly one place: failed (once) or complete.
      expect([status, inFailed], `job ${n}`).toEqual(fails(n) ? [3, 1] : [4, 0]);
    }
    expect(lost).toEqual([]);
    expect(worker.output().stderr).toMatch(/could not write the failure of job Tally \(id 0+\d+\): OOM command not allowed/);
    expect(await redis.mget(k('stat:processed'), k('stat:failed'))).toEqual([String(JOBS), String(failed.length)]);
  }, 120_000);

  it('enqueueBulk rejects with the OOM error itself, not EXECABORT', async () => {
    @Module({ imports: [ResqueModule.forRoot({ connection: server.url })] })
    class AppModule {}
    const app = await NestFactory.createApplicationContext(AppModule, { logger: false });
    try {
      await redis.config('SET', 'maxmemory', '1');
      const queue = app.get(ResqueQueue);
      await expect(queue.enqueueBulk('oom', [{ job: 'Tally', params: { n: 1 } }])).rejects.toThrow(/^OOM command not allowed/);
    } finally {
      await redis.config('SET', 'maxmemory', '0');
      await app.close();
    }
  });
});

// Retries under faults: a worker SIGKILLed mid-job is found dead by the next worker's pruner, which counts
// the attempt and retries the job in the prune script (once: never twice, never a failure record); a TERM that
// interrupts a job (onInterrupted 'fail') counts as an attempt too.
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { NestFactory } from '@nestjs/core';
import { JobStatus, ResqueConnection, ResqueEvents, ResqueQueue, ResqueWorkers } from '../lib/index.js';
import { parseWorkerId } from '../lib/protocol/index.js';
import { isAlive, killAllWorkers, spawnWorker, waitFor } from './apps/worker-harness.js';
import { startRedis, type TestRedis } from './support/redis-server.js';

let server: TestRedis;
let redis: Redis;
let connection: ResqueConnection;
let queue: ResqueQueue;
const k = (key: string) => `resque:${key}`;
const ENTRY = 'test/apps/retry-main.ts';

async function attempts(tag: string): Promise<number[]> {
  return (await redis.lrange(`t:attempts:${tag}`, 0, -1)).map(Number);
}

beforeAll(async () => {
  server = await startRedis();
  redis = server.client();
  connection = new ResqueConnection({ connection: server.url });
  queue = new ResqueQueue(connection, new ResqueEvents({ logger: false }));
}, 60_000);
afterAll(async () => {
  await killAllWorkers();
  await connection.onApplicationShutdown();
  await server.stop();
});
beforeEach(async () => {
  await redis.flushall();
});

describe('a worker SIGKILLed mid-job', () => {
  it("the pruner counts the attempt exactly once and retries the job once; the retry's success cleans the counter", async () => {
    const first = spawnWorker(server.url, { QUEUE: 'retry-kill', INTERVAL: '0.05' }, {}, ENTRY);
    const [workerId] = await first.ready;
    const id = (await queue.enqueue('retry-kill', 'Flaky', { tag: 'kill', okOn: 2, how: 'hang' }, { track: true })) as string;
    await waitFor('attempt 1 running', async () => (await attempts('kill')).length === 1 && (await redis.exists(k(`worker:${workerId!}`))) === 1);
    first.signal('SIGKILL');
    await first.exited;
    // Pool mode: the worker id carries the child's pid; the child follows its parent (parent guard).
    const childPid = parseWorkerId(workerId!)!.pid;
    await waitFor('the child to exit', () => !isAlive(childPid));
    expect(await redis.sismember(k('workers'), workerId!)).toBe(1);

    // The next worker prunes it at start: DirtyExit counted against Flaky's policy, retried at once (backoff[0] = 0).
    const second = spawnWorker(server.url, { QUEUE: 'retry-kill', INTERVAL: '0.05' }, {}, ENTRY);
    await second.ready;
    await waitFor('attempt 2 to complete', async () => (await queue.status(id))?.status === JobStatus.COMPLETE, 30_000);
    expect(await attempts('kill')).toEqual([1, 2]);
    expect(await redis.sismember(k('workers'), workerId!)).toBe(0);
    expect(await redis.llen(k('failed'))).toBe(0);
    expect(await redis.keys(k('resque-retry:*'))).toEqual([]);
    // The pruner's failure counted in stat:failed (as Ruby's worker does for a retried attempt).
    expect(await redis.get(k('stat:failed'))).toBe('1');
    second.signal('SIGQUIT');
    await second.exited;
  }, 60_000);

  it("ResqueWorkers.pruneNow() in an app that has the class does the same: one count (resque-retry's 0), the retry stamped attempt 2", async () => {
    const first = spawnWorker(server.url, { QUEUE: 'retry-kill2', INTERVAL: '0.05' }, {}, ENTRY);
    const [deadId] = await first.ready;
    await queue.enqueue('retry-kill2', 'Flaky', { tag: 'kill2', okOn: 0, how: 'hang' });
    await waitFor('attempt 1 running', async () => (await attempts('kill2')).length === 1 && (await redis.exists(k(`worker:${deadId!}`))) === 1);
    first.signal('SIGKILL');
    await first.exited;
    await waitFor('the child to exit', () => !isAlive(parseWorkerId(deadId!)!.pid));
    process.env['REDIS_URL'] = server.url;
    const { RetryTestModule } = await import('./apps/retry-module.js');
    const app = await NestFactory.createApplicationContext(RetryTestModule, { logger: false });
    try {
      const pruned = await app.get(ResqueWorkers).pruneNow();
      expect(pruned.map((p) => p.workerId)).toEqual([deadId]);
      // Pruning again finds nothing: the attempt cannot be counted twice.
      expect(await app.get(ResqueWorkers).pruneNow()).toEqual([]);
    } finally {
      await app.close();
    }
    const [raw, ...more] = await redis.lrange(k('queue:retry-kill2'), 0, -1);
    expect(more).toEqual([]);
    expect(JSON.parse(raw!)).toMatchObject({ class: 'Flaky', args: [{ tag: 'kill2', okOn: 0, how: 'hang' }], retry_attempt: 2 });
    const [counter] = await redis.keys(k('resque-retry:Flaky:*'));
    expect(await redis.get(counter!)).toBe('0'); // resque-retry's value: one retry made
    expect(await redis.llen(k('failed'))).toBe(0);
  }, 60_000);
});

describe('a TERM that interrupts a job', () => {
  it("with onInterrupted 'fail' counts as an attempt: the job is retried (TermException), not recorded", async () => {
    const worker = spawnWorker(server.url, { QUEUE: 'retry-term', INTERVAL: '0.05' }, { termTimeoutMs: 200 }, ENTRY);
    await worker.ready;
    await queue.enqueue('retry-term', 'Flaky', { tag: 'term', okOn: 2, how: 'hang' });
    await waitFor('attempt 1 running', async () => (await attempts('term')).length === 1);
    worker.signal('SIGTERM');
    await worker.exited;
    expect(await redis.llen(k('failed'))).toBe(0);
    const [raw] = await redis.lrange(k('queue:retry-term'), 0, -1);
    expect(JSON.parse(raw!)).toMatchObject({ class: 'Flaky', retry_attempt: 2 });
    const events = (await redis.lrange('t:onRetry', 0, -1)).map((s) => JSON.parse(s) as Record<string, unknown>);
    expect(events).toMatchObject([{ className: 'Flaky', attempt: 1, delay: 0 }]);
    expect(events[0]!['error']).toMatch(/^Resque::TermException: /);
  }, 60_000);
});

// Retries with back-off (README "Job policies"): resque-retry's counter key and semantics, the retry in the
// fail script (immediate, or through the delayed queue our scheduler promotes), exhaustion recorded once with
// its attempts, the `on` filter, limit 0, the per-enqueue override, ctx.attempt, onRetry, the onFailure
// listener stop, pool mode (the child's verdict; a dead child counted) and the testing module.
import 'reflect-metadata';
import { createHash } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import type { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DoNotRecordFailureError, Job, JobStatus, Perform, ResqueConnection, ResqueEvents, ResqueQueue, type ResqueJobContext, type RetryEvent } from '../lib/index.js';
import { assertRetryPolicy, retryCounterKey, retryVerdict } from '../lib/policies/policy.retry.js';
import { promoteDue } from '../lib/scheduler/scheduler.promote.js';
import { ResqueTestingModule, ResqueTestingQueue } from '../lib/testing/index.js';
import type { ResqueWorkerHandle } from '../lib/worker/index.js';
import { SlotStore, WorkerStore } from '../lib/worker/worker.store.js';
import { killAllWorkers, spawnWorker, waitFor } from './apps/worker-harness.js';
import { startRedis, type TestRedis } from './support/redis-server.js';

let server: TestRedis;
let redis: Redis;
let connection: ResqueConnection;
let queue: ResqueQueue;
const handles: ResqueWorkerHandle[] = [];
const k = (key: string) => `resque:${key}`;
const sha1 = (s: string) => createHash('sha1').update(s).digest('hex');

async function attempts(tag: string): Promise<number[]> {
  return (await redis.lrange(`t:attempts:${tag}`, 0, -1)).map(Number);
}
async function failures(): Promise<Array<Record<string, unknown>>> {
  return (await redis.lrange(k('failed'), 0, -1)).map((s) => JSON.parse(s) as Record<string, unknown>);
}
async function retried(): Promise<Array<Record<string, unknown>>> {
  return (await redis.lrange('t:onRetry', 0, -1)).map((s) => JSON.parse(s) as Record<string, unknown>);
}
/** Moves every delayed item to its queue now, as the scheduler does once it is due. */
async function promoteAll(): Promise<number> {
  const result = await promoteDue(connection.client, connection.keys, {
    now: Math.floor(Date.now() / 1000) + 3600,
    owner: '',
    lockKey: k('resque_scheduler_master_lock'),
    lockTtl: 0,
    batchSize: 100,
    failureWorker: 'test',
  });
  return result.moved;
}
/** The counter key of a job enqueued through ResqueQueue (args = [params]): our digest of the canonical JSON. */
function counterKeyOf(className: string, params: Record<string, unknown>): string {
  const canonical = `[{${Object.keys(params).sort().map((key) => `${JSON.stringify(key)}:${JSON.stringify(params[key])}`).join(',')}}]`;
  return k(`resque-retry:${className}:${sha1(canonical)}`);
}

beforeAll(async () => {
  server = await startRedis();
  redis = server.client();
  process.env['REDIS_URL'] = server.url;
  connection = new ResqueConnection({ connection: server.url });
  queue = new ResqueQueue(connection, new ResqueEvents({ logger: false }));
}, 60_000);
afterAll(async () => {
  await Promise.all(handles.map((h) => h.stop('quit')));
  await killAllWorkers();
  await connection.onApplicationShutdown();
  await server.stop();
});

describe('the policy', () => {
  it('refuses a bad declaration at decoration, naming the problem', () => {
    expect(() => Job('X', { retry: { limit: -1 } })).toThrow(/@Job\('X'\) retry\.limit must be an integer >= 0 or Infinity, got -1/);
    expect(() => Job('X', { retry: { limit: 1, backoff: [] } })).toThrow(/retry\.backoff must not be an empty array/);
    expect(() => Job('X', { retry: { limit: 1, backoff: { exponential: { base: 1, factor: 0.5 } } } })).toThrow(/factor must be a number >= 1/);
    expect(() => Job('X', { retry: { limit: 1, on: [] } })).toThrow(/retry\.on must be a non-empty array/);
    expect(() => assertRetryPolicy({ limit: Infinity, backoff: (n: number) => n }, 'p')).not.toThrow();
  });

  it("picks the wait as resque-retry does (index = retries made, last repeats), exponential, or a function; filters by class or predicate", () => {
    const error = new Error('x');
    expect([1, 2, 3, 4, 5].map((a) => retryVerdict({ limit: 9, backoff: [0, 10, 60] }, a, error).delay)).toEqual([0, 10, 60, 60, 60]);
    expect([1, 2, 3, 4].map((a) => retryVerdict({ limit: 9, backoff: { exponential: { base: 2, max: 10 } } }, a, error).delay)).toEqual([2, 4, 8, 10]);
    expect(retryVerdict({ limit: 9, backoff: (attempt, e) => (e.message === 'x' ? attempt * 1.5 : 0) }, 3, error).delay).toBe(5); // ceil(4.5)
    class Transient extends Error {}
    expect(retryVerdict({ limit: 9, on: [Transient] }, 1, error).retry).toBe(false);
    expect(retryVerdict({ limit: 9, on: [Transient] }, 1, new Transient('t')).retry).toBe(true);
    expect(retryVerdict({ limit: 9, on: (e) => e.message === 'x' }, 1, error).retry).toBe(true);
    expect(retryVerdict({ limit: 0 }, 1, error).retry).toBe(false);
  });

  it("keys the counter resque-retry's way: SHA1 of args.join('-') for scalars, no identifier for no args, whitespace removed", () => {
    expect(retryCounterKey('resque:', 'Charge', ['abc', 12, true, null, ['x', 2]], { limit: 1 })).toBe(`resque:resque-retry:Charge:${sha1('abc-12-true--x-2')}`);
    expect(retryCounterKey('resque:', 'Charge', [], { limit: 1 })).toBe('resque:resque-retry:Charge');
    expect(retryCounterKey('resque:', 'Charge', [{ b: 1, a: 2 }], { limit: 1 })).toBe(`resque:resque-retry:Charge:${sha1('[{"a":2,"b":1}]')}`);
    expect(retryCounterKey('resque:', 'Charge', [{ id: 7 }], { limit: 1, identifier: (args) => `order ${(args[0] as { id: number }).id}` })).toBe('resque:resque-retry:Charge:order7');
  });
});

describe('the fail script', () => {
  it("is fenced with a retry too: a pruned worker's late outcome neither counts nor retries (only stat:fenced)", async () => {
    const store = new SlotStore(new WorkerStore(connection.client, connection.keys), 'ghost:1:fenced', 'fenced');
    const key = k('resque-retry:Flaky:fenced');
    const reply = await store.fail('{"failure":1}', null, 'fenced', { stopRecord: false, retry: { key, limit: 5, delay: 0, ttl: 60, body: '{"class":"Flaky","args":[]' } });
    expect(reply).toEqual({ kind: 'fenced' });
    expect(await redis.exists(key)).toBe(0);
    expect(await redis.llen(k('queue:fenced'))).toBe(0);
    expect(await redis.llen(k('failed'))).toBe(0);
    expect(await redis.get(k('stat:fenced'))).toBe('1');
  });
});

describe('inline worker', () => {
  const metrics = new Registry();
  beforeAll(async () => {
    const [{ ResqueWorkerHost }, { RetryTestModule }] = await Promise.all([import('../lib/worker/index.js'), import('./apps/retry-module.js')]);
    handles.push(
      await ResqueWorkerHost.run(RetryTestModule, { isolation: 'inline', queues: ['retry-inline'], interval: 0.05, appOptions: { logger: false }, metrics: { registry: metrics } }),
    );
  });
  beforeEach(async () => {
    const keys = await redis.keys('t:*');
    if (keys.length > 0) await redis.del(...keys);
    await redis.del(k('failed'), k('stat:failed'), k('stat:processed'));
  });

  it('fails twice then succeeds on its 3rd attempt: at once, then through the delayed queue; ctx.attempt 1, 2, 3; onRetry; the counter cleaned', async () => {
    const params = { tag: 'three', okOn: 3 };
    const id = (await queue.enqueue('retry-inline', 'Flaky', params, { track: true })) as string;
    const counter = counterKeyOf('Flaky', params);
    // Attempt 1 failed: re-enqueued at once (backoff[0] = 0); attempt 2 failed: delayed 1 s (backoff[1]).
    const [item] = await waitFor('the second retry in the delayed queue', async () => {
      const due = await redis.zrange(k('delayed_queue_schedule'), '0', '-1');
      return due.length === 1 ? redis.lrange(k(`delayed:${due[0]}`), 0, -1) : null;
    });
    expect(await attempts('three')).toEqual([1, 2]);
    expect(JSON.parse(item!)).toEqual({ class: 'Flaky', args: [params], queue: 'retry-inline', id, retry_attempt: 3 });
    expect(await redis.smembers(k(`timestamps:${item}`))).toHaveLength(1);
    // resque-retry's value: the retries made before the attempt that failed; TTL = wait + 86400.
    expect(await redis.get(counter)).toBe('1');
    const ttl = await redis.ttl(counter);
    expect(ttl).toBeGreaterThan(86_000);
    expect(ttl).toBeLessThanOrEqual(86_401);
    expect(await failures()).toEqual([]);
    expect((await queue.status(id))?.status).toBe(JobStatus.WAITING);
    expect(await promoteAll()).toBe(1);
    await waitFor('attempt 3 to complete', async () => (await queue.status(id))?.status === JobStatus.COMPLETE);
    expect(await attempts('three')).toEqual([1, 2, 3]);
    expect((await queue.status(id))?.result).toBe('ok on 3');
    expect(await redis.exists(counter)).toBe(0);
    expect(await failures()).toEqual([]);
    expect((await retried()).map(({ attempt, delay, error }) => ({ attempt, delay, error }))).toEqual([
      { attempt: 1, delay: 0, error: 'TransientError: transient 1' },
      { attempt: 2, delay: 1, error: 'TransientError: transient 2' },
    ]);
    const counted = (await metrics.getSingleMetric('resque_job_retries_total')!.get()).values;
    expect(counted).toEqual([{ labels: { class: 'Flaky', queue: 'retry-inline' }, value: 2 }]);
    // Ruby's worker counts each failed attempt in stat:failed; only the last outcome lands in `failed`.
    expect(await redis.get(k('stat:failed'))).toBe('2');
    expect(await redis.get(k('stat:processed'))).toBe('3');
  });

  it('exhausting the limit (a per-enqueue override: limit 2, no wait) records ONE failure with its attempts, and drops the counter', async () => {
    const params = { tag: 'never', okOn: 0 };
    await queue.enqueue('retry-inline', 'Flaky', params, { retry: { limit: 2, backoff: 0 } });
    const [failure] = await waitFor('the failure', async () => ((await failures()).length > 0 ? failures() : null));
    expect(await attempts('never')).toEqual([1, 2, 3]);
    expect(failure).toMatchObject({ exception: 'TransientError', error: 'transient 3', queue: 'retry-inline', retry_attempts: 3 });
    expect((failure!['payload'] as Record<string, unknown>)['retry_attempt']).toBe(3);
    expect(await redis.exists(counterKeyOf('Flaky', params))).toBe(0);
    expect(await redis.zcard(k('delayed_queue_schedule'))).toBe(0);
    expect(await failures()).toHaveLength(1);
  });

  it('enqueueIn takes the same override: the delayed item carries it, the promoted job runs by it', async () => {
    const params = { tag: 'delayed-override', okOn: 0 };
    expect(await queue.enqueueIn(3600, 'retry-inline', 'Flaky', params, { retry: { limit: 1, backoff: 0 } })).toBe(true);
    const [at] = await redis.zrange(k('delayed_queue_schedule'), '0', '-1');
    const [item] = await redis.lrange(k(`delayed:${at}`), 0, -1);
    expect(JSON.parse(item!)).toEqual({ class: 'Flaky', args: [params], queue: 'retry-inline', retry: { limit: 1, backoff: 0 } });
    expect(await promoteAll()).toBe(1);
    const [failure] = await waitFor('the failure', async () => ((await failures()).length > 0 ? failures() : null));
    expect(await attempts('delayed-override')).toEqual([1, 2]);
    expect(failure).toMatchObject({ exception: 'TransientError', retry_attempts: 2 });
    await expect(queue.enqueueIn(1, 'retry-inline', 'Flaky', params, { retry: { limit: -2 } })).rejects.toThrow(/retry/);
  });

  it('an error `on` does not list is recorded at once; one it lists is retried', async () => {
    await queue.enqueue('retry-inline', 'Picky', { tag: 'perm', okOn: 0, how: 'permanent' });
    await queue.enqueue('retry-inline', 'Picky', { tag: 'trans', okOn: 2 });
    await waitFor('both done', async () => (await failures()).length === 1 && (await attempts('trans')).length === 2);
    expect(await attempts('perm')).toEqual([1]);
    expect(await failures()).toMatchObject([{ exception: 'PermanentError', retry_attempts: 1 }]);
    expect((await retried()).map((e) => e['className'])).toEqual(['Picky']);
  });

  it('limit 0 never retries; a class without a policy writes no counter and no retry_attempts', async () => {
    await queue.enqueue('retry-inline', 'NeverRetry', { tag: 'zero', okOn: 0 });
    await queue.enqueue('retry-inline', 'Plain', { tag: 'plain', okOn: 0 });
    const records = await waitFor('two failures', async () => ((await failures()).length === 2 ? failures() : null));
    expect(await attempts('zero')).toEqual([1]);
    expect(await attempts('plain')).toEqual([1]);
    expect(records[0]).toMatchObject({ exception: 'TransientError', retry_attempts: 1 });
    expect(records[1]).not.toHaveProperty('retry_attempts');
    expect(await redis.keys(k('resque-retry:*'))).toEqual([]);
    expect(await retried()).toEqual([]);
  });

  it('a timeout counts as an attempt (the worker-made JobTimeoutError matches `on`), then the retry runs', async () => {
    await queue.enqueue('retry-inline', 'Timed', { tag: 'timed', okOn: 2 });
    await waitFor('attempt 2', async () => (await attempts('timed')).length === 2 && (await redis.llen(k('queue:retry-inline'))) === 0);
    await waitFor('the counter cleaned after success', async () => (await redis.keys(k('resque-retry:Timed*'))).length === 0);
    expect(await failures()).toEqual([]);
    expect((await retried()).map(({ attempt, error }) => ({ attempt, error }))).toEqual([{ attempt: 1, error: 'JobTimeoutError: job exceeded its timeout of 300 ms' }]);
  });

  it("an onFailure listener that throws DoNotRecordFailureError stops the record (php's listener stop)", async () => {
    await queue.enqueue('retry-inline', 'Quiet', {});
    await queue.enqueue('retry-inline', 'Plain', { tag: 'after', okOn: 0 });
    await waitFor('the job after it failed', async () => (await failures()).length === 1);
    expect(await failures()).toMatchObject([{ payload: { class: 'Plain' } }]);
    expect(await redis.get(k('stat:processed'))).toBe('2');
    expect(await redis.get(k('stat:failed'))).toBe('1');
  });
});

describe('pool worker', () => {
  beforeEach(async () => {
    const keys = await redis.keys('t:*');
    if (keys.length > 0) await redis.del(...keys);
    await redis.del(k('failed'));
  });

  it('the child decides with the real error (on: [TransientError]); a child that dies counts as an attempt (DirtyExit), then retries', async () => {
    const worker = spawnWorker(server.url, { QUEUE: 'retry-pool', INTERVAL: '0.05' }, {}, 'test/apps/retry-main.ts');
    await worker.ready;
    // First in line (one slot: in order): its dirty exit's record is stopped by the worker's onFailure listener.
    await queue.enqueue('retry-pool', 'QuietExit', { tag: 'pool-quiet', okOn: 0 });
    await queue.enqueue('retry-pool', 'Picky', { tag: 'pool-perm', okOn: 0, how: 'permanent' });
    await queue.enqueue('retry-pool', 'Picky', { tag: 'pool-trans', okOn: 2 });
    await queue.enqueue('retry-pool', 'Flaky', { tag: 'pool-exit', okOn: 2, how: 'exit' });
    await queue.enqueue('retry-pool', 'Hinted', { tag: 'pool-hint', okOn: 2 });
    await waitFor(
      'all four done',
      async () => (await attempts('pool-exit')).length === 2 && (await attempts('pool-trans')).length === 2 && (await attempts('pool-hint')).length === 2,
      30_000,
    );
    expect(await attempts('pool-perm')).toEqual([1]);
    expect(await attempts('pool-quiet')).toEqual([1]);
    expect(await failures()).toMatchObject([{ exception: 'PermanentError', retry_attempts: 1 }]);
    const events = await waitFor('three onRetry', async () => ((await retried()).length === 3 ? retried() : null));
    // Hinted's `on` and backoff read properties only the thrown error has: the child's verdict, not the parent's.
    expect(events.map(({ className, attempt, delay }) => ({ className, attempt, delay }))).toEqual([
      { className: 'Picky', attempt: 1, delay: 0 },
      { className: 'Flaky', attempt: 1, delay: 0 },
      { className: 'Hinted', attempt: 1, delay: 0 },
    ]);
    // Emitted by the worker parent, which records the outcome; the dead child's error is its DirtyExit.
    expect(events.every((e) => e['pid'] === worker.pid)).toBe(true);
    expect(events[1]!['error']).toMatch(/^Resque::DirtyExit: /);
    expect(await redis.keys(k('resque-retry:*'))).toEqual([]);
  }, 60_000);
});

describe('ResqueTestingModule', () => {
  const seen: number[] = [];

  @Job('MemoryFlaky', { retry: { limit: 3, backoff: [5, 60] } })
  @Injectable()
  class MemoryFlakyJob {
    @Perform()
    perform(params: { okOn: number }, ctx: ResqueJobContext): string {
      seen.push(ctx.attempt);
      if (params.okOn === 0 || ctx.attempt < params.okOn) throw new Error(`attempt ${ctx.attempt}`);
      return 'ok';
    }
  }

  it('runs retries inline, in order, without the wait (onRetry says what a worker would wait); exhaustion records once', async () => {
    const moduleRef = await Test.createTestingModule({ imports: [ResqueTestingModule.forRoot({ mode: 'inline' })], providers: [MemoryFlakyJob] }).compile();
    await moduleRef.init();
    const testing = moduleRef.get(ResqueTestingQueue);
    const events: RetryEvent[] = [];
    moduleRef.get(ResqueEvents).onRetry$.subscribe((e) => events.push(e));
    const id = (await testing.enqueue('q', MemoryFlakyJob, { okOn: 3 }, { track: true })) as string;
    expect(seen).toEqual([1, 2, 3]);
    expect(testing.performed().map((p) => p.outcome.kind)).toEqual(['failed', 'failed', 'complete']);
    expect(events.map((e) => [e.attempt, e.delay])).toEqual([
      [1, 5],
      [2, 60],
    ]);
    expect((await testing.status(id))?.status).toBe(JobStatus.COMPLETE);
    // failures() lists the failed attempts; the `failed` list (ResqueFailures) only what was given up.
    expect(testing.failures()).toHaveLength(2);
    expect(await testing.failedList.length()).toBe(0);
    seen.length = 0;
    await testing.enqueue('q', MemoryFlakyJob, { okOn: 0 });
    expect(seen).toEqual([1, 2, 3, 4]);
    const record = await testing.failedList.at(0);
    expect(JSON.parse(record!)).toMatchObject({ error: 'attempt 4', retry_attempts: 4 });
    expect(await testing.failedList.length()).toBe(1);
    await moduleRef.close();
  });

  it('record mode: runAll() runs a retry after the jobs already waiting; an onFailure listener can stop the record', async () => {
    const moduleRef = await Test.createTestingModule({ imports: [ResqueTestingModule.forRoot({ mode: 'record' })], providers: [MemoryFlakyJob] }).compile();
    await moduleRef.init();
    const testing = moduleRef.get(ResqueTestingQueue);
    seen.length = 0;
    await testing.enqueue('q', MemoryFlakyJob, { okOn: 2 });
    await testing.enqueue('q', MemoryFlakyJob, { okOn: 1 });
    const ran = await testing.runAll();
    expect(ran.map((p) => [(p.params as { okOn: number }).okOn, p.outcome.kind])).toEqual([
      [2, 'failed'],
      [1, 'complete'],
      [2, 'complete'],
    ]);
    expect(seen).toEqual([1, 1, 2]);
    moduleRef.get(ResqueEvents).listen('onFailure', () => {
      throw new DoNotRecordFailureError();
    });
    await testing.enqueue('q', MemoryFlakyJob, { okOn: 0 }, { retry: { limit: 0 } });
    await testing.runAll();
    expect(testing.failures()).toHaveLength(2);
    expect(await testing.failedList.length()).toBe(0);
    await moduleRef.close();
  });
});

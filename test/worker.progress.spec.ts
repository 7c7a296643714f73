// ctx.progress(): the status packet's `progress` field (throttled writes, counted with MONITOR), the
// RUNNING-only script that keeps a late write off a finished packet, onProgress in the process that runs
// the job and in the pool's parent, untracked jobs, invalid values, and the testing module's record.
import 'reflect-metadata';
import { Injectable } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Job, JobStatus, Perform, ResqueConnection, ResqueEvents, ResqueQueue, type ResqueJobContext } from '../lib/index.js';
import { encodeProgress, PROGRESS_SCRIPT, runScript } from '../lib/protocol/index.js';
import { ResqueTestingModule, ResqueTestingQueue } from '../lib/testing/index.js';
import type { ResqueWorkerHandle } from '../lib/worker/index.js';
import { RedisProgressSink } from '../lib/worker/worker.progress.js';
import { Logger } from '@nestjs/common';
import { killAllWorkers, spawnWorker, waitFor } from './apps/worker-harness.js';
import { startRedis, type TestRedis } from './support/redis-server.js';

let server: TestRedis;
let redis: Redis;
let monitor: Redis;
let queue: ResqueQueue;
let connection: ResqueConnection;
const handles: ResqueWorkerHandle[] = [];
/** The progress script's calls per status key, as Redis saw them. */
const writes = new Map<string, number>();
const seenMarkers = new Set<string>();
const k = (key: string) => `resque:${key}`;

async function push(queueName: string, id: string, params: Record<string, unknown>, tracked = true): Promise<void> {
  if (tracked) await redis.set(k(`job:${id}:status`), JSON.stringify({ status: 1, updated: 1700000000, started: 1700000000 }));
  await redis.sadd(k('queues'), queueName);
  await redis.rpush(k(`queue:${queueName}`), JSON.stringify({ class: 'Progress', args: [params], id }));
}
async function packet(id: string): Promise<Record<string, unknown> | null> {
  const raw = await redis.get(k(`job:${id}:status`));
  return raw === null ? null : (JSON.parse(raw) as Record<string, unknown>);
}
/** Waits until MONITOR has shown a command sent now: every write before it has been counted. */
async function monitorCaughtUp(): Promise<void> {
  const marker = `t:marker:${Math.random()}`;
  await redis.exists(marker);
  await waitFor('MONITOR to catch up', () => seenMarkers.has(marker));
}
async function events(): Promise<string[]> {
  return redis.lrange('t:events', 0, -1);
}

beforeAll(async () => {
  server = await startRedis();
  redis = server.client();
  process.env['REDIS_URL'] = server.url;
  // Loaded up front so each write is one EVAL or EVALSHA (no NOSCRIPT retry to count twice).
  await redis.script('LOAD', PROGRESS_SCRIPT.lua);
  monitor = await redis.monitor();
  monitor.on('monitor', (_time: string, args: string[]) => {
    if (args[0]?.toLowerCase() === 'exists' && args[1]?.startsWith('t:marker:')) seenMarkers.add(args[1]);
    if (['eval', 'evalsha'].includes(args[0]?.toLowerCase() ?? '') && args[2] === '1' && args[3]?.startsWith('resque:job:')) writes.set(args[3], (writes.get(args[3]) ?? 0) + 1);
  });
  connection = new ResqueConnection({ connection: server.url });
  queue = new ResqueQueue(connection, new ResqueEvents());
}, 60_000);
afterAll(async () => {
  await Promise.all(handles.map((h) => h.stop('quit')));
  await killAllWorkers();
  monitor.disconnect();
  await connection.onApplicationShutdown();
  await server.stop();
});
beforeEach(async () => {
  await redis.del('t:events');
});

describe('encodeProgress', () => {
  it('takes 0–100 and small plain JSON objects; refuses anything else with a message naming the problem', () => {
    expect(encodeProgress(0)).toBe('0');
    expect(encodeProgress(42.5)).toBe('42.5');
    expect(encodeProgress(100)).toBe('100');
    expect(encodeProgress({ done: 3, total: 7, stage: 'copy' })).toBe('{"done":3,"total":7,"stage":"copy"}');
    expect(() => encodeProgress(Number.NaN)).toThrow(/progress must be a number from 0 to 100, got NaN/);
    expect(() => encodeProgress(-1)).toThrow(RangeError);
    expect(() => encodeProgress(100.01)).toThrow(/got 100\.01/);
    expect(() => encodeProgress(Number.POSITIVE_INFINITY)).toThrow(RangeError);
    expect(() => encodeProgress('50')).toThrow(/or a plain object, got string/);
    expect(() => encodeProgress(null)).toThrow(/got null/);
    expect(() => encodeProgress([1, 2])).toThrow(/got an array/);
    expect(() => encodeProgress({ n: 10n })).toThrow(/progress\.n must be JSON-serialisable/);
    expect(() => encodeProgress({ f: () => 1 })).toThrow(/progress\.f must be JSON-serialisable/);
    expect(() => encodeProgress({ n: Number.NaN })).toThrow(/progress\.n must be JSON-serialisable/);
    expect(() => encodeProgress({ text: 'x'.repeat(1100) })).toThrow(/at most 1024 bytes of JSON, got 1111/);
  });
});

describe('the progress script', () => {
  const key = k('job:script:status');
  it('writes only while the packet is RUNNING, keeping started; no key, WAITING or finished: untouched', async () => {
    await redis.del(key);
    expect(await runScript(redis, PROGRESS_SCRIPT, [key], ['50', 1700000100])).toBe(0);
    expect(await redis.exists(key)).toBe(0);
    for (const finished of ['{"status":1,"updated":1700000000,"started":1700000000}', '{"status":4,"updated":1700000050,"started":1700000000,"result":{"ok":true}}', '{"status":3,"updated":1700000050,"started":1700000000}']) {
      await redis.set(key, finished);
      expect(await runScript(redis, PROGRESS_SCRIPT, [key], ['50', 1700000100])).toBe(0);
      expect(await redis.get(key)).toBe(finished);
    }
    await redis.set(key, '{"status":2,"updated":1700000010,"started":1700000000}');
    expect(await runScript(redis, PROGRESS_SCRIPT, [key], ['{"done":1}', 1700000100])).toBe(1);
    expect(await redis.get(key)).toBe('{"status":2,"updated":1700000100,"started":1700000000,"progress":{"done":1}}');
    expect(await redis.ttl(key)).toBe(-1); // running packets never expire
  });
});

describe('RedisProgressSink', () => {
  it('a value still pending when the worker recorded the outcome is not written over it', async () => {
    const id = 'f'.repeat(32);
    const key = k(`job:${id}:status`);
    await redis.set(key, '{"status":2,"updated":1700000010,"started":1700000000}');
    const target = new RedisProgressSink(connection, new Logger('test')).open({ id, prefix: null } as Parameters<RedisProgressSink['open']>[0]);
    target!.report(10, '10');
    await waitFor('the first value', async () => (await packet(id))?.['progress'] === 10);
    // The job's next value waits for the interval; meanwhile the worker records COMPLETE (a timed-out child, say).
    target!.report(20, '20');
    const complete = '{"status":4,"updated":1700000020,"started":1700000000,"progress":10,"result":null}';
    await redis.set(key, complete, 'EX', 86400);
    await target!.flush();
    expect(await redis.get(key)).toBe(complete);
    expect(await redis.ttl(key)).toBeGreaterThan(0);
  });
});

describe('inline worker', () => {
  beforeAll(async () => {
    const [{ ResqueWorkerHost }, { WorkerTestModule }] = await Promise.all([import('../lib/worker/index.js'), import('./apps/worker-module.js')]);
    handles.push(await ResqueWorkerHost.run(WorkerTestModule, { isolation: 'inline', queues: ['progress-inline'], interval: 0.05, appOptions: { logger: false } }));
  });

  it('shows progress in status(id) while running, coalesces a tight loop into a few writes, keeps the last value once complete', async () => {
    const id = 'a'.repeat(32);
    await push('progress-inline', id, { first: 10, steps: 500, gate: 't:gate:inline' });
    const running = await waitFor('progress 10 while running', async () => {
      const s = await queue.status(id);
      return s?.progress === 10 ? s : null;
    });
    expect(running.status).toBe(JobStatus.RUNNING);
    expect(running.started).toBe(1700000000);
    await redis.set('t:gate:inline', '1');
    const done = await waitFor('the job to complete', async () => {
      const s = await queue.status(id);
      return s?.status === JobStatus.COMPLETE ? s : null;
    });
    // 502 calls: the first at once, the loop's first (if the gate took over 250 ms), the last before the outcome.
    expect(done.progress).toEqual({ done: 500, total: 500 });
    expect(done.result).toEqual({ steps: 500 });
    await monitorCaughtUp();
    const count = writes.get(k(`job:${id}:status`)) ?? 0;
    expect(count).toBeGreaterThanOrEqual(2);
    expect(count).toBeLessThanOrEqual(4);
    await waitFor('onProgress', async () => (await events()).includes('parent:onProgress:Progress'));
  });

  it('an invalid value throws in the job (a clear failure) and writes nothing', async () => {
    const id = 'b'.repeat(32);
    await push('progress-inline', id, { first: 10, steps: 0, invalid: 150 });
    const failed = await waitFor('the job to fail', async () => ((await packet(id))?.['status'] === JobStatus.FAILED ? packet(id) : null));
    expect(failed).not.toHaveProperty('progress');
    const record = JSON.parse((await redis.lrange(k('failed'), -1, -1))[0] ?? '{}') as Record<string, unknown>;
    expect(record['exception']).toBe('RangeError');
    expect(record['error']).toBe('progress must be a number from 0 to 100, got 150');
    await monitorCaughtUp();
    expect(writes.get(k(`job:${id}:status`)) ?? 0).toBe(0);
  });

  it('an untracked job emits onProgress but no status packet appears', async () => {
    const id = 'c'.repeat(32);
    const before = Number((await redis.get(k('stat:processed'))) ?? 0);
    await push('progress-inline', id, { first: 10, steps: 50 }, false);
    await waitFor('the job to run', async () => Number((await redis.get(k('stat:processed'))) ?? 0) > before);
    expect(await redis.exists(k(`job:${id}:status`))).toBe(0);
    await waitFor('onProgress', async () => (await events()).includes('parent:onProgress:Progress'));
    // The first attempt found no packet: the job's later values were not sent at all.
    await monitorCaughtUp();
    expect(writes.get(k(`job:${id}:status`))).toBe(1);
  });
});

describe('pool worker', () => {
  it('the child writes the packet; onProgress reaches the child and, bridged, the parent', async () => {
    const worker = spawnWorker(server.url, { QUEUE: 'progress-pool', INTERVAL: '0.05' });
    await worker.ready;
    const id = 'd'.repeat(32);
    await push('progress-pool', id, { first: 25, steps: 200, gate: 't:gate:pool' });
    await waitFor('progress 25 while running', async () => (await queue.status(id))?.progress === 25);
    await redis.set('t:gate:pool', '1');
    await waitFor('the job to complete', async () => (await queue.status(id))?.status === JobStatus.COMPLETE);
    expect((await queue.status(id))?.progress).toEqual({ done: 200, total: 200 });
    await monitorCaughtUp();
    const count = writes.get(k(`job:${id}:status`)) ?? 0;
    expect(count).toBeGreaterThanOrEqual(2);
    expect(count).toBeLessThanOrEqual(4);
    await waitFor('onProgress in child and parent', async () => {
      const list = await events();
      return list.includes('child:onProgress:Progress') && list.includes('parent:onProgress:Progress');
    });
  });
});

@Job('Steps')
@Injectable()
class StepsJob {
  @Perform()
  perform(params: { n: number }, ctx: ResqueJobContext): number {
    for (let i = 1; i <= params.n; i++) ctx.progress((i * 100) / params.n);
    ctx.progress({ stage: 'done' });
    return params.n;
  }
}

describe('ResqueTestingModule', () => {
  it('records every progress value per job (no throttling) and the last one in status(id)', async () => {
    const moduleRef = await Test.createTestingModule({ imports: [ResqueTestingModule.forRoot({ mode: 'inline' })], providers: [StepsJob] }).compile();
    await moduleRef.init();
    try {
      const testing = moduleRef.get(ResqueTestingQueue);
      const seen: unknown[] = [];
      moduleRef.get(ResqueEvents).onProgress$.subscribe((e) => seen.push(e.progress));
      const id = await testing.enqueue('q', StepsJob, { n: 4 }, { track: true });
      expect(testing.performed()[0]?.progress).toEqual([25, 50, 75, 100, { stage: 'done' }]);
      expect(seen).toEqual([25, 50, 75, 100, { stage: 'done' }]);
      expect((await testing.status(id as string))?.progress).toEqual({ stage: 'done' });
    } finally {
      await moduleRef.close();
    }
  });
});

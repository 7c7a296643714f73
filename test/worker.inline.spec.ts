// Inline mode, in this test process: queue priority and Ruby globs (item 6), pause-all-workers, blocking
// mode (BLMOVE + claim), inline timeouts and an inline TERM recorded as a dirty exit.
import { hostname } from 'node:os';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ResqueWorkerHandle, ResqueWorkerHostOptions } from '../lib/worker/index.js';
import { waitFor } from './apps/worker-harness.js';
import { startRedis, type TestRedis } from './support/redis-server.js';

let server: TestRedis;
let redis: Redis;
let run: (options: ResqueWorkerHostOptions) => Promise<ResqueWorkerHandle>;
const handles: ResqueWorkerHandle[] = [];
const k = (key: string) => `resque:${key}`;

async function push(queue: string, ...payloads: Array<Record<string, unknown>>): Promise<void> {
  await redis.sadd(k('queues'), queue);
  await redis.rpush(k(`queue:${queue}`), ...payloads.map((p) => JSON.stringify(p)));
}
async function seen(): Promise<Array<Record<string, unknown>>> {
  return (await redis.lrange('t:seen', 0, -1)).map((s) => JSON.parse(s) as Record<string, unknown>);
}

beforeAll(async () => {
  server = await startRedis();
  redis = server.client();
  process.env['REDIS_URL'] = server.url; // read by the test module at import
  const [{ ResqueWorkerHost }, { WorkerTestModule }] = await Promise.all([import('../lib/worker/index.js'), import('./apps/worker-module.js')]);
  run = async (options) => {
    const handle = await ResqueWorkerHost.run(WorkerTestModule, { isolation: 'inline', interval: 0.05, appOptions: { logger: false }, ...options });
    handles.push(handle);
    return handle;
  };
});
afterAll(async () => {
  await Promise.all(handles.map((h) => h.stop('quit')));
  await server.stop();
});
beforeEach(async () => {
  await redis.flushall();
});

describe('inline worker', () => {
  it('polls queues in the given order; * adds every known queue sorted bytewise, and the id keeps * (item 6)', async () => {
    await push('b', { class: 'Echo', args: [{ n: 1 }] });
    await push('a', { class: 'Echo', args: [{ n: 2 }] });
    await push('urgent', { class: 'Echo', args: [{ n: 3 }] });
    await push('aa', { class: 'Echo', args: [{ n: 4 }] });
    const handle = await run({ queues: ['urgent', '*'] });
    expect(handle.workerIds).toEqual([`${hostname()}:${process.pid}:urgent,*`]);
    expect(await redis.smembers(k('workers'))).toEqual([`${hostname()}:${process.pid}:urgent,*`]);
    await waitFor('4 jobs', async () => (await redis.llen('t:seen')) === 4);
    expect((await seen()).map((s) => s['queue'])).toEqual(['urgent', 'a', 'aa', 'b']);
    // Globs re-read SMEMBERS queues: a queue created now is worked too.
    await push('later', { class: 'Echo', args: [{ n: 5 }] });
    await waitFor('the job of a new queue', async () => (await redis.llen('t:seen')) === 5);
    await handle.stop();
    expect(await redis.smembers(k('workers'))).toEqual([]);
    expect(await redis.get(k('stat:processed'))).toBe('5');
  });

  it('runs several inline slots in one process, each its own Resque worker (host:pid+n ids), every job once', async () => {
    const jobs = Array.from({ length: 60 }, (_, n) => ({ class: 'Echo', args: [{ n }] }));
    await push('many', ...jobs);
    const handle = await run({ queues: ['many'], concurrency: 3 });
    const base = `${hostname()}:${process.pid}`;
    expect(handle.workerIds).toEqual([`${base}:many`, `${base}+1:many`, `${base}+2:many`]);
    expect((await redis.smembers(k('workers'))).sort()).toEqual([`${base}+1:many`, `${base}+2:many`, `${base}:many`].sort());
    await waitFor('60 jobs', async () => (await redis.llen('t:seen')) === 60);
    await handle.stop();
    const ns = (await seen()).map((s) => (s['params'] as { n: number }).n).sort((a, b) => a - b);
    expect(ns).toEqual(jobs.map((_, n) => n));
    expect(await redis.get(k('stat:processed'))).toBe('60');
    expect(await redis.smembers(k('workers'))).toEqual([]);
  });

  it('honours !exclusions and leaves excluded queues alone', async () => {
    await push('mail_high', { class: 'Echo', args: [{}] });
    await push('mail_low', { class: 'Echo', args: [{}] });
    await push('sms', { class: 'Echo', args: [{}] });
    const handle = await run({ queues: ['mail_*', '!*_low'] });
    await waitFor('the mail_high job', async () => (await redis.llen('t:seen')) === 1);
    await handle.stop();
    expect((await seen()).map((s) => s['queue'])).toEqual(['mail_high']);
    expect(await redis.llen(k('queue:mail_low'))).toBe(1);
    expect(await redis.llen(k('queue:sms'))).toBe(1);
  });

  it("reserves nothing while pause-all-workers is 'true'", async () => {
    await redis.set(k('pause-all-workers'), 'true');
    const handle = await run({ queues: ['default'] });
    await push('default', { class: 'Echo', args: [{}] });
    await new Promise((r) => setTimeout(r, 300)); // several poll intervals
    expect(await redis.llen(k('queue:default'))).toBe(1);
    await redis.del(k('pause-all-workers'));
    await waitFor('the job after unpausing', async () => (await redis.llen('t:seen')) === 1);
    await handle.stop();
  });

  it('blocking mode waits with BLMOVE (no polling), and stop() interrupts the wait', async () => {
    const handle = await run({ queues: ['blk'], blocking: true, interval: 60 });
    const [id] = handle.workerIds as [string];
    await new Promise((r) => setTimeout(r, 100)); // let it block
    await push('blk', { class: 'Echo', args: [{ blocking: true }], id: 'b1' });
    // With polling every 60 s this would time out; BLMOVE hands the job over at once.
    await waitFor('the blocked job', async () => (await redis.llen('t:seen')) === 1, 10_000);
    expect((await seen())[0]).toMatchObject({ params: { blocking: true }, id: 'b1', queue: 'blk', workerId: id });
    await waitFor('the job bookkeeping', async () => (await redis.get(k('stat:processed'))) === '1');
    await handle.stop();
    expect(await redis.exists(k(`worker:${id}:claim`), k(`worker:${id}`))).toBe(0);
    expect(await redis.smembers(k('workers'))).toEqual([]);
  });

  it("updates php-resque fork's prefixed status key job:<prefix>_<id>:status (item 14)", async () => {
    await redis.set(k('job:x_f0f0:status'), '{"status":1,"updated":1,"started":1,"result":null}');
    await push('default', { class: 'Echo', args: [{ n: 1 }], id: 'f0f0', prefix: 'x', queue_time: 1 });
    const handle = await run({ queues: ['default'] });
    await waitFor('COMPLETE', async () => JSON.parse((await redis.get(k('job:x_f0f0:status'))) ?? '{}').status === 4);
    await handle.stop();
    expect(JSON.parse((await redis.get(k('job:x_f0f0:status')))!)).toEqual({ status: 4, updated: expect.any(Number), started: 1, result: { echoed: { n: 1 } } });
    expect(await redis.exists(k('job:f0f0:status'))).toBe(0);
  });

  it('fails an inline job past its timeout with JobTimeoutError', async () => {
    await push('default', { class: 'Slow', args: [{}] });
    const handle = await run({ queues: ['default'] });
    await waitFor('the timeout failure', async () => (await redis.llen(k('failed'))) === 1);
    await handle.stop();
    const failure = JSON.parse((await redis.lindex(k('failed'), 0))!) as Record<string, unknown>;
    expect(failure).toMatchObject({ exception: 'JobTimeoutError', error: 'job exceeded its timeout of 300 ms' });
  });

  it('TERM in inline mode records the running job as a dirty exit after the grace period, then unregisters', async () => {
    await redis.set(k('job:1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e:status'), '{"status":1,"updated":1,"started":1}');
    await push('default', { class: 'Sleep', args: [{ ms: 2_000, tag: 'inline' }], id: '1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e' });
    const handle = await run({ queues: ['default'], inlineTermGraceMs: 100 });
    const [id] = handle.workerIds as [string];
    await waitFor('the Sleep job to start', () => redis.get('t:running:inline'));
    await handle.stop('term');
    const failure = JSON.parse((await redis.lindex(k('failed'), 0))!) as Record<string, unknown>;
    expect(failure).toMatchObject({
      exception: 'Resque::DirtyExit',
      error: 'Worker received SIGTERM while performing Sleep inline; the job was abandoned',
      worker: id,
      queue: 'default',
    });
    expect(JSON.parse((await redis.get(k('job:1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e:status')))!)).toMatchObject({ status: 3 });
    expect(await redis.smembers(k('workers'))).toEqual([]);
    expect(await redis.mget(k('stat:processed'), k('stat:failed'))).toEqual(['1', '1']);
  });
});

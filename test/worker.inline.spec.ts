// Inline mode, in this test process: queue priority and Ruby globs (item 6), pause-all-workers, blocking
// mode (BLMOVE + claim), inline timeouts (ctx.signal aborted) and inline TERM (Ruby's TERM sequence).
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

  it('a fractional interval in blocking mode never blocks forever (php turns 0.5 into BLPOP 0)', async () => {
    const handle = await run({ queues: ['frac'], blocking: true, interval: 0.2 });
    await new Promise((r) => setTimeout(r, 2_500));
    // The BLMOVE connection keeps coming back: Redis's per-client idle time (whole seconds) stays low.
    const clients = (await redis.client('LIST')) as string;
    const blocking = clients.split('\n').filter((line) => line.includes('cmd=blmove'));
    expect(blocking.length).toBeGreaterThan(0);
    for (const line of blocking) expect(Number(/ idle=(\d+)/.exec(line)![1])).toBeLessThan(2);
    await handle.stop();
  });

  it('claims jobs ahead into worker:<id>:claim while one runs; QUIT puts them back at the head of the queue, in order', async () => {
    const sleep = JSON.stringify({ class: 'Sleep', args: [{ ms: 600, tag: 'pf' }] });
    const echoes = [1, 2, 3].map((n) => JSON.stringify({ class: 'Echo', args: [{ n }] }));
    await redis.sadd(k('queues'), 'pf');
    await redis.rpush(k('queue:pf'), sleep, ...echoes);
    const handle = await run({ queues: ['pf'], prefetch: 2 });
    const [id] = handle.workerIds as [string];
    await waitFor('the Sleep job to start', () => redis.get('t:running:pf'));
    await waitFor('two jobs claimed ahead', async () => (await redis.llen(k(`worker:${id}:claim`))) === 2);
    expect(await redis.lrange(k(`worker:${id}:claim`), 0, -1)).toEqual(echoes.slice(0, 2));
    expect(await redis.lrange(k('queue:pf'), 0, -1)).toEqual(echoes.slice(2));
    expect(await redis.get(k(`worker:${id}`))).toContain(`"payload":${sleep}}`);
    await handle.stop('quit');
    expect(await redis.lrange('t:finished', 0, -1)).toEqual(['pf']);
    expect(await redis.llen('t:seen')).toBe(0);
    expect(await redis.lrange(k('queue:pf'), 0, -1)).toEqual(echoes);
    expect(await redis.exists(k(`worker:${id}:claim`), k(`worker:${id}:claim:queues`), k(`worker:${id}`))).toBe(0);
    expect(await redis.get(k('stat:processed'))).toBe('1');
  });

  it('records the queue of each job claimed ahead from several queues, and puts each back on its own queue', async () => {
    const a1 = JSON.stringify({ class: 'Echo', args: [{ a: 1 }] });
    const a2 = JSON.stringify({ class: 'Echo', args: [{ a: 2 }] });
    const b1 = JSON.stringify({ class: 'Echo', args: [{ b: 1 }] });
    await redis.sadd(k('queues'), 'qa', 'qb');
    await redis.rpush(k('queue:qa'), JSON.stringify({ class: 'Sleep', args: [{ ms: 600, tag: 'multi' }] }), a1);
    await redis.rpush(k('queue:qb'), b1);
    const handle = await run({ queues: ['qa', 'qb'], prefetch: 2 });
    const [id] = handle.workerIds as [string];
    await waitFor('the Sleep job to start', () => redis.get('t:running:multi'));
    await waitFor('two jobs claimed ahead', async () => (await redis.llen(k(`worker:${id}:claim`))) === 2);
    expect(await redis.lrange(k(`worker:${id}:claim`), 0, -1)).toEqual([a1, b1]);
    expect(await redis.lrange(k(`worker:${id}:claim:queues`), 0, -1)).toEqual(['qa', 'qb']);
    await redis.rpush(k('queue:qa'), a2);
    await handle.stop('quit');
    expect(await redis.lrange(k('queue:qa'), 0, -1)).toEqual([a1, a2]);
    expect(await redis.lrange(k('queue:qb'), 0, -1)).toEqual([b1]);
    expect(await redis.exists(k(`worker:${id}:claim`), k(`worker:${id}:claim:queues`))).toBe(0);
  });

  it('after pause-all-workers is set, starts at most one claimed job, then puts the rest back', async () => {
    const echoes = [1, 2, 3].map((n) => JSON.stringify({ class: 'Echo', args: [{ n }] }));
    await redis.sadd(k('queues'), 'pa');
    await redis.rpush(k('queue:pa'), JSON.stringify({ class: 'Sleep', args: [{ ms: 300, tag: 'pa' }] }), ...echoes);
    const handle = await run({ queues: ['pa'], prefetch: 2 });
    const [id] = handle.workerIds as [string];
    await waitFor('the Sleep job to start', () => redis.get('t:running:pa'));
    await redis.set(k('pause-all-workers'), 'true');
    await waitFor('claimed jobs put back', async () => (await redis.llen(k('queue:pa'))) === 2 && (await redis.llen(k(`worker:${id}:claim`))) === 0);
    expect(await redis.lrange(k('queue:pa'), 0, -1)).toEqual(echoes.slice(1));
    await waitFor('the one job started after the pause', async () => (await redis.get(k('stat:processed'))) === '2');
    expect((await seen()).map((x) => x['params'])).toEqual([{ n: 1 }]);
    await new Promise((r) => setTimeout(r, 200)); // several poll intervals: nothing more is taken
    expect(await redis.llen(k('queue:pa'))).toBe(2);
    await redis.del(k('pause-all-workers'));
    await waitFor('the rest after unpausing', async () => (await redis.llen('t:seen')) === 3);
    await handle.stop();
  });

  it('prefetch 0 picks every job when it starts: a higher-priority job pushed meanwhile runs next', async () => {
    await redis.sadd(k('queues'), 'high', 'low');
    await redis.rpush(k('queue:low'), JSON.stringify({ class: 'Sleep', args: [{ ms: 300, tag: 'strict' }] }), JSON.stringify({ class: 'Echo', args: [{ q: 'low' }] }));
    const handle = await run({ queues: ['high', 'low'], prefetch: 0 });
    const [id] = handle.workerIds as [string];
    await waitFor('the Sleep job to start', () => redis.get('t:running:strict'));
    expect(await redis.llen(k(`worker:${id}:claim`))).toBe(0);
    await redis.rpush(k('queue:high'), JSON.stringify({ class: 'Echo', args: [{ q: 'high' }] }));
    await waitFor('both Echo jobs', async () => (await redis.llen('t:seen')) === 2);
    await handle.stop();
    expect((await seen()).map((x) => x['queue'])).toEqual(['high', 'low']);
  });

  it('with the default prefetch, a job claimed ahead from a lower-priority queue runs before a later higher-priority one (documented)', async () => {
    await redis.sadd(k('queues'), 'high', 'low');
    await redis.rpush(k('queue:low'), JSON.stringify({ class: 'Sleep', args: [{ ms: 300, tag: 'ahead' }] }), JSON.stringify({ class: 'Echo', args: [{ q: 'low' }] }));
    const handle = await run({ queues: ['high', 'low'] });
    await waitFor('the Sleep job to start', () => redis.get('t:running:ahead'));
    await redis.rpush(k('queue:high'), JSON.stringify({ class: 'Echo', args: [{ q: 'high' }] }));
    await waitFor('both Echo jobs', async () => (await redis.llen('t:seen')) === 2);
    await handle.stop();
    expect((await seen()).map((x) => x['queue'])).toEqual(['low', 'high']);
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

  it('TERM in inline mode: a job that ignores ctx.signal is abandoned after termTimeoutMs as Resque::TermException, then unregisters', async () => {
    await redis.set(k('job:1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e:status'), '{"status":1,"updated":1,"started":1}');
    await push('default', { class: 'Sleep', args: [{ ms: 2_000, tag: 'inline' }], id: '1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e' });
    const handle = await run({ queues: ['default'], termTimeoutMs: 100 });
    const [id] = handle.workerIds as [string];
    await waitFor('the Sleep job to start', () => redis.get('t:running:inline'));
    await handle.stop('term');
    const failure = JSON.parse((await redis.lindex(k('failed'), 0))!) as Record<string, unknown>;
    expect(failure).toMatchObject({
      exception: 'Resque::TermException',
      error: 'Worker received SIGTERM while performing Sleep; it did not stop within 100 ms and was abandoned',
      worker: id,
      queue: 'default',
    });
    expect(JSON.parse((await redis.get(k('job:1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e:status')))!)).toMatchObject({ status: 3 });
    expect(await redis.smembers(k('workers'))).toEqual([]);
    expect(await redis.mget(k('stat:processed'), k('stat:failed'))).toEqual(['1', '1']);
  });

  it('TERM in inline mode aborts ctx.signal; with preShutdownTimeoutMs a job that finishes in time completes', async () => {
    await push('default', { class: 'Abortable', args: [{ tag: 'stopped' }] });
    const stopped = await run({ queues: ['default'] });
    await waitFor('the Abortable job to start', () => redis.get('t:running:stopped'));
    await stopped.stop('term');
    expect(await redis.get('t:aborted:stopped')).toBe('Resque::TermException');
    expect(JSON.parse((await redis.lindex(k('failed'), 0))!)).toMatchObject({
      exception: 'Resque::TermException',
      error: 'Worker received SIGTERM while performing Abortable; the job was stopped',
    });

    await push('default', { class: 'Sleep', args: [{ ms: 300, tag: 'graceful' }] });
    const graceful = await run({ queues: ['default'], preShutdownTimeoutMs: 20_000 });
    await waitFor('the Sleep job to start', () => redis.get('t:running:graceful'));
    await graceful.stop('term');
    expect(await redis.lrange('t:finished', 0, -1)).toEqual(['graceful']);
    expect(await redis.llen(k('failed'))).toBe(1);
    expect(await redis.get(k('stat:processed'))).toBe('2');
  });

  it("TERM in inline mode with onInterrupted 'requeue' puts the stopped job back at the head of its queue", async () => {
    const raw = JSON.stringify({ class: 'Abortable', args: [{ tag: 'requeued' }], id: 'ab12ab12ab12ab12ab12ab12ab12ab12' });
    await redis.set(k('job:ab12ab12ab12ab12ab12ab12ab12ab12:status'), '{"status":1,"updated":1,"started":1}');
    await redis.rpush(k('queue:default'), raw);
    const handle = await run({ queues: ['default'], onInterrupted: 'requeue' });
    await waitFor('the Abortable job to start', () => redis.get('t:running:requeued'));
    await redis.rpush(k('queue:default'), JSON.stringify({ class: 'Echo', args: [{ n: 1 }] }));
    await handle.stop('term');
    expect(await redis.lindex(k('queue:default'), 0)).toBe(raw);
    expect(await redis.llen(k('failed'))).toBe(0);
    expect(JSON.parse((await redis.get(k('job:ab12ab12ab12ab12ab12ab12ab12ab12:status')))!)).toMatchObject({ status: 1 });
    expect(await redis.smembers(k('workers'))).toEqual([]);
  });

  it('aborts ctx.signal of an inline job past its timeout, with JobTimeoutError as the reason', async () => {
    await push('default', { class: 'Abortable', args: [{ tag: 'late' }] });
    const handle = await run({ queues: ['default'], timeout: 200 });
    await waitFor('the timeout failure', async () => (await redis.llen(k('failed'))) === 1);
    await waitFor('the abort', () => redis.get('t:aborted:late'));
    await handle.stop();
    expect(await redis.get('t:aborted:late')).toBe('JobTimeoutError');
    expect(JSON.parse((await redis.lindex(k('failed'), 0))!)).toMatchObject({ exception: 'JobTimeoutError', error: 'job exceeded its timeout of 200 ms' });
  });
});

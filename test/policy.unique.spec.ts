// Unique jobs (@Job({ unique })) against a real Redis and real worker processes (test/apps/unique-main.ts):
// the lock is taken by the enqueue/schedule scripts and released by promotion, the worker's start, its
// outcome, the pruner of a SIGKILLed worker, and its TTL; never by a job that no longer holds it.
import 'reflect-metadata';
import { spawn } from 'node:child_process';
import { hostname } from 'node:os';
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Injectable } from '@nestjs/common';
import { DuplicateJobError, Job, Perform, ResqueConnection, ResqueEvents, ResqueQueue } from '../lib/index.js';
import { parseWorkerId, ResqueKeys } from '../lib/protocol/index.js';
import { ResqueFailures, ResqueSchedules } from '../lib/index.js';
import { DashboardActions } from '../lib/dashboard/dashboard.actions.js';
import { promoteDue } from '../lib/scheduler/scheduler.promote.js';
import { RecurringClock } from '../lib/scheduler/scheduler.recurring.js';
import { collectStaticSchedules } from '../lib/scheduler/scheduler.statics.js';
import { WorkerPruner } from '../lib/worker/worker.pruner.js';
import {
  UniqueFinishedJob,
  UniqueKeyedJob,
  UniqueQueuedJob,
  UniqueRejectJob,
  UniqueShortJob,
  UniqueStartedJob,
} from './apps/unique-jobs.js';
import { isAlive, killAllWorkers, spawnWorker, waitFor, type WorkerProcess } from './apps/worker-harness.js';
import { startRedis, type TestRedis } from './support/redis-server.js';

let server: TestRedis;
let redis: Redis;
let connection: ResqueConnection;
let queue: ResqueQueue;
const events = new ResqueEvents({ logger: false });
const announced: string[] = [];
const keys = new ResqueKeys('resque');
const lockOf = (className: string, key: string) => redis.get(keys.key(`unique:${className}:${key}`));
const canonical = (tag: string) => JSON.stringify({ tag });

beforeAll(async () => {
  server = await startRedis();
  redis = server.client();
  connection = ResqueConnection.create(server.url);
  queue = new ResqueQueue(connection, events);
  events.listen('afterEnqueue', (e) => void announced.push(e.id ?? ''));
}, 30_000);
afterAll(async () => {
  await killAllWorkers();
  await connection.close();
  await server.stop();
});
beforeEach(async () => {
  await redis.flushall();
  announced.length = 0;
});

function startWorker(): WorkerProcess {
  return spawnWorker(server.url, { QUEUE: 'u', INTERVAL: '0.05' }, { prefetch: 0 }, 'test/apps/unique-main.ts');
}

describe('unique jobs: enqueue', () => {
  it('an equal enqueue returns the holder id without pushing or announcing; the lock holds the id, the payload names it', async () => {
    const first = await queue.enqueue('u', UniqueFinishedJob, { tag: 'a' });
    const again = await queue.enqueue('u', UniqueFinishedJob, { tag: 'a' });
    expect(again).toBe(first);
    expect(announced).toEqual([first]);
    expect(await redis.llen(keys.queue('u'))).toBe(1);
    expect(await lockOf('UFinished', canonical('a'))).toBe(first);
    const ttl = await redis.ttl(keys.key(`unique:UFinished:${canonical('a')}`));
    expect(ttl).toBeGreaterThan(3500);
    expect(ttl).toBeLessThanOrEqual(3600);
    const payload = JSON.parse((await redis.lindex(keys.queue('u'), 0))!);
    expect(payload).toMatchObject({ class: 'UFinished', args: [{ tag: 'a' }], id: first, unique: { lock: `unique:UFinished:${canonical('a')}`, until: 'finished' } });
  });

  it('onDuplicate reject throws DuplicateJobError naming the holder, and writes nothing', async () => {
    const first = await queue.enqueue('u', UniqueRejectJob, { tag: 'r' });
    const error = await queue.enqueue('u', UniqueRejectJob, { tag: 'r' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DuplicateJobError);
    expect(error).toMatchObject({ existingId: first, className: 'UReject' });
    expect((error as Error).message).toContain(first as string);
    expect(await redis.llen(keys.queue('u'))).toBe(1);
    expect(announced).toEqual([first]);
  });

  it('equal params in another key order are equal; other params, a custom key and plain jobs are not', async () => {
    const first = await queue.enqueue('u', UniqueFinishedJob, { tag: 'x', account: 'a1' });
    expect(await queue.enqueue('u', UniqueFinishedJob, { account: 'a1', tag: 'x' })).toBe(first);
    const other = await queue.enqueue('u', UniqueFinishedJob, { tag: 'y', account: 'a1' });
    expect(other).not.toBe(first);
    // UKeyed is keyed by account alone.
    const keyed = await queue.enqueue('u', UniqueKeyedJob, { tag: 'k1', account: 'acme' });
    expect(await queue.enqueue('u', UniqueKeyedJob, { tag: 'k2', account: 'acme' })).toBe(keyed);
    expect(await queue.enqueue('u', UniqueKeyedJob, { tag: 'k3', account: 'other' })).not.toBe(keyed);
    expect(await lockOf('UKeyed', 'acme')).toBe(keyed);
    // By name, the class's options are not known: a plain job, no marker, no lock.
    const plain = await queue.enqueue('u', 'UFinished', { tag: 'x', account: 'a1' });
    expect(plain).not.toBe(first);
    expect(await redis.llen(keys.queue('u'))).toBe(5);
    expect(JSON.parse((await redis.lindex(keys.queue('u'), -1))!)).not.toHaveProperty('unique');
    expect(await redis.keys(keys.key('unique:*'))).toHaveLength(4);
  });

  it('enqueueBulk takes each lock: a duplicate entry gets the holder id, and the rest are pushed in order', async () => {
    const first = await queue.enqueue('u', UniqueFinishedJob, { tag: 'b1' });
    const ids = await queue.enqueueBulk('u', [
      { job: UniqueFinishedJob, params: { tag: 'b0' } },
      { job: UniqueFinishedJob, params: { tag: 'b1' } },
      { job: 'Plain', params: { n: 1 } },
      { job: UniqueFinishedJob, params: { tag: 'b0' } },
    ]);
    expect(ids[1]).toBe(first);
    expect(ids[3]).toBe(ids[0]);
    expect(announced).toEqual([first, ids[0], ids[2]]);
    const queued = (await redis.lrange(keys.queue('u'), 0, -1)).map((raw) => (JSON.parse(raw) as { id: string }).id);
    expect(queued).toEqual([first, ids[0], ids[2]]);
  });

  it('the lock expires after its TTL, and an equal job then enqueues', async () => {
    const first = await queue.enqueue('u', UniqueShortJob, { tag: 't' });
    expect(await queue.enqueue('u', UniqueShortJob, { tag: 't' })).toBe(first);
    await waitFor('the 1 s lock to expire', async () => (await lockOf('UShort', canonical('t'))) === null, 5_000);
    const next = await queue.enqueue('u', UniqueShortJob, { tag: 't' });
    expect(next).not.toBe(first);
    expect(await lockOf('UShort', canonical('t'))).toBe(next);
  });

  it('invalid options throw at decoration, a bad key function at enqueue, before anything is written', async () => {
    expect(() => Job('Bad', { unique: { until: 'later' as 'queued' } })).toThrow(/@Job\('Bad'\)\.unique\.until must be 'queued', 'started' or 'finished'/);
    expect(() => Job('Bad', { unique: { until: 'queued', ttl: 0 } })).toThrow(/unique\.ttl must be a whole number of seconds >= 1, got 0/);
    expect(() => Job('Bad', { unique: { until: 'queued', onDuplicate: 'skip' as 'reject' } })).toThrow(/unique\.onDuplicate must be 'existing' or 'reject'/);
    expect(() => Job('Bad', { unique: { until: 'queued', key: 'id' as unknown as () => string } })).toThrow(/unique\.key must be a function/);

    @Job('BadKey', { unique: { until: 'finished', key: () => 42 as unknown as string } })
    @Injectable()
    class BadKeyJob {
      @Perform()
      perform(): void {}
    }
    await expect(queue.enqueue('u', BadKeyJob, {})).rejects.toThrow(/@Job\('BadKey'\) unique\.key must return a non-empty string, got number/);
    await expect(queue.enqueueIn(10, 'u', BadKeyJob, {})).rejects.toThrow(TypeError);
    expect(await redis.dbsize()).toBe(0);
  });
});

describe('unique jobs: delayed', () => {
  const promote = (now: number) =>
    promoteDue(redis, keys, { now, owner: '', lockKey: keys.schedulerLock(), lockTtl: 0, batchSize: 10, failureWorker: 'test' });

  it('enqueueIn/enqueueAt take the lock for the delay plus the TTL; equal enqueues get the scheduled id; promotion keeps id and marker', async () => {
    const id = await queue.enqueueIn(600, 'u', UniqueFinishedJob, { tag: 'd' });
    expect(id).toMatch(/^[0-9a-f]{32}$/);
    expect(await queue.enqueueAt(Math.floor(Date.now() / 1000) + 60, 'u', UniqueFinishedJob, { tag: 'd' })).toBe(id);
    expect(await queue.enqueue('u', UniqueFinishedJob, { tag: 'd' })).toBe(id);
    expect(await lockOf('UFinished', canonical('d'))).toBe(id);
    expect(await redis.ttl(keys.key(`unique:UFinished:${canonical('d')}`))).toBeGreaterThan(3600 + 500);
    expect(await queue.delayedQueueScheduleSize()).toBe(1);
    expect(await redis.llen(keys.queue('u'))).toBe(0);
    // A plain class's delayed item stays Ruby's exact shape.
    expect(await queue.enqueueIn(600, 'u', 'Plain', { n: 1 })).toBe(true);

    expect((await promote(Math.floor(Date.now() / 1000) + 700)).moved).toBe(2);
    const payload = JSON.parse((await redis.lindex(keys.queue('u'), 0))!);
    expect(payload).toMatchObject({ class: 'UFinished', id, unique: { until: 'finished' } });
    expect(await lockOf('UFinished', canonical('d'))).toBe(id); // still held: the job has not run
  });

  it("reject mode rejects an equal enqueueIn; until 'queued' is released as the job reaches its queue", async () => {
    await queue.enqueueIn(600, 'u', UniqueRejectJob, { tag: 'dr' });
    await expect(queue.enqueueIn(5, 'u', UniqueRejectJob, { tag: 'dr' })).rejects.toBeInstanceOf(DuplicateJobError);

    const id = await queue.enqueueIn(600, 'u', UniqueQueuedJob, { tag: 'q' });
    // An immediate enqueue checks the lock of the delayed one…
    expect(await queue.enqueue('u', UniqueQueuedJob, { tag: 'q' })).toBe(id);
    await promote(Math.floor(Date.now() / 1000) + 700);
    expect(await lockOf('UQueued', canonical('q'))).toBeNull();
    const payloads = (await redis.lrange(keys.queue('u'), 0, -1)).map((raw) => JSON.parse(raw));
    const payload = payloads.find((p) => p.class === 'UQueued');
    expect(payload.id).toBe(id);
    expect(payload).not.toHaveProperty('unique');
    // The reject job's 'finished' lock is kept for its worker.
    expect(payloads.find((p) => p.class === 'UReject')).toMatchObject({ unique: { until: 'finished' } });
    // …and, with none delayed, takes none: equal jobs queue freely.
    const a = await queue.enqueue('u', UniqueQueuedJob, { tag: 'q' });
    const b = await queue.enqueue('u', UniqueQueuedJob, { tag: 'q' });
    expect(new Set([id, a, b]).size).toBe(3);
    expect(await lockOf('UQueued', canonical('q'))).toBeNull();
  });
});

describe('unique jobs: recurring schedules', () => {
  it('a tick whose equal job still holds the lock is skipped (handled, nothing pushed); the next one after release fires', async () => {
    const schedules = collectStaticSchedules({ sync: { every: '1s', job: UniqueFinishedJob, params: { tag: 'cron' }, queue: 'u' } }, undefined);
    const clock = new RecurringClock(redis, keys, keys.schedulerLock(), '');
    const start = Date.now();
    await clock.sync(schedules, start);
    const [fired] = (await clock.fireDue(start + 1_500))!;
    expect(fired).toMatchObject({ name: 'sync', className: 'UFinished' });
    expect(await lockOf('UFinished', canonical('cron'))).toBe(fired!.id);
    expect(JSON.parse((await redis.lindex(keys.queue('u'), 0))!)).toMatchObject({ id: fired!.id, unique: { until: 'finished' } });
    // An enqueue of the same job and params is the same job.
    expect(await queue.enqueue('u', UniqueFinishedJob, { tag: 'cron' })).toBe(fired!.id);

    expect(await clock.fireDue(start + 2_500)).toEqual([]);
    expect(await redis.llen(keys.queue('u'))).toBe(1);
    await redis.del(keys.key(`unique:UFinished:${canonical('cron')}`)); // as the worker's completion would
    const [next] = (await clock.fireDue(start + 3_500))!;
    expect(next!.id).not.toBe(fired!.id);
    expect(await redis.llen(keys.queue('u'))).toBe(2);
  });
});

describe('unique jobs: removed by hand', () => {
  it('dequeue with selectors, removeDelayed and the dashboard release the removed jobs\' locks, and only theirs', async () => {
    const kept = await queue.enqueue('u', UniqueFinishedJob, { tag: 'keep' });
    await queue.enqueue('u', UniqueFinishedJob, { tag: 'dq' });
    expect(await queue.dequeue('u', [{ UFinished: { tag: 'dq' } }])).toBe(1);
    expect(await lockOf('UFinished', canonical('dq'))).toBeNull();
    expect(await lockOf('UFinished', canonical('keep'))).toBe(kept);

    await queue.enqueueIn(600, 'u', UniqueStartedJob, { tag: 'rd' });
    expect(await queue.removeDelayed('u', UniqueStartedJob, { tag: 'rd' })).toBe(1);
    expect(await lockOf('UStarted', canonical('rd'))).toBeNull();

    const actions = new DashboardActions(connection, queue, new ResqueFailures(connection), new ResqueSchedules(connection));
    const [raw] = await redis.lrange(keys.queue('u'), 0, 0);
    expect(await actions.removeJob('u', raw!)).toBe(1);
    expect(await lockOf('UFinished', canonical('keep'))).toBeNull();

    const delayedId = await queue.enqueueIn(600, 'u', UniqueQueuedJob, { tag: 'dd' });
    const [at] = await redis.zrange(keys.delayedSchedule, '0', '0');
    const [item] = await redis.lrange(keys.delayed(at!), 0, 0);
    expect(await actions.delayedRemove(Number(at), item!)).toBe(1);
    expect(await lockOf('UQueued', canonical('dd'))).toBeNull();
    // "Queue now" moves a unique delayed job under its id, keeping a lock the worker releases.
    const nowId = await queue.enqueueIn(600, 'u', UniqueFinishedJob, { tag: 'now' });
    const [at2] = await redis.zrange(keys.delayedSchedule, '0', '0');
    const [item2] = await redis.lrange(keys.delayed(at2!), 0, 0);
    expect(await actions.delayedEnqueueNow(Number(at2), item2!)).toBe(1);
    expect(JSON.parse((await redis.lindex(keys.queue('u'), -1))!)).toMatchObject({ id: nowId, unique: { until: 'finished' } });
    expect(await lockOf('UFinished', canonical('now'))).toBe(nowId);
    expect(delayedId).not.toBe(nowId);
  });
});

describe('unique jobs: the pruner', () => {
  /** A worker of this host whose process is gone, busy with `running` and holding `claimed`. */
  async function deadWorker(running: string, claimed: string[]): Promise<string> {
    const proc = spawn(process.execPath, ['-e', '0']);
    await new Promise((r) => proc.once('exit', r));
    const id = `${hostname()}:${proc.pid}:u`;
    await redis.sadd(keys.workers, id);
    await redis.set(keys.worker(id), `{"queue":"u","run_at":"2026-11-29T17:00:00Z","payload":${running}}`);
    if (claimed.length > 0) await redis.rpush(keys.workerClaim(id), ...claimed);
    return id;
  }
  const pruner = (onDeadWorker: 'fail' | 'requeue') =>
    new WorkerPruner(redis, keys, { selfId: `${hostname()}:${process.pid}:pruner`, hostname: hostname(), pruneAfterSeconds: 300, onDeadWorker });

  it("fail: releases the running job's 'finished' lock and a claimed job's 'started' lock; requeue keeps them", async () => {
    for (const mode of ['fail', 'requeue'] as const) {
      await redis.flushall();
      const running = await queue.enqueue('u', UniqueFinishedJob, { tag: 'p1' });
      const claimedStarted = await queue.enqueue('u', UniqueStartedJob, { tag: 'p2' });
      const [rawRunning, rawClaimed] = await redis.lrange(keys.queue('u'), 0, 1);
      await redis.del(keys.queue('u'));
      await deadWorker(rawRunning!, [rawClaimed!]);
      expect(await pruner(mode).pruneDeadWorkers()).toHaveLength(1);
      const expected = mode === 'fail' ? [null, null] : [running, claimedStarted];
      expect([await lockOf('UFinished', canonical('p1')), await lockOf('UStarted', canonical('p2'))]).toEqual(expected);
      expect(await redis.llen(mode === 'fail' ? keys.failed : keys.queue('u'))).toBe(2);
    }
  });

  it("fail with a retry policy: a job the pruner retries keeps its 'finished' lock; one that exhausted its retries releases it", async () => {
    for (const limit of [3, 0]) {
      await redis.flushall();
      const id = await queue.enqueue('u', UniqueFinishedJob, { tag: 'pr' });
      const [raw] = await redis.lrange(keys.queue('u'), 0, 0);
      await redis.del(keys.queue('u'));
      await deadWorker(raw!, []);
      const retryOf = () => ({ key: keys.key('resque-retry:UFinished:x'), limit, delay: 0, ttl: 600, body: raw!.slice(0, -1) });
      const withRetry = new WorkerPruner(redis, keys, { selfId: `${hostname()}:${process.pid}:pruner`, hostname: hostname(), pruneAfterSeconds: 300, onDeadWorker: 'fail', retryOf });
      expect(await withRetry.pruneDeadWorkers()).toHaveLength(1);
      if (limit > 0) {
        expect(await redis.llen(keys.queue('u'))).toBe(1); // retried: back on its queue
        expect(await lockOf('UFinished', canonical('pr'))).toBe(id);
      } else {
        expect(await redis.llen(keys.failed)).toBe(1);
        expect(await lockOf('UFinished', canonical('pr'))).toBeNull();
      }
    }
  });
});

describe('unique jobs: real workers', () => {
  afterEach(killAllWorkers);
  const running = (tag: string) => waitFor(`job ${tag} to run`, () => redis.get(`t:running:${tag}`));
  const go = (tag: string) => redis.set(`t:go:${tag}`, '1');
  const statusOf = async (id: string) => (JSON.parse((await redis.get(keys.status(id))) ?? 'null') as { status: number } | null)?.status;

  it("until 'finished': held while queued and running, released by completion and by failure", async () => {
    startWorker();
    const first = (await queue.enqueue('u', UniqueFinishedJob, { tag: 'f' }, { track: true })) as string;
    expect(await running('f')).toBe(first);
    expect(await queue.enqueue('u', UniqueFinishedJob, { tag: 'f' })).toBe(first);
    await go('f');
    await waitFor('completion', async () => (await statusOf(first)) === 4);
    expect(await lockOf('UFinished', canonical('f'))).toBeNull();
    const second = await queue.enqueue('u', UniqueFinishedJob, { tag: 'f' });
    expect(second).not.toBe(first);
    await running('f'); // t:go:f is still set: it completes at once

    const failing = (await queue.enqueue('u', UniqueFinishedJob, { tag: 'ff', fail: true }, { track: true })) as string;
    await running('ff');
    expect(await lockOf('UFinished', JSON.stringify({ fail: true, tag: 'ff' }))).toBe(failing);
    await go('ff');
    await waitFor('the failure', async () => (await statusOf(failing)) === 3);
    expect(await redis.llen(keys.failed)).toBe(1);
    expect(await lockOf('UFinished', JSON.stringify({ fail: true, tag: 'ff' }))).toBeNull();
  });

  it("until 'started': released when the worker starts the job, so an equal job queues while it runs", async () => {
    startWorker();
    const first = await queue.enqueue('u', UniqueStartedJob, { tag: 's' });
    await running('s');
    await waitFor('the start to release the lock', async () => (await lockOf('UStarted', canonical('s'))) === null);
    const second = await queue.enqueue('u', UniqueStartedJob, { tag: 's' });
    expect(second).not.toBe(first);
    expect(await lockOf('UStarted', canonical('s'))).toBe(second);
    expect(await queue.enqueue('u', UniqueStartedJob, { tag: 's' })).toBe(second);
    await go('s');
    await waitFor('the second to start and release', async () => (await lockOf('UStarted', canonical('s'))) === null && (await redis.llen(keys.queue('u'))) === 0);
  });

  it('a job whose lock expired and was taken by an equal job does not release that job\'s lock', async () => {
    startWorker();
    const first = (await queue.enqueue('u', UniqueFinishedJob, { tag: 'n' }, { track: true })) as string;
    await running('n');
    const lock = keys.key(`unique:UFinished:${canonical('n')}`);
    await redis.set(lock, 'f'.repeat(32), 'EX', 600); // as if the TTL ran out and a later job took it
    await go('n');
    await waitFor('completion', async () => (await statusOf(first)) === 4);
    expect(await redis.get(lock)).toBe('f'.repeat(32));
  });

  it("a worker SIGKILLed mid-job: the pruner fails the job and releases its 'finished' lock; an equal job then enqueues", async () => {
    const worker = startWorker();
    const [workerId] = await worker.ready;
    const first = await queue.enqueue('u', UniqueFinishedJob, { tag: 'k' });
    await running('k');
    worker.signal('SIGKILL');
    await worker.exited;
    const pid = parseWorkerId(workerId!)!.pid;
    await waitFor(`process ${pid} to be gone`, () => !isAlive(pid));
    expect(await queue.enqueue('u', UniqueFinishedJob, { tag: 'k' })).toBe(first); // still held: nobody released it

    const pruner = new WorkerPruner(redis, keys, { selfId: `${hostname()}:${process.pid}:pruner`, hostname: hostname(), pruneAfterSeconds: 300, onDeadWorker: 'fail' });
    const pruned = await pruner.pruneDeadWorkers();
    expect(pruned.map((p) => p.workerId)).toEqual([workerId]);
    expect(JSON.parse((await redis.lindex(keys.failed, 0))!)).toMatchObject({ exception: 'Resque::PruneDeadWorkerDirtyExit', payload: { id: first } });
    expect(await lockOf('UFinished', canonical('k'))).toBeNull();
    const next = await queue.enqueue('u', UniqueFinishedJob, { tag: 'k' });
    expect(next).not.toBe(first);
    expect(await lockOf('UFinished', canonical('k'))).toBe(next);
  });
});

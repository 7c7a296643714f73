// Real worker processes and real signals: TERM/INT run Ruby's TERM sequence (RESQUE_PRE_SHUTDOWN_TIMEOUT, then
// ctx.signal aborted with a TermException, then RESQUE_TERM_TIMEOUT, then SIGKILL) and record the running job as
// Resque::TermException or put it back (issue 8), and a SIGKILLed worker's job is found by another worker's
// pruner: failed, or re-enqueued (item 23).
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ResqueWorkerHandle, ResqueWorkerHostOptions } from '../lib/worker/index.js';
import { isAlive, killAllWorkers, spawnWorker, waitFor, type WorkerProcess } from './apps/worker-harness.js';
import { startRedis, type TestRedis } from './support/redis-server.js';

let server: TestRedis;
let redis: Redis;
const workers: Record<string, WorkerProcess> = {};
const ids: Record<string, string> = {};
let runInline: (options: ResqueWorkerHostOptions) => Promise<ResqueWorkerHandle>;
const k = (key: string) => `resque:${key}`;

async function startSleep(queue: string, tag: string, jobId: string): Promise<{ raw: string; childPid: number }> {
  const raw = JSON.stringify({ class: 'Sleep', args: [{ ms: 30_000, tag }], id: jobId, queue_time: 1795726922.5 });
  await redis.set(k(`job:${jobId}:status`), '{"status":1,"updated":1,"started":1}');
  await redis.sadd(k('queues'), queue);
  await redis.rpush(k(`queue:${queue}`), raw);
  const childPid = Number(await waitFor(`the ${tag} job to start`, () => redis.get(`t:running:${tag}`)));
  return { raw, childPid };
}
async function failuresOf(queue: string): Promise<Array<Record<string, unknown>>> {
  return (await redis.lrange(k('failed'), 0, -1)).map((f) => JSON.parse(f) as Record<string, unknown>).filter((f) => f['queue'] === queue);
}
async function registryGone(id: string): Promise<void> {
  expect(await redis.sismember(k('workers'), id)).toBe(0);
  expect(await redis.exists(k(`worker:${id}`), k(`worker:${id}:started`), k(`stat:processed:${id}`), k(`stat:failed:${id}`))).toBe(0);
}

beforeAll(async () => {
  server = await startRedis();
  redis = server.client();
  // No periodic pruning in these workers (only at start-up): item 23 checks that the next worker to start
  // finds the SIGKILLed one, which a sibling's prune timer could otherwise do first on a slow machine.
  const spawn = (name: string, env: Record<string, string> = {}, options: Record<string, unknown> = {}) =>
    (workers[name] = spawnWorker(server.url, { QUEUE: `${name}_q`, INTERVAL: '0.05', ...env }, { pruneIntervalSeconds: 3600, ...options }));
  spawn('term', { RESQUE_TERM_TIMEOUT: '0.2' });
  spawn('int');
  spawn('pre', { RESQUE_PRE_SHUTDOWN_TIMEOUT: '30' });
  spawn('requeue', {}, { onInterrupted: 'requeue' });
  spawn('timeout', {}, { timeout: 300, termTimeoutMs: 20_000 });
  spawn('dead');
  spawn('dead2');
  for (const name of Object.keys(workers)) ids[name] = (await workers[name]!.ready)[0]!;
  process.env['REDIS_URL'] = server.url;
  const [{ ResqueWorkerHost }, { WorkerTestModule }] = await Promise.all([import('../lib/worker/index.js'), import('./apps/worker-module.js')]);
  runInline = (options) => ResqueWorkerHost.run(WorkerTestModule, { isolation: 'inline', interval: 0.05, appOptions: { logger: false }, ...options });
}, 60_000);
afterAll(async () => {
  await killAllWorkers();
  await server.stop();
});

function statusOf(jobId: string): Promise<Record<string, unknown>> {
  return redis.get(k(`job:${jobId}:status`)).then((s) => JSON.parse(s!) as Record<string, unknown>);
}

describe('TERM/INT (Ruby: RESQUE_PRE_SHUTDOWN_TIMEOUT, RESQUE_TERM_TIMEOUT, Resque::TermException)', () => {
  it('TERM: a job that ignores ctx.signal is SIGKILLed after RESQUE_TERM_TIMEOUT and recorded as Resque::TermException', async () => {
    const worker = workers['term']!;
    const jobId = 'term0000000000000000000000000000';
    const { raw, childPid } = await startSleep('term_q', 'term', jobId);
    worker.signal('SIGTERM');
    expect(await worker.exited).toEqual({ code: 0, signal: null });
    const [failure] = await failuresOf('term_q');
    expect(failure).toMatchObject({
      payload: JSON.parse(raw),
      exception: 'Resque::TermException',
      error: 'Worker received SIGTERM while performing Sleep; it did not stop within 200 ms and its child was killed (SIGKILL)',
      worker: ids['term'],
    });
    expect(failure!['backtrace']).toEqual(expect.arrayContaining(['sleep job term: started']));
    expect(worker.output().stdout).toContain(`slot 0: Sleep did not stop within 200 ms; killing child ${childPid} (SIGKILL)`);
    expect(await statusOf(jobId)).toMatchObject({ status: 3, started: 1 });
    await registryGone(ids['term']!);
    expect(isAlive(childPid)).toBe(false);
  });

  it('INT: aborts ctx.signal with a TermException; the job throws it and is recorded as Resque::TermException', async () => {
    const worker = workers['int']!;
    const jobId = 'int00000000000000000000000000000';
    const raw = JSON.stringify({ class: 'Abortable', args: [{ tag: 'int' }], id: jobId });
    await redis.set(k(`job:${jobId}:status`), '{"status":1,"updated":1,"started":1}');
    await redis.rpush(k('queue:int_q'), raw);
    const childPid = Number(await waitFor('the job to start', () => redis.get('t:running:int')));
    worker.signal('SIGINT');
    expect(await worker.exited).toEqual({ code: 0, signal: null });
    expect(await redis.get('t:aborted:int')).toBe('Resque::TermException');
    const [failure] = await failuresOf('int_q');
    expect(failure).toMatchObject({
      payload: JSON.parse(raw),
      exception: 'Resque::TermException',
      error: 'Worker received SIGINT while performing Abortable; the job was stopped',
      worker: ids['int'],
    });
    expect(await statusOf(jobId)).toMatchObject({ status: 3 });
    await registryGone(ids['int']!);
    expect(isAlive(childPid)).toBe(false);
  });

  it('TERM (to the whole process group) with RESQUE_PRE_SHUTDOWN_TIMEOUT: the running job finishes and completes, then the worker exits', async () => {
    const worker = workers['pre']!;
    const jobId = 'pre00000000000000000000000000000';
    const raw = JSON.stringify({ class: 'Sleep', args: [{ ms: 800, tag: 'pre' }], id: jobId });
    await redis.set(k(`job:${jobId}:status`), '{"status":1,"updated":1,"started":1}');
    await redis.rpush(k('queue:pre_q'), raw);
    const childPid = Number(await waitFor('the job to start', () => redis.get('t:running:pre')));
    // As systemd (KillMode=control-group) does: TERM to every process. The child leaves it to its parent.
    process.kill(childPid, 'SIGTERM');
    worker.signal('SIGTERM');
    expect(await worker.exited).toEqual({ code: 0, signal: null });
    expect(await redis.lrange('t:finished', 0, -1)).toContain('pre');
    expect(await failuresOf('pre_q')).toEqual([]);
    expect(await statusOf(jobId)).toMatchObject({ status: 4, result: 'pre' });
    await registryGone(ids['pre']!);
  });

  it("onInterrupted 'requeue': the stopped job goes back to the head of its queue, ahead of the jobs claimed after it", async () => {
    const worker = workers['requeue']!;
    const id = ids['requeue']!;
    const jobId = 'rq000000000000000000000000000000';
    const first = JSON.stringify({ class: 'Abortable', args: [{ tag: 'requeue' }], id: jobId });
    const later = [1, 2].map((n) => JSON.stringify({ class: 'Echo', args: [{ n }] }));
    await redis.set(k(`job:${jobId}:status`), '{"status":1,"updated":1,"started":1}');
    await redis.rpush(k('queue:requeue_q'), first, ...later);
    await waitFor('the job to start', () => redis.get('t:running:requeue'));
    // Both later jobs claimed ahead (prefetch 2): they must end up behind the interrupted one, in order.
    await waitFor('the claim list', async () => (await redis.llen(k(`worker:${id}:claim`))) === 2);
    const failedBefore = await redis.get(k('stat:failed'));
    worker.signal('SIGTERM');
    expect(await worker.exited).toEqual({ code: 0, signal: null });
    expect(await redis.get('t:aborted:requeue')).toBe('Resque::TermException');
    expect(await redis.lrange(k('queue:requeue_q'), 0, -1)).toEqual([first, ...later]);
    expect(await failuresOf('requeue_q')).toEqual([]);
    expect(await statusOf(jobId)).toMatchObject({ status: 1 });
    expect(await redis.get(k('stat:failed'))).toBe(failedBefore);
    await registryGone(id);
    expect(await redis.exists(k(`worker:${id}:claim`))).toBe(0);
  });

  it('a job past its timeout has ctx.signal aborted with JobTimeoutError; stopping in time keeps its child', async () => {
    const jobId = 'to000000000000000000000000000000';
    await redis.rpush(k('queue:timeout_q'), JSON.stringify({ class: 'Abortable', args: [{ tag: 'timeout' }], id: jobId }));
    const childPid = await waitFor('the job to start', () => redis.get('t:running:timeout'));
    const [failure] = await waitFor('the failure', async () => {
      const found = await failuresOf('timeout_q');
      return found.length > 0 && found;
    });
    expect(failure).toMatchObject({ exception: 'JobTimeoutError', error: 'job exceeded its timeout of 300 ms', worker: ids['timeout'] });
    expect(await redis.get('t:aborted:timeout')).toBe('JobTimeoutError');
    // The child was not killed: the next job runs in the same process.
    await redis.rpush(k('queue:timeout_q'), JSON.stringify({ class: 'Echo', args: [{ after: 'timeout' }] }));
    const seen = await waitFor('the next job', async () => (await redis.lrange('t:seen', 0, -1)).map((j) => JSON.parse(j) as { params: { after?: string }; pid: number }).find((j) => j.params.after === 'timeout'));
    expect(String(seen.pid)).toBe(childPid);
  });
});

describe('a SIGKILLed worker', () => {
  it('has its in-flight job failed as PruneDeadWorkerDirtyExit by the next worker that starts (item 23)', async () => {
    const dead = workers['dead']!;
    const { raw, childPid } = await startSleep('dead_q', 'dead', 'dead0000000000000000000000000000');
    dead.signal('SIGKILL');
    await dead.exited;
    await waitFor('the orphaned child to exit', () => !isAlive(childPid));
    expect(await redis.sismember(k('workers'), ids['dead']!)).toBe(1); // nobody cleaned up yet

    const other = await runInline({ queues: ['other'] });
    await other.stop();
    const [failure] = await failuresOf('dead_q');
    expect(failure).toMatchObject({
      payload: JSON.parse(raw),
      exception: 'Resque::PruneDeadWorkerDirtyExit',
      // Ruby's sentence, then how the death was found; nobody of ours can see a SIGKILLed parent's signal.
      error: `Worker ${ids['dead']} did not gracefully exit while processing Sleep (process ${dead.pid} is gone; its exit code or signal is unknown to the pruner)`,
      worker: ids['dead'],
    });
    expect(JSON.parse((await redis.get(k('job:dead0000000000000000000000000000:status')))!)).toMatchObject({ status: 3 });
    await registryGone(ids['dead']!);
  });

  it("has its in-flight job re-enqueued byte for byte with onDeadWorker 'requeue'", async () => {
    const dead = workers['dead2']!;
    const { raw } = await startSleep('dead2_q', 'dead2', 'dead2000000000000000000000000000');
    dead.signal('SIGKILL');
    await dead.exited;
    const other = await runInline({ queues: ['other'], onDeadWorker: 'requeue' });
    await other.stop();
    expect(await redis.lrange(k('queue:dead2_q'), 0, -1)).toEqual([raw]);
    expect(await failuresOf('dead2_q')).toEqual([]);
    await registryGone(ids['dead2']!);
  });
});

// Real worker processes and real signals: TERM/INT record the running job as a dirty exit (item 26), and a
// SIGKILLed worker's job is found by another worker's pruner: failed, or re-enqueued (item 23).
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
  for (const name of ['term', 'int', 'dead', 'dead2']) workers[name] = spawnWorker(server.url, { QUEUE: `${name}_q`, INTERVAL: '0.05' });
  for (const name of Object.keys(workers)) ids[name] = (await workers[name]!.ready)[0]!;
  process.env['REDIS_URL'] = server.url;
  const [{ ResqueWorkerHost }, { WorkerTestModule }] = await Promise.all([import('../lib/worker/index.js'), import('./apps/worker-module.js')]);
  runInline = (options) => ResqueWorkerHost.run(WorkerTestModule, { isolation: 'inline', interval: 0.05, appOptions: { logger: false }, ...options });
}, 60_000);
afterAll(async () => {
  await killAllWorkers();
  await server.stop();
});

describe('signals', () => {
  it.each([
    ['term', 'SIGTERM'],
    ['int', 'SIGINT'],
  ] as const)('%s: kills the child now, records the job as a dirty exit (status FAILED), unregisters and exits', async (name, signal) => {
    const worker = workers[name]!;
    const jobId = `${name}00000000000000000000000000000`.slice(0, 32);
    const { raw, childPid } = await startSleep(`${name}_q`, name, jobId);
    worker.signal(signal);
    expect(await worker.exited).toEqual({ code: 0, signal: null });
    const [failure] = await failuresOf(`${name}_q`);
    expect(failure).toMatchObject({
      payload: JSON.parse(raw),
      exception: 'Resque::DirtyExit',
      error: 'Child process was killed by signal SIGKILL while performing Sleep',
      worker: ids[name],
    });
    expect(JSON.parse((await redis.get(k(`job:${jobId}:status`)))!)).toMatchObject({ status: 3, started: 1 });
    await registryGone(ids[name]!);
    expect(isAlive(childPid)).toBe(false);
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

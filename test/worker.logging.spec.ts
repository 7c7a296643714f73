// The worker's own log lines (issue 8), from a real worker process: start, per-job lines with VERBOSE,
// failures always, pruned workers, signals and shutdown; no ANSI colours when stdout/stderr are not a TTY.
import { spawnSync } from 'node:child_process';
import { hostname } from 'node:os';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { killAllWorkers, spawnWorker, waitFor } from './apps/worker-harness.js';
import { startRedis, type TestRedis } from './support/redis-server.js';

let server: TestRedis;
let redis: Redis;
const k = (key: string) => `resque:${key}`;
const ESC = '\u001b';

beforeAll(async () => {
  server = await startRedis();
  redis = server.client();
});
afterAll(async () => {
  await killAllWorkers();
  await server.stop();
});

/** Runs one Echo and one Fail job on `queue`, then QUITs the worker; returns its output. */
async function runTwoJobs(queue: string, env: Record<string, string>): Promise<{ id: string; pid: number; stdout: string; stderr: string }> {
  await redis.rpush(k(`queue:${queue}`), JSON.stringify({ class: 'Echo', args: [{ n: 1 }], id: `${queue}-echo` }), JSON.stringify({ class: 'Fail', args: [{ name: 'x' }] }));
  const worker = spawnWorker(server.url, { QUEUE: queue, INTERVAL: '0.05', ...env });
  const [id] = (await worker.ready) as [string];
  await waitFor('both jobs', async () => (await redis.get(k(`stat:processed:${id}`))) === '2');
  worker.signal('SIGQUIT');
  expect(await worker.exited).toEqual({ code: 0, signal: null });
  return { id, pid: worker.pid, ...worker.output() };
}

describe('worker log lines', () => {
  it('VERBOSE: start, each job got/done, the failure, the signal and the shutdown; no ANSI escapes on a pipe', async () => {
    const { id, pid, stdout, stderr } = await runTwoJobs('log_verbose', { VERBOSE: '1' });
    expect(stdout).toContain(`started ${id}: queues log_verbose, 1 slot(s), isolation pool, pid ${pid}`);
    expect(stdout).toContain(`${id} got: Echo (queue log_verbose, id log_verbose-echo)`);
    expect(stdout).toContain(`${id} done: Echo (queue log_verbose, id log_verbose-echo)`);
    expect(stdout).toContain(`${id} got: Fail (queue log_verbose)`);
    expect(stderr).toContain(`${id} failed: Fail (queue log_verbose): RangeError: boom x`);
    expect(stdout).toContain('received SIGQUIT: finishing the running jobs, then exiting');
    expect(stdout).toContain(`shutting down ${id}`);
    expect(stdout).toContain(`stopped ${id}: unregistered`);
    expect(stdout.indexOf('received SIGQUIT')).toBeLessThan(stdout.indexOf(`stopped ${id}`));
    // The pool child's own Nest lines (VERBOSE lets children log) are uncoloured too: it writes to our stdout.
    expect(stdout).toMatch(new RegExp(`^\\[Nest\\] (?!${pid} )\\d+ .*\\[NestFactory\\] Starting Nest application`, 'm'));
    expect(stdout).not.toContain(ESC);
    expect(stderr).not.toContain(ESC);
  }, 60_000);

  it('by default: lifecycle lines, pruned workers and failures, but no per-job lines', async () => {
    // A worker of this host whose process is gone: pruned at start-up, with a warning.
    const gone = spawnSync(process.execPath, ['-e', '0']).pid;
    const deadId = `${hostname()}:${gone}:log_quiet`;
    await redis.sadd(k('workers'), deadId);
    const { id, stdout, stderr } = await runTwoJobs('log_quiet', {});
    expect(stdout).toContain(`started ${id}: queues log_quiet, 1 slot(s), isolation pool`);
    expect(stdout).toContain(`pruned dead worker ${deadId}`);
    expect(stderr).toContain(`${id} failed: Fail (queue log_quiet): RangeError: boom x`);
    expect(stdout).toContain(`stopped ${id}: unregistered`);
    expect(stdout).not.toContain(' got: ');
    expect(stdout).not.toContain(' done: ');
    expect(stdout + stderr).not.toContain(ESC);
  }, 60_000);
});

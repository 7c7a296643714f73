// Real worker processes whose children are killed, or orphaned, in each phase of their life (issue 8):
// a child killed from outside while the worker starts is replaced, a child that cannot boot for a reason of
// its own still fails the start (naming it), and a child whose parent is SIGKILLed exits at once whether it
// is importing, booting, idle or mid-job.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { killAllWorkers, spawnWorker, waitFor } from './apps/worker-harness.js';
import { startRedis, type TestRedis } from './support/redis-server.js';

const ENTRY = 'test/apps/worker-phases-main.ts';
let server: TestRedis;
let redis: Redis;
const dirs: string[] = [];

function holdDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'nestjs-resque-hold-'));
  dirs.push(dir);
  return dir;
}

/** Pids of the children that marked `phase` in `dir` (see test/apps/worker-phases-hold.ts), once there are `count`. */
function marked(dir: string, phase: string, count: number): Promise<number[]> {
  return waitFor(`${count} child(ren) in the ${phase} phase`, () => {
    const pids = readdirSync(dir)
      .filter((name) => name.startsWith(`${phase}-`))
      .map((name) => Number(name.slice(phase.length + 1)));
    return pids.length >= count ? pids : null;
  }, 60_000); // generous: children boot slowly on a loaded machine
}

/** The processes whose parent is `pid` (from /proc). */
function childrenOf(pid: number): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .filter((name) => {
      try {
        const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
        return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid;
      } catch {
        return false; // gone meanwhile
      }
    })
    .map(Number);
}

/** Exited (a zombie not yet reaped counts as exited). */
function gone(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return !existsSync(`/proc/${pid}`);
  }
}

beforeAll(async () => {
  server = await startRedis();
  redis = server.client();
});

afterAll(async () => {
  await killAllWorkers();
  await server.stop();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('a child killed while the worker starts', () => {
  it('is replaced when killed from outside: the worker starts and performs with the new child', async () => {
    const dir = holdDir();
    const worker = spawnWorker(server.url, { QUEUE: 'replaced', INTERVAL: '0.05', T_HOLD: 'boot', T_HOLD_ONCE: '1', T_HOLD_DIR: dir }, {}, ENTRY);
    const [first] = await marked(dir, 'boot', 1);
    process.kill(first!, 'SIGKILL');
    await worker.ready;
    await redis.sadd('resque:queues', 'replaced');
    await redis.rpush('resque:queue:replaced', JSON.stringify({ class: 'Echo', args: [{ n: 1 }], id: 'r1' }));
    const seen = await waitFor('the job to run', async () => (await redis.lrange('t:seen', 0, -1)).map((s) => JSON.parse(s) as { queue: string; pid: number }).find((s) => s.queue === 'replaced'));
    expect(seen.pid).not.toBe(first);
    expect(childrenOf(worker.pid)).toEqual([seen.pid]);
    expect(worker.output().stdout).toContain('worker child (slot 0) exited during start-up with signal SIGKILL; starting another'); // a warning
  }, 90_000);

  it('fails the start when its boot fails for a reason of its own, naming it in one line', async () => {
    const worker = spawnWorker(server.url, { QUEUE: 'refused', INTERVAL: '0.05', T_BOOT_FAIL: '1' }, {}, ENTRY);
    expect(await worker.exited).toEqual({ code: 1, signal: null });
    const { stderr } = worker.output();
    expect(stderr).toContain('could not start: worker child (slot 0) failed to boot: boot refused by the test');
    expect(stderr).not.toMatch(/^\s+at /m);
  }, 60_000);
});

/** True once `pid` has a handler for `signal` (SigCgt in /proc/<pid>/status). */
function catches(pid: number, signal: number): boolean {
  const mask = /^SigCgt:\s*([0-9a-f]+)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return mask !== undefined && (BigInt(`0x${mask}`) & (1n << BigInt(signal - 1))) !== 0n;
}

describe('a worker stopped while its children boot', () => {
  it('shuts down as usual on TERM (exit 0), and does not report a failed start', async () => {
    const dir = holdDir();
    const worker = spawnWorker(server.url, { QUEUE: 'stopped', COUNT: '2', INTERVAL: '0.05', T_HOLD: 'boot', T_HOLD_MS: '120000', T_HOLD_DIR: dir }, {}, ENTRY);
    const children = await marked(dir, 'boot', 2);
    await waitFor('the worker to handle TERM', () => catches(worker.pid, 15), 60_000);
    worker.signal('SIGTERM');
    expect(await worker.exited).toEqual({ code: 0, signal: null });
    expect(worker.output().stderr).not.toContain('could not start');
    await waitFor('the booting children to be gone', () => children.every(gone));
  }, 90_000);
});

describe("a worker stopped while a recycled child's successor boots (maxJobsPerChild 1)", () => {
  interface Seen { queue: string; pid: number; params: { n: number } }
  const seenIn = async (queue: string): Promise<Seen[]> => (await redis.lrange('t:seen', 0, -1)).map((s) => JSON.parse(s) as Seen).filter((s) => s.queue === queue);
  const failedIn = async (queue: string): Promise<Array<{ queue: string; exception: string; error: string; payload: { id: string } }>> =>
    (await redis.lrange('resque:failed', 0, -1)).map((f) => JSON.parse(f) as { queue: string; exception: string; error: string; payload: { id: string } }).filter((f) => f.queue === queue);

  /** Job 1 ran in the first child; the successor (for job 2) is held in its boot for `holdMs`. */
  async function recycling(queue: string, holdMs: number): Promise<{ worker: ReturnType<typeof spawnWorker>; successor: number; processed: number }> {
    const dir = holdDir();
    const worker = spawnWorker(server.url, { QUEUE: queue, INTERVAL: '0.05', T_HOLD: 'boot', T_HOLD_SKIP: '1', T_HOLD_MS: String(holdMs), T_HOLD_DIR: dir }, { maxJobsPerChild: 1 }, ENTRY);
    await worker.ready;
    const processed = Number((await redis.get('resque:stat:processed')) ?? 0);
    await redis.sadd('resque:queues', queue);
    for (const n of [1, 2]) await redis.rpush(`resque:queue:${queue}`, JSON.stringify({ class: 'Echo', args: [{ n }], id: `${queue}-${n}` }));
    await waitFor('job 1 to run', async () => (await seenIn(queue)).length === 1, 60_000);
    const [successor] = await marked(dir, 'boot', 1);
    return { worker, successor: successor!, processed };
  }

  it('QUIT: records the finished job, and the next one (started) runs once its child is up', async () => {
    const { worker, successor, processed } = await recycling('recycle_quit', 4_000);
    expect(gone(successor)).toBe(false); // still held in its boot when QUIT comes
    expect((await seenIn('recycle_quit')).map((s) => s.params.n)).toEqual([1]);
    worker.signal('SIGQUIT');
    expect(await worker.exited).toEqual({ code: 0, signal: null });
    const seen = await seenIn('recycle_quit');
    expect(seen.map((s) => s.params.n)).toEqual([1, 2]);
    expect(seen[1]!.pid).toBe(successor);
    expect(Number(await redis.get('resque:stat:processed')) - processed).toBe(2);
    expect(await failedIn('recycle_quit')).toEqual([]);
    expect((await redis.smembers('resque:workers')).filter((id) => id.endsWith(':recycle_quit'))).toEqual([]); // unregistered
  }, 90_000);

  it('TERM: records the finished job; the next one, whose child was still booting, fails as interrupted without running', async () => {
    const { worker, successor, processed } = await recycling('recycle_term', 120_000);
    worker.signal('SIGTERM');
    expect(await worker.exited).toEqual({ code: 0, signal: null });
    expect((await seenIn('recycle_term')).map((s) => s.params.n)).toEqual([1]);
    expect(Number(await redis.get('resque:stat:processed')) - processed).toBe(2); // Resque counts failures as processed
    const failures = await failedIn('recycle_term');
    expect(failures.map((f) => [f.payload.id, f.exception])).toEqual([['recycle_term-2', 'Resque::TermException']]);
    expect(failures[0]!.error).toContain('it had not started: its child was stopped while booting');
    await waitFor('the booting successor to be gone', () => gone(successor));
    expect((await redis.smembers('resque:workers')).filter((id) => id.endsWith(':recycle_term'))).toEqual([]); // unregistered
  }, 90_000);
});

describe('a child whose parent is SIGKILLed exits at once', () => {
  it.each(['import', 'boot', 'idle', 'mid-job'] as const)('while %s', async (phase) => {
    const dir = holdDir();
    const queue = `orphan_${phase}`;
    const env: Record<string, string> = { QUEUE: queue, COUNT: '2', INTERVAL: '0.05' };
    if (phase === 'import' || phase === 'boot') {
      // Held in its imports for a while (the library is evaluated after that), or in its boot for a minute.
      Object.assign(env, { T_HOLD: phase, T_HOLD_DIR: dir, T_HOLD_MS: phase === 'import' ? '1500' : '120000' });
    }
    // prefetch 0: each slot takes one job, so both children are mid-job at once.
    const worker = spawnWorker(server.url, env, { prefetch: 0 }, ENTRY);
    if (phase === 'import' || phase === 'boot') await marked(dir, phase, 2);
    else await worker.ready;
    if (phase === 'mid-job') {
      await redis.sadd('resque:queues', queue);
      for (const tag of ['orphan_a', 'orphan_b']) await redis.rpush(`resque:queue:${queue}`, JSON.stringify({ class: 'Sleep', args: [{ ms: 60_000, tag }] }));
      await waitFor('both jobs to start', async () => (await redis.exists('t:running:orphan_a', 't:running:orphan_b')) === 2);
    }
    const children = childrenOf(worker.pid);
    expect(children).toHaveLength(2);
    worker.signal('SIGKILL');
    await worker.exited;
    await waitFor(`the orphaned children (${children.join(', ')}) to exit`, () => children.every(gone));
  }, 90_000);
});

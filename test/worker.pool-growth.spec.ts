// Pool children on demand (`childStart: 'on-demand'`, the default): slot 0's child boots at start-up, the
// others one at a time while the running children are busy, jobs wait and a CPU has room. Real worker
// processes, real children, a real SIGKILL; the decision itself is checked on its inputs.
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { procCpuTicks, worthGrowing, type GrowthSample } from '../lib/worker/worker.pool-growth.js';
import { isAlive, killAllWorkers, spawnWorker, waitFor, type WorkerProcess } from './apps/worker-harness.js';
import { startRedis, type TestRedis } from './support/redis-server.js';

const k = (key: string) => `resque:${key}`;

describe('worthGrowing: one more child only when it gets work and a CPU', () => {
  const busyPool: GrowthSample = { busy: 0.95, waiting: true, cpusUsed: 0.2, cpus: 1 };

  it('grows a busy pool with jobs waiting and a CPU mostly free (jobs waiting on I/O)', () => {
    expect(worthGrowing(busyPool)).toBe(true);
    expect(worthGrowing({ ...busyPool, cpus: 4, cpusUsed: 3.4 })).toBe(true);
  });

  it('does not grow when the children are mostly idle (the parent sets the pace), nothing waits, or the CPUs are full', () => {
    expect(worthGrowing({ ...busyPool, busy: 0.3 })).toBe(false);
    expect(worthGrowing({ ...busyPool, waiting: false })).toBe(false);
    expect(worthGrowing({ ...busyPool, cpusUsed: 0.9 })).toBe(false);
    expect(worthGrowing({ ...busyPool, cpus: 2, cpusUsed: 1.8 })).toBe(false);
  });

  it("reads a process's CPU time from /proc, and nothing for a pid that is gone", async () => {
    const spinner = spawn(process.execPath, ['-e', 'const end = Date.now() + 10000; while (Date.now() < end);'], { stdio: 'ignore' });
    const pid = spinner.pid!;
    const exited = new Promise((resolve) => spinner.once('exit', resolve));
    try {
      const first = procCpuTicks(pid);
      expect(first).not.toBeNull();
      await waitFor('the spinning process to use CPU', () => (procCpuTicks(pid) ?? 0) > (first ?? 0), 10_000);
    } finally {
      spinner.kill('SIGKILL');
      await exited;
    }
    expect(procCpuTicks(pid)).toBeNull();
  });
});

describe('a COUNT=3 pool worker with children on demand', () => {
  let server: TestRedis;
  let redis: Redis;

  beforeAll(async () => {
    server = await startRedis();
    redis = server.client();
  }, 60_000);

  afterEach(async () => {
    await killAllWorkers();
    await redis.flushall();
  });

  afterAll(async () => {
    await server.stop();
  });

  function start(queue: string): WorkerProcess {
    return spawnWorker(server.url, { QUEUE: queue, COUNT: '3', INTERVAL: '0.05' }, { childStart: 'on-demand', heartbeatIntervalSeconds: 1 });
  }
  async function push(queue: string, jobs: Array<{ class: string; args: unknown[] }>): Promise<void> {
    await redis.sadd(k('queues'), queue);
    await redis.rpush(k(`queue:${queue}`), ...jobs.map((job, i) => JSON.stringify({ ...job, id: `${queue}-${i}` })));
  }
  const registered = async () => (await redis.smembers(k('workers'))).length;

  it('starts one child, and no more while idle', async () => {
    const worker = start('idle');
    expect(await worker.ready).toHaveLength(1);
    await new Promise((r) => setTimeout(r, 1_500)); // three growth windows with nothing to do
    expect(await registered()).toBe(1);
    worker.signal('SIGQUIT');
    expect((await worker.exited).code).toBe(0);
    expect(await registered()).toBe(0);
  }, 30_000);

  it('grows to three children for jobs that wait on I/O; each job runs once', async () => {
    const worker = start('io');
    await worker.ready;
    const total = 100; // 10 s of work for one child: time for two more to boot on a loaded machine
    await push('io', Array.from({ length: total }, (_, n) => ({ class: 'Tally', args: [{ n, ms: 100 }] })));
    await waitFor('three slots registered', async () => (await registered()) === 3, 40_000);
    await waitFor(`${total} jobs done`, async () => (await redis.llen('t:ends')) === total, 40_000);
    const starts = (await redis.lrange('t:starts', 0, -1)).map((s) => JSON.parse(s) as { n: number; workerId: string });
    expect(starts).toHaveLength(total);
    expect(new Set(starts.map((s) => s.n)).size).toBe(total);
    expect(new Set(starts.map((s) => s.workerId)).size).toBeGreaterThan(1);
    worker.signal('SIGQUIT');
    expect((await worker.exited).code).toBe(0);
    expect(await registered()).toBe(0);
  }, 90_000);

  it('keeps one child for no-op jobs: the parent, not the child, is the limit', async () => {
    const worker = start('noop');
    await worker.ready;
    const total = 3_000;
    await push('noop', Array.from({ length: total }, () => ({ class: 'Noop', args: [] })));
    let most = 0;
    await waitFor(
      `${total} no-op jobs processed`,
      async () => {
        most = Math.max(most, await registered());
        return Number(await redis.get(k('stat:processed'))) === total;
      },
      60_000,
    );
    expect(most).toBe(1);
    worker.signal('SIGQUIT');
    expect((await worker.exited).code).toBe(0);
  }, 90_000);

  it('a child started on demand that is SIGKILLed mid-job: that job fails as a dirty exit, the slot gets a new child, no child outlives the worker', async () => {
    const worker = start('kill');
    await worker.ready;
    await push('kill', Array.from({ length: 9 }, (_, n) => ({ class: 'Sleep', args: [{ ms: 30_000, tag: `s${n}` }] })));
    // Slot 0 sleeps on s0 with s1, s2 claimed ahead: busy, work waiting, CPU free: slot 1 starts its child,
    // which takes s3 (s4, s5 claimed ahead).
    const running = async (tag: string) => Number(await redis.get(`t:running:${tag}`));
    const grownPid = await waitFor('a second child running s3', () => running('s3'), 30_000);
    expect(grownPid).not.toBe(await running('s0'));
    process.kill(grownPid, 'SIGKILL');
    const failure = await waitFor('the dirty exit recorded', async () => {
      const [raw] = await redis.lrange(k('failed'), 0, 0);
      return raw ? (JSON.parse(raw) as { exception: string; error: string; payload: { id: string } }) : null;
    });
    expect(failure).toMatchObject({ exception: 'Resque::DirtyExit', payload: { id: 'kill-3' } });
    expect(failure.error).toContain('SIGKILL');
    // The slot goes on with a new child: it starts s4.
    const replacement = await waitFor('s4 started in a new child', () => running('s4'), 30_000);
    expect(replacement).not.toBe(grownPid);
    const keys = await redis.keys('t:running:*');
    const childPids = await Promise.all(keys.map(async (key) => Number(await redis.get(key))));
    worker.signal('SIGTERM');
    await worker.exited;
    await waitFor('every child gone', () => childPids.every((pid) => !isAlive(pid)), 10_000);
    expect(await registered()).toBe(0);
  }, 90_000);

  it('QUIT while a child started on demand is still booting: the running job finishes, the boot is killed, exit 0', async () => {
    // worker-phases-main holds a child in its boot (T_HOLD): the first child passes (T_HOLD_SKIP), the
    // on-demand one holds for two minutes.
    const dir = mkdtempSync(join(tmpdir(), 'nestjs-resque-growth-'));
    try {
      const worker = spawnWorker(
        server.url,
        { QUEUE: 'quit', COUNT: '2', INTERVAL: '0.05', T_HOLD: 'boot', T_HOLD_SKIP: '1', T_HOLD_MS: '120000', T_HOLD_DIR: dir },
        { childStart: 'on-demand', heartbeatIntervalSeconds: 1 },
        'test/apps/worker-phases-main.ts',
      );
      expect(await worker.ready).toHaveLength(1);
      await push('quit', Array.from({ length: 4 }, (_, n) => ({ class: 'Sleep', args: [{ ms: 2_500, tag: `q${n}` }] })));
      const booting = await waitFor('the on-demand child holding in its boot', () => {
        const held = readdirSync(dir).find((name) => name.startsWith('boot-'));
        return held ? Number(held.slice('boot-'.length)) : null;
      });
      worker.signal('SIGQUIT');
      expect(await worker.exited).toEqual({ code: 0, signal: null });
      expect(await redis.lrange('t:finished', 0, -1)).toEqual(['q0']); // the running job finished; no other started
      expect(await redis.llen(k('queue:quit'))).toBe(3); // the claimed ones went back
      expect(await registered()).toBe(0);
      await waitFor('the booting child gone', () => !isAlive(booting), 10_000);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 90_000);
});

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ResqueFailures } from '../lib/admin/index.js';
import { ResqueConnection } from '../lib/connection/index.js';
import { encodePayload, encodeStatus, JobStatus, newJobId, ResqueKeys } from '../lib/protocol/index.js';
import { startRedis, type TestRedis } from './support/redis-server.js';

const NODE_ARGS = ['--import', './test/support/ts-register.mjs', 'lib/cli/cli.main.ts'];
const APP = 'test/apps/cli-worker-module.ts';

interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI to completion (asynchronously, so a test can run several at once). */
function runCli(args: string[], env: Record<string, string | undefined> = {}): Promise<CliResult> {
  return runNode([...NODE_ARGS, ...args], env);
}

/**
 * Runs node to completion. 'close' waits for stdout too, which a worker's children inherit: it also proves
 * that no child was left behind.
 */
function runNode(args: string[], env: Record<string, string | undefined> = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, args, { env: { ...process.env, NO_COLOR: '1', ...env } });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    proc.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    proc.once('error', reject);
    proc.once('close', (status) => resolve({ status, stdout, stderr }));
  });
}

/** Polls until `check` returns a value (bounded, so a broken worker fails the test instead of hanging it). */
async function waitFor<T>(what: string, check: () => Promise<T | null | undefined | false>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('nestjs-resque CLI: usage', () => {
  it('--help prints the usage and exits 0', async () => {
    const out = await runCli(['--help']);
    expect(out.status).toBe(0);
    expect(out.stdout).toContain('nestjs-resque worker <path/to/worker-module.js> [--module ExportName]');
    expect(out.stdout).toContain('REDIS_BACKEND');
  });

  it('an unknown command, a missing path or no arguments print the usage on stderr and exit 2', async () => {
    const [out, noPath, none] = await Promise.all([runCli(['frobnicate']), runCli(['worker']), runCli([])]);
    expect(out.status).toBe(2);
    expect(out.stdout).toBe('');
    expect(out.stderr).toContain('unknown command "frobnicate"');
    expect(out.stderr).toContain('Usage:');
    expect(noPath.status).toBe(2);
    expect(noPath.stderr).toContain('worker needs the path');
    // No arguments at all is a mistake too (a script that lost its command must not "succeed").
    expect(none.status).toBe(2);
    expect(none.stdout).toBe('');
    expect(none.stderr).toContain('missing command');
    expect(none.stderr).toContain('Usage:');
  });

  it('a bad environment fails before anything starts, naming the variable', async () => {
    const [noQueue, badCount, missing, badInclude] = await Promise.all([
      runCli(['worker', APP], { QUEUE: undefined, QUEUES: undefined }),
      runCli(['worker', APP], { QUEUE: 'x', COUNT: 'abc' }),
      runCli(['worker', 'test/apps/nope.ts'], { QUEUE: 'x' }),
      runCli(['worker', APP], { QUEUE: 'x', APP_INCLUDE: 'test/apps/missing-include.js' }),
    ]);
    expect(noQueue.status).toBe(1);
    expect(noQueue.stderr).toContain('QUEUE is required');
    expect(badCount.status).toBe(1);
    expect(badCount.stderr).toContain('COUNT must be a positive integer, got "abc"');
    expect(missing.status).toBe(1);
    expect(missing.stderr).toContain('module file not found');
    expect(badInclude.status).toBe(1);
    expect(badInclude.stderr).toContain('APP_INCLUDE must name an existing file');
  });
});

/** A port nothing listens on (bound once by us, then released). */
async function deadPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('Redis unreachable at start: every entry exits 1 with one line naming the address and the cause', () => {
  it('CLI worker (with children), CLI scheduler, ResqueWorkerHost.run and ResqueSchedulerHost.run', async () => {
    const port = await deadPort();
    const env = { QUEUE: 'x', COUNT: '2', REDIS_BACKEND: `127.0.0.1:${port}`, REDIS_URL: `redis://127.0.0.1:${port}` };
    const runs = await Promise.all([
      runCli(['worker', APP], env),
      runCli(['scheduler', APP], env),
      runNode(['--import', './test/support/ts-register.mjs', 'test/apps/worker-main.ts'], env),
      runNode(['--import', './test/support/ts-register.mjs', 'test/apps/scheduler-main.ts'], env),
    ]);
    for (const out of runs) {
      const lines = out.stderr.split('\n').filter((line) => line.includes('could not connect'));
      expect(out.status, out.stderr).toBe(1);
      expect(lines, out.stderr).toHaveLength(1);
      expect(lines[0]).toContain(`could not start: could not connect to Redis at 127.0.0.1:${port}/0: ECONNREFUSED`);
      expect(out.stderr).not.toMatch(/^\s+at /m); // no stack trace at the default log level
    }
  }, 60_000);
});

describe('nestjs-resque worker <file>: end to end against a real Redis', () => {
  let server: TestRedis;
  let redis: Redis;
  let connection: ResqueConnection;
  let worker: ChildProcess;
  let exited: Promise<number | null>;
  let stderr = '';
  const dir = mkdtempSync(join(tmpdir(), 'nestjs-resque-cli-'));
  const pidFile = join(dir, 'worker.pid');

  beforeAll(async () => {
    server = await startRedis();
    redis = server.client();
    connection = ResqueConnection.create(server.url, 'clitest', { logger: false });
    worker = spawn(process.execPath, [...NODE_ARGS, 'worker', APP], {
      env: {
        ...process.env,
        NO_COLOR: '1',
        QUEUE: 'cli',
        PREFIX: 'clitest:',
        REDIS_BACKEND: `127.0.0.1:${server.port}`,
        INTERVAL: '0.1',
        PIDFILE: pidFile,
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    worker.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    exited = new Promise((resolve) => worker.once('exit', (code) => resolve(code)));
  });

  afterAll(async () => {
    if (worker.exitCode === null && worker.signalCode === null) {
      worker.kill('SIGTERM');
      await exited;
    }
    await connection.close();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  async function enqueue(className: string, params: unknown, track = true): Promise<string> {
    const id = newJobId();
    await redis.sadd('clitest:queues', 'cli');
    if (track) await redis.set(`clitest:job:${id}:status`, encodeStatus({ status: JobStatus.WAITING, updated: 1, started: 1 }));
    await redis.rpush('clitest:queue:cli', encodePayload(className, params, { id, queueTime: Date.now() / 1000 }));
    return id;
  }

  async function statusOf(id: string, wanted: JobStatus): Promise<{ status: number; result?: unknown } | null> {
    const raw = await redis.get(`clitest:job:${id}:status`);
    const packet = raw ? (JSON.parse(raw) as { status: number; result?: unknown }) : null;
    return packet && packet.status === Number(wanted) ? packet : null;
  }

  it('registers under PREFIX, writes PIDFILE, and runs a job with DI in a child process', async () => {
    const id = await enqueue('CliEcho', { name: 'bob' });
    const done = await waitFor('the job to complete', () => statusOf(id, JobStatus.COMPLETE));
    expect(done.result).toBe('hello bob');
    const seen = JSON.parse((await redis.lindex('cli:seen', 0))!) as { params: unknown; id: string; queue: string; pid: number; greeting: string };
    expect(seen).toMatchObject({ params: { name: 'bob' }, id, queue: 'cli', greeting: 'hello bob' });
    expect(seen.pid).not.toBe(worker.pid); // performed in a forked child of the CLI process
    expect(readFileSync(pidFile, 'utf8').trim()).toBe(String(worker.pid));
    const workers = await redis.smembers('clitest:workers');
    expect(workers).toHaveLength(1);
    expect(workers[0]).toMatch(new RegExp(`^[^:]+:${worker.pid}:cli$`));
  });

  it('a failed job requeued with ResqueFailures runs again and its status goes WAITING then COMPLETE', async () => {
    const failures = new ResqueFailures(connection);
    const id = await enqueue('CliFlaky', { n: 21 });
    await waitFor('the job to fail', () => statusOf(id, JobStatus.FAILED));
    const [entry] = await failures.list();
    expect(entry!.record).toMatchObject({ exception: 'RangeError', error: 'flaky 21', queue: 'cli' });
    await redis.set('cli:flaky', '1');
    expect(await failures.requeue(entry!)).toBe('cli');
    const done = await waitFor('the requeued job to complete', () => statusOf(id, JobStatus.COMPLETE));
    expect(done.result).toBe(42);
    expect((await failures.get(0))!.record!.retried_at).toMatch(/^\d{4}\/\d{2}\/\d{2} \d{2}:\d{2}:\d{2} UTC$/);
  });

  it("resque-web's Retry ({class,args}, no id) on our failure produces a job our worker runs; Remove deletes it", async () => {
    await redis.del('cli:flaky', 'clitest:failed');
    await enqueue('CliFlaky', { n: 5 }, false);
    const failures = new ResqueFailures(connection);
    const entry = await waitFor('the failure', () => failures.get(0));
    // What Ruby's Failure.requeue(0) does: LSET with retried_at, then Job.create → {"class","args"}.
    const record = JSON.parse(entry.raw) as { payload: { class: string; args: unknown[] }; queue: string };
    await redis.lset('clitest:failed', 0, JSON.stringify({ ...record, retried_at: '2026/11/26 21:02:24 UTC' }));
    await redis.set('cli:flaky', '1');
    await redis.rpush(`clitest:queue:${record.queue}`, JSON.stringify({ class: record.payload.class, args: record.payload.args }));
    const seen = await waitFor('the retried job to run', async () => {
      const all = await redis.lrange('cli:seen', 0, -1);
      return all.map((s) => JSON.parse(s) as { flaky?: number; id?: string | null }).find((s) => s.flaky === 5);
    });
    expect(seen.id).toBeNull();
    expect((await failures.get(0))!.retriedAt?.toISOString()).toBe('2026-11-26T21:02:24.000Z');
    expect(await failures.remove(0)).toBe(true);
    expect(await failures.count()).toBe(0);
  });

  it('QUIT stops the worker: exit code 0, unregistered, PIDFILE removed', async () => {
    worker.kill('SIGQUIT');
    expect(await exited).toBe(0);
    expect(await redis.smembers('clitest:workers')).toEqual([]);
    expect(existsSync(pidFile)).toBe(false);
    // The only errors are the failures of the CliFlaky jobs above (logged as Ruby and php-resque do).
    const errors = stderr.split('\n').filter((line) => line.includes('ERROR'));
    expect(errors.filter((line) => !/ failed: CliFlaky \(queue cli, id \w+\): RangeError: flaky \d+$/.test(line))).toEqual([]);
    expect(errors).toHaveLength(2);
  });
});

describe('nestjs-resque scheduler <file>: end to end against a real Redis', () => {
  it('moves a due delayed job to its queue, then stops on TERM with exit code 0', async () => {
    const server = await startRedis();
    const redis = server.client();
    const proc = spawn(process.execPath, [...NODE_ARGS, 'scheduler', APP, '--module', 'CliWorkerModule'], {
      env: { ...process.env, NO_COLOR: '1', PREFIX: 'schedtest', REDIS_BACKEND: `redis://127.0.0.1:${server.port}/2`, INTERVAL: '1' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    proc.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
    try {
      const db2 = server.client(2);
      // Schedule only once the scheduler holds its lock, i.e. after start-up (when TERM is handled).
      await waitFor('the scheduler lock', async () => (await db2.exists('schedtest:schedtest:resque_scheduler_master_lock')) === 1);
      const ts = Math.floor(Date.now() / 1000) - 10;
      const item = '{"class":"CliEcho","args":[{"name":"later"}],"queue":"cli"}';
      await db2.rpush(`schedtest:delayed:${ts}`, item);
      await db2.zadd('schedtest:delayed_queue_schedule', ts, String(ts));
      const moved = await waitFor('the delayed job to be moved', async () => (await db2.lrange('schedtest:queue:cli', 0, -1))[0]);
      expect(JSON.parse(moved)).toMatchObject({ class: 'CliEcho', args: [{ name: 'later' }] });
      expect(await db2.exists(`schedtest:delayed:${ts}`)).toBe(0);
      expect(await redis.dbsize()).toBe(0); // REDIS_BACKEND's /2 was honoured
      proc.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(stderr).not.toContain('ERROR');
    } finally {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGKILL');
        await exited;
      }
      await server.stop();
    }
  });
});

describe('CLI and hosts: PREFIX/REDIS_BACKEND fill what the module leaves unset; logger: false silences every part', () => {
  const ENV_APP = 'test/apps/env-module.ts';

  /**
   * Starts `kind` on a module without namespace/connection options, at VVERBOSE (so every level prints), waits
   * until its module wrote its probe and the host is up, stops it with TERM and returns its whole output.
   */
  async function runUntilUp(server: TestRedis, kind: 'worker' | 'scheduler', prefix: string, logger: 'on' | 'off'): Promise<string> {
    const db3 = server.client(3);
    const keys = new ResqueKeys(prefix);
    const proc = spawn(process.execPath, [...NODE_ARGS, kind, ENV_APP], {
      env: {
        ...process.env,
        NO_COLOR: '1',
        PREFIX: prefix,
        REDIS_BACKEND: `redis://127.0.0.1:${server.port}/3`,
        QUEUE: 'envq',
        INTERVAL: '0.2',
        VVERBOSE: '1',
        ENV_PROBE_LOGGER: logger,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    proc.stdout.on('data', (c: Buffer) => (output += c.toString()));
    proc.stderr.on('data', (c: Buffer) => (output += c.toString()));
    const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
    try {
      // The module's own connection wrote this: in REDIS_BACKEND's db 3, under PREFIX.
      await waitFor(`${prefix}: the module's probe`, async () => (await db3.get(keys.key('env-probe'))) !== null);
      if (kind === 'worker') {
        // Registered after its signal handlers are in place.
        await waitFor(`${prefix}: the worker to register`, async () => (await db3.scard(keys.workers)) === 1);
      } else {
        // The host handles TERM once start() resolved (after the first pass): two delayed jobs, the second
        // scheduled once the first was moved, show the loop is past its first pass.
        await waitFor(`${prefix}: the scheduler lock`, async () => (await db3.exists(keys.schedulerLock())) === 1);
        for (const n of [1, 2]) {
          const ts = Math.floor(Date.now() / 1000) - 10 - n;
          await db3.rpush(keys.key(`delayed:${ts}`), `{"class":"Probe","args":[${n}],"queue":"envq"}`);
          await db3.zadd(keys.key('delayed_queue_schedule'), ts, String(ts));
          await waitFor(`${prefix}: delayed job ${n} to move`, async () => (await db3.llen(keys.queue('envq'))) === n);
        }
      }
      proc.kill('SIGTERM');
      expect(await exited, output).toBe(0);
      return output;
    } finally {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGKILL');
        await exited;
      }
    }
  }

  it('worker and scheduler: the module uses PREFIX and REDIS_BACKEND; with logger: false no line comes from the library', async () => {
    const server = await startRedis();
    try {
      const [workerOn, workerOff, schedulerOn, schedulerOff] = await Promise.all([
        runUntilUp(server, 'worker', 'envw1', 'on'),
        runUntilUp(server, 'worker', 'envw2', 'off'),
        runUntilUp(server, 'scheduler', 'envs1', 'on'),
        runUntilUp(server, 'scheduler', 'envs2', 'off'),
      ]);
      expect(await server.client(0).dbsize()).toBe(0); // nothing went to the default db
      const contexts = (output: string) => new Set([...output.matchAll(/\[(Resque\w*)\]/g)].map((m) => m[1]));
      // With the logger on, each part speaks (the module's debug line names where it ended up)...
      expect(workerOn).toContain(`[Resque] Redis 127.0.0.1:${server.port}/3, namespace "envw1"`);
      expect(contexts(workerOn)).toEqual(new Set(['Resque', 'ResqueWorker']));
      expect(contexts(schedulerOn)).toEqual(new Set(['Resque', 'ResqueScheduler', 'ResqueSchedulerHost']));
      // ...and with `logger: false` none does: not the connection, worker, scheduler, its engine or its host.
      expect(contexts(workerOff), workerOff).toEqual(new Set());
      expect(contexts(schedulerOff), schedulerOff).toEqual(new Set());
    } finally {
      await server.stop();
    }
  }, 90_000);
});

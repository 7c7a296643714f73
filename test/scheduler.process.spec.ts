import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { decodePayload } from '../lib/protocol/index.js';
import { pushDueItems, startSchedulerProcess, waitFor, type SchedulerProcess } from './apps/scheduler-helpers.js';
import { startRedis, type TestRedis } from './support/redis-server.js';

const PREFIX = 'proc';
const LOCK_KEY = `${PREFIX}:${PREFIX}:resque_scheduler_master_lock`;

/** Every promoted job's `n`, checking each is a valid job of ours. */
async function promotedNumbers(client: Redis): Promise<number[]> {
  return (await client.lrange(`${PREFIX}:queue:bulk`, 0, -1)).map((raw) => {
    const job = decodePayload(raw);
    expect(job.id).toMatch(/^[0-9a-f]{32}$/);
    return (job.params as { n: number }).n;
  });
}

describe('scheduler processes (real child processes, real signals)', () => {
  let redis: TestRedis;
  let client: Redis;
  let dir: string;
  const started: SchedulerProcess[] = [];

  const run = (env: Record<string, string> = {}): SchedulerProcess => {
    const proc = startSchedulerProcess({ REDIS_BACKEND: `127.0.0.1:${redis.port}`, PREFIX: `${PREFIX}:`, INTERVAL: '0.1', ...env });
    started.push(proc);
    return proc;
  };

  beforeAll(async () => {
    redis = await startRedis();
    client = redis.client();
    dir = mkdtempSync(join(tmpdir(), 'resque-scheduler-'));
  });

  afterEach(async () => {
    for (const proc of started.splice(0)) {
      if (proc.child.exitCode === null && proc.child.signalCode === null) proc.child.kill('SIGKILL');
      await proc.exited;
    }
  });

  afterAll(async () => {
    await redis?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  beforeEach(async () => {
    await client.flushall();
  });

  it('two scheduler processes started together promote 5,000 due jobs exactly once, then keep promoting and firing once per tick', async () => {
    await pushDueItems(client, PREFIX, 5000, Math.floor(Date.now() / 1000) - 30);
    const env = { TEST_DECORATED_CRON: '* * * * * *' };
    const pidFile = join(dir, 'scheduler.pid');
    const a = run({ ...env, PIDFILE: pidFile });
    const b = run(env);
    const owners = await Promise.all([a.ready, b.ready]);
    expect(owners[0]).not.toBe(owners[1]);
    expect(owners[0]).toMatch(new RegExp(`:${a.child.pid}$`)); // Ruby's host:pid
    expect(readFileSync(pidFile, 'utf8').trim()).toBe(String(a.child.pid));
    await waitFor(async () => (await client.exists(`${PREFIX}:delayed_queue_schedule`)) === 0, 'the schedule to drain');
    const ns = await promotedNumbers(client);
    expect(ns).toHaveLength(5000);
    expect(new Set(ns).size).toBe(5000);
    expect(owners).toContain(await client.get(LOCK_KEY)); // one of them leads
    const ttl = await client.ttl(LOCK_KEY);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(180);
    expect(await client.keys(`${PREFIX}:timestamps:*`)).toEqual([]);

    // A job due in a second, scheduled while they run, is promoted once.
    const ts = Math.floor(Date.now() / 1000) + 1;
    const item = '{"class":"Soon","args":[{"a":1}],"queue":"soon"}';
    await client.multi().rpush(`${PREFIX}:delayed:${ts}`, item).zadd(`${PREFIX}:delayed_queue_schedule`, ts, String(ts)).sadd(`${PREFIX}:timestamps:${item}`, `delayed:${ts}`).exec();
    await waitFor(async () => (await client.llen(`${PREFIX}:queue:soon`)) === 1, 'the delayed job');
    // The @Job's every-second cron (declared in both processes) fires once per tick.
    await waitFor(async () => (await client.llen(`${PREFIX}:queue:reports`)) >= 2, 'two schedule ticks');
    // TERM and QUIT both stop cleanly: lock released by the leader, PIDFILE removed.
    a.child.kill('SIGTERM');
    b.child.kill('SIGQUIT');
    const exits = await Promise.all([a.exited, b.exited]);
    expect(exits).toEqual([
      { code: 0, signal: null },
      { code: 0, signal: null },
    ]);
    expect(a.output()).toMatch(/SIGTERM received/);
    expect(b.output()).toMatch(/SIGQUIT received/);
    expect(existsSync(pidFile)).toBe(false);
    expect(await client.exists(LOCK_KEY)).toBe(0); // the leader released it
    expect(await client.llen(`${PREFIX}:queue:soon`)).toBe(1);
    const fired = (await client.lrange(`${PREFIX}:queue:reports`, 0, -1)).map(decodePayload);
    for (const job of fired) expect([job.className, job.args]).toEqual(['SchedulerProcessReport', [{ from: 'decorator' }]]);
    const ticks = Object.keys(await client.hgetall(`${PREFIX}:scheduler_last_tick`));
    expect(ticks).toEqual(['SchedulerProcessReport']);
    expect(await client.hget(`${PREFIX}:delayed:last_enqueued_at`, 'SchedulerProcessReport')).toMatch(/ \+0000$/);
    // No tick twice: one job per distinct second between the first and last firing.
    const seconds = fired.map((j) => Math.floor(j.queueTime!));
    expect(new Set(fired.map((j) => j.id)).size).toBe(fired.length);
    expect(fired.length).toBeLessThanOrEqual(seconds[seconds.length - 1]! - seconds[0]! + 2);
  });

  it('an invalid environment variable is rejected with a message naming it, before anything is written', async () => {
    const cases = [
      ['INTERVAL', 'soon'],
      ['INTERVAL', '-1'],
      ['REDIS_BACKEND_DB', 'x'],
      ['PREFIX', ':'],
    ] as const;
    await Promise.all(
      cases.map(async ([name, value]) => {
        const proc = run({ [name]: value });
        const exit = await proc.exited;
        expect(exit.code).toBe(1);
        expect(proc.output()).toContain(name);
      }),
    );
    expect(await client.dbsize()).toBe(0);
  });
});

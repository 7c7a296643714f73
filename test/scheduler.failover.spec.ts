import type { Redis } from 'ioredis';
import { afterEach, beforeAll, afterAll, beforeEach, describe, expect, it } from 'vitest';
import { decodePayload } from '../lib/protocol/index.js';
import { pushDueItems, startSchedulerProcess, waitFor, type SchedulerProcess } from './apps/scheduler-helpers.js';
import { startRedis, type TestRedis } from './support/redis-server.js';

const PREFIX = 'failover';
const LOCK_KEY = `${PREFIX}:${PREFIX}:resque_scheduler_master_lock`;

const count = (text: string, needle: string): number => text.split(needle).length - 1;

describe('scheduler failover (real processes, SIGKILL and SIGSTOP/SIGCONT)', () => {
  let redis: TestRedis;
  let client: Redis;
  const started: SchedulerProcess[] = [];

  const run = (env: Record<string, string> = {}): SchedulerProcess => {
    const proc = startSchedulerProcess({ REDIS_BACKEND: `127.0.0.1:${redis.port}`, PREFIX, ...env });
    started.push(proc);
    return proc;
  };

  beforeAll(async () => {
    redis = await startRedis();
    client = redis.client();
  });

  beforeEach(async () => {
    await client.flushall();
  });

  afterEach(async () => {
    for (const proc of started.splice(0)) {
      if (proc.child.exitCode === null && proc.child.signalCode === null) proc.child.kill('SIGKILL');
      await proc.exited;
    }
  });

  afterAll(async () => {
    await redis?.stop();
  });

  it('with default settings, the master SIGKILLed, another scheduler promotes a due job within 20 s', async () => {
    const a = run();
    const ownerA = await a.ready; // alone: it leads
    expect(await client.get(LOCK_KEY)).toBe(ownerA);
    const b = run();
    const ownerB = await b.ready;
    expect(await client.get(LOCK_KEY)).toBe(ownerA);
    const ttl = await client.ttl(LOCK_KEY);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(10); // not Ruby's 180 s

    a.child.kill('SIGKILL');
    const killedAt = Date.now();
    expect((await a.exited).signal).toBe('SIGKILL');
    const ts = Math.floor(Date.now() / 1000) - 1;
    const item = '{"class":"AfterDeath","args":[],"queue":"failover"}';
    await client.multi().rpush(`${PREFIX}:delayed:${ts}`, item).zadd(`${PREFIX}:delayed_queue_schedule`, ts, String(ts)).sadd(`${PREFIX}:timestamps:${item}`, `delayed:${ts}`).exec();
    // The dead master's lock (10 s) expires, B's next pass (1 s) takes it and promotes: bounded, not 180 s.
    await waitFor(async () => (await client.llen(`${PREFIX}:queue:failover`)) === 1, 'the survivor to promote', 20_000 - (Date.now() - killedAt));
    expect(await client.get(LOCK_KEY)).toBe(ownerB);
    expect(b.output()).toContain(`became the master scheduler (${ownerB})`);
  }, 40_000);

  it('a master frozen (SIGSTOP) past the ttl while two others take over promotes nothing twice, and stands down on SIGCONT', async () => {
    // A short ttl (2 s) and small batches stretch the promotion across the freeze.
    const env = { INTERVAL: '0.1', TEST_LOCK_TTL: '2', TEST_BATCH_SIZE: '20' };
    const a = run(env);
    const ownerA = await a.ready;
    const others = [run(env), run(env)];
    const otherOwners = await Promise.all(others.map((p) => p.ready));
    expect(await client.get(LOCK_KEY)).toBe(ownerA);

    const total = 30_000;
    await pushDueItems(client, PREFIX, total, Math.floor(Date.now() / 1000) - 60);
    await waitFor(async () => (await client.llen(`${PREFIX}:queue:bulk`)) > 0, 'the master to start promoting');
    a.child.kill('SIGSTOP');
    const atFreeze = await client.llen(`${PREFIX}:queue:bulk`);
    expect(atFreeze).toBeLessThan(total); // frozen mid-way
    // The frozen master's lock expires; one of the others takes over and goes on promoting.
    await waitFor(async () => otherOwners.includes((await client.get(LOCK_KEY)) ?? ''), 'another scheduler to take the lock');
    await waitFor(async () => (await client.llen(`${PREFIX}:queue:bulk`)) > atFreeze, 'the new master to promote');
    a.child.kill('SIGCONT');

    await waitFor(async () => (await client.exists(`${PREFIX}:delayed_queue_schedule`)) === 0, 'the schedule to drain', 30_000);
    const ns = (await client.lrange(`${PREFIX}:queue:bulk`, 0, -1)).map((raw) => (decodePayload(raw).params as { n: number }).n);
    expect(ns).toHaveLength(total);
    expect(new Set(ns).size).toBe(total);
    expect(await client.keys(`${PREFIX}:delayed:*`)).toEqual([]);
    expect(await client.keys(`${PREFIX}:timestamps:*`)).toEqual([]);

    // The resumed one learns on its first script or pass that the lock is not its own, and stays out.
    await waitFor(async () => a.output().includes(`no longer the master scheduler (${ownerA})`), 'the resumed master to stand down');
    const holder = await client.get(LOCK_KEY);
    expect(otherOwners).toContain(holder);
    // Several of its passes later it still has not taken the lock back from a live holder.
    await new Promise((r) => setTimeout(r, 1000));
    expect(await client.get(LOCK_KEY)).not.toBe(ownerA);
    expect(count(a.output(), `became the master scheduler (${ownerA})`)).toBe(1);
    expect(a.child.exitCode).toBeNull();
  }, 60_000);
});

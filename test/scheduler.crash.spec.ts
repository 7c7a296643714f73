import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodePayload } from '../lib/protocol/index.js';
import { pushDueItems, startSchedulerProcess, waitFor, type SchedulerProcess } from './apps/scheduler-helpers.js';
import { startRedis, type TestRedis } from './support/redis-server.js';

const PREFIX = 'crash';

describe('scheduler crash safety (real process, SIGKILL)', () => {
  let redis: TestRedis;
  let client: Redis;
  const started: SchedulerProcess[] = [];

  beforeAll(async () => {
    redis = await startRedis();
    client = redis.client();
  });

  afterAll(async () => {
    for (const proc of started) {
      if (proc.child.exitCode === null && proc.child.signalCode === null) proc.child.kill('SIGKILL');
      await proc.exited;
    }
    await redis?.stop();
  });

  it('SIGKILL in the middle of promoting a large batch, then a restart, leaves every job queued exactly once', async () => {
    const total = 20_000;
    await pushDueItems(client, PREFIX, total, Math.floor(Date.now() / 1000) - 60);
    // Small batches to stretch the promotion, and a short lock ttl so the restarted process can take over
    // the dead one's lock at once (the default 10 s would otherwise apply).
    const env = { REDIS_BACKEND: `127.0.0.1:${redis.port}`, PREFIX, INTERVAL: '0.1', TEST_BATCH_SIZE: '20', TEST_LOCK_TTL: '1' };
    const first = startSchedulerProcess(env);
    started.push(first);
    await waitFor(async () => (await client.llen(`${PREFIX}:queue:bulk`)) > 0, 'promotion to begin');
    first.child.kill('SIGKILL');
    expect((await first.exited).signal).toBe('SIGKILL');
    const partial = await client.llen(`${PREFIX}:queue:bulk`);
    expect(partial).toBeGreaterThan(0);
    expect(partial).toBeLessThan(total); // it really died mid-way

    const second = startSchedulerProcess(env);
    started.push(second);
    await second.ready;
    await waitFor(async () => (await client.exists(`${PREFIX}:delayed_queue_schedule`)) === 0, 'the restarted scheduler to finish', 20_000);
    const ns = (await client.lrange(`${PREFIX}:queue:bulk`, 0, -1)).map((raw) => {
      const job = decodePayload(raw);
      expect(job.id).toMatch(/^[0-9a-f]{32}$/);
      return (job.params as { n: number }).n;
    });
    expect(ns).toHaveLength(total);
    expect(new Set(ns).size).toBe(total);
    expect(await client.keys(`${PREFIX}:delayed:*`)).toEqual([]);
    expect(await client.keys(`${PREFIX}:timestamps:*`)).toEqual([]);
    second.child.kill('SIGINT');
    expect(await second.exited).toEqual({ code: 0, signal: null });
    expect(await client.exists(`${PREFIX}:${PREFIX}:resque_scheduler_master_lock`)).toBe(0);
  });
});

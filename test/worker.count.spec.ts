// COUNT=3 real pool worker: 1,000 jobs, each performed exactly once, while children are recycled
// (maxJobsPerChild) and slots ≥ 1 re-register under their new child's pid.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseWorkerId } from '../lib/protocol/index.js';
import { isAlive, killAllWorkers, spawnWorker, waitFor } from './apps/worker-harness.js';
import { startRedis, type TestRedis } from './support/redis-server.js';

let server: TestRedis;
let redis: Redis;

beforeAll(async () => {
  server = await startRedis();
  redis = server.client();
});
afterAll(async () => {
  await killAllWorkers();
  await server.stop();
});

describe('COUNT=3 pool worker', () => {
  it('performs 1,000 jobs exactly once across 3 slots, every id naming a live pid, and unregisters all on QUIT', async () => {
    const worker = spawnWorker(server.url, { QUEUE: 'bulk', COUNT: '3', INTERVAL: '0.05' }, { maxJobsPerChild: 300 });
    const ids = await worker.ready;
    expect(ids).toHaveLength(3);
    expect(ids[0]).toBe(`${hostname()}:${worker.pid}:bulk`);
    expect(new Set(ids).size).toBe(3);
    for (const id of ids) expect(isAlive(parseWorkerId(id)!.pid)).toBe(true);
    expect((await redis.smembers('resque:workers')).sort()).toEqual([...ids].sort());

    const payloads = Array.from({ length: 1000 }, (_, n) => JSON.stringify({ class: 'Count', args: [{ n }], id: `job${n}` }));
    await redis.sadd('resque:queues', 'bulk');
    for (let i = 0; i < payloads.length; i += 250) await redis.rpush('resque:queue:bulk', ...payloads.slice(i, i + 250));

    await waitFor('1,000 processed', async () => (await redis.get('resque:stat:processed')) === '1000', 60_000);
    const counts = await redis.hgetall('t:count');
    expect(Object.keys(counts)).toHaveLength(1000);
    expect(Object.values(counts).every((c) => c === '1')).toBe(true);
    expect(await redis.llen('resque:failed')).toBe(0);
    // Recycling happened (more child pids than slots) and every registered id still names a live process.
    expect(await redis.scard('t:pids')).toBeGreaterThan(3);
    const registered = await redis.smembers('resque:workers');
    expect(registered).toHaveLength(3);
    for (const id of registered) expect(isAlive(parseWorkerId(id)!.pid)).toBe(true);
    const perWorker = await Promise.all(registered.map((id) => redis.get(`resque:stat:processed:${id}`)));
    expect(perWorker.every((v) => v === null || Number(v) > 0)).toBe(true);

    worker.signal('SIGQUIT');
    expect(await worker.exited).toEqual({ code: 0, signal: null });
    expect(await redis.smembers('resque:workers')).toEqual([]);
    expect(await redis.hlen('resque:workers:heartbeat')).toBe(0);
    for (const id of registered) {
      expect(await redis.exists(`resque:worker:${id}`, `resque:worker:${id}:started`, `resque:stat:processed:${id}`)).toBe(0);
      const pid = parseWorkerId(id)!.pid;
      if (pid !== worker.pid) await waitFor(`child ${pid} to exit`, () => !isAlive(pid));
    }
  }, 90_000);

  it('starts each slot as soon as its own child is up: slot 0 works while slot 1\'s child is still booting', async () => {
    await redis.flushdb();
    // APP_INCLUDE runs first in the parent and in every child: slot 1's child waits for the gate file.
    const dir = mkdtempSync(join(tmpdir(), 'resque-early-'));
    const gate = join(dir, 'gate');
    const include = join(dir, 'include.mjs');
    writeFileSync(
      include,
      `import { existsSync } from 'node:fs';\n` +
        // Leaves with its parent even while gated (runChild's own disconnect handler is not installed yet).
        `if (process.env.NESTJS_RESQUE_CHILD === '1') {\n` +
        `  process.once('disconnect', () => process.exit(1));\n` +
        `  while (!existsSync(${JSON.stringify(gate)})) await new Promise((r) => setTimeout(r, 20));\n` +
        `}\n`,
    );
    try {
      const worker = spawnWorker(server.url, { QUEUE: 'early', COUNT: '2', INTERVAL: '0.05', APP_INCLUDE: include });
      await redis.sadd('resque:queues', 'early');
      await redis.rpush('resque:queue:early', JSON.stringify({ class: 'Count', args: [{ n: 7 }], id: 'early1' }));
      await waitFor('slot 0 to perform a job', async () => (await redis.get('resque:stat:processed')) === '1');
      // Slot 1 is not registered yet and run() has not returned: its child is still booting.
      expect(await redis.smembers('resque:workers')).toEqual([`${hostname()}:${worker.pid}:early`]);
      expect(worker.output().stdout).not.toContain('ready');
      expect(await redis.hget('t:count', '7')).toBe('1');

      writeFileSync(gate, '');
      const ids = await worker.ready;
      expect(ids).toHaveLength(2);
      expect((await redis.smembers('resque:workers')).sort()).toEqual([...ids].sort());
      for (const id of ids) expect(isAlive(parseWorkerId(id)!.pid)).toBe(true);
      worker.signal('SIGQUIT');
      expect(await worker.exited).toEqual({ code: 0, signal: null });
      expect(await redis.smembers('resque:workers')).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

// Workers on several machines sharing one Redis (issue 13). Each "machine" is a UTS + PID namespace with its
// own hostname and pid range (test/support/hosts.ts), running a real pooled worker host (COUNT=2) of
// test/apps/hosts-main.ts. Every test checks the same outcome: no job lost (each one ends COMPLETE or in
// the failed list), none both failed and completed, and no job started by a worker that was not registered.
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { inFlightOf } from '../lib/worker/worker.pruner.js';
import { waitFor } from './apps/worker-harness.js';
import { killAllHosts, namespacesUnavailable, startHost, type Host } from './support/hosts.js';
import { startRedis, type TestRedis } from './support/redis-server.js';

const unavailable = namespacesUnavailable();
if (unavailable) console.warn(`worker.hosts.spec: skipped, ${unavailable}`);

const k = (key: string) => `resque:${key}`;
/** Short settings: a dead worker is pruned about 3 s after its last heartbeat. */
const SHORT = { heartbeatIntervalSeconds: 1, pruneAfterSeconds: 3, pruneIntervalSeconds: 1 };

let server: TestRedis;
let redis: Redis;
let enqueued = 0;

const jobId = (n: number) => n.toString(16).padStart(32, '0');
const nOf = (raw: string) => (JSON.parse(raw) as { args: [{ n: number }] }).args[0].n;

interface WorkerHost {
  host: Host;
  ids: string[];
}

async function startWorkerHost(name: string, options: Record<string, unknown>): Promise<WorkerHost> {
  const host = startHost(name, [process.execPath, '--import', './test/support/ts-register.mjs', 'test/apps/hosts-main.ts'], {
    ...process.env,
    REDIS_URL: server.url,
    QUEUE: 'default',
    COUNT: '2',
    INTERVAL: '0.1',
    WORKER_OPTIONS: JSON.stringify(options),
  });
  const ready = await host.waitForOutput(/ready (\[.*\])\n/);
  const ids = JSON.parse(ready[1]!) as string[];
  expect(ids.every((id) => id.startsWith(`${name}:`))).toBe(true);
  return { host, ids };
}

/** Enqueues `count` tracked Work jobs (status WAITING), numbered on from the last. */
async function enqueue(count: number, ms: number): Promise<void> {
  const multi = redis.multi().sadd(k('queues'), 'default');
  for (let i = 0; i < count; i++) {
    const n = ++enqueued;
    multi.rpush(k('queue:default'), JSON.stringify({ class: 'Work', args: [{ n, ms }], id: jobId(n), queue_time: n }));
    multi.set(k(`job:${jobId(n)}:status`), JSON.stringify({ status: 1, updated: 1 }));
  }
  await multi.exec();
}

/** Enqueues a few jobs every 250 ms for `seconds` (the hosts keep working meanwhile). */
async function feed(seconds: number, ms: number, perTick = 6): Promise<void> {
  const until = Date.now() + seconds * 1000;
  while (Date.now() < until) {
    await enqueue(perTick, ms);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/**
 * Waits until every enqueued job is COMPLETE (4) or FAILED (3), then checks the invariants: none lost,
 * none both failed and completed, every start by a registered worker — except `runningAtFreeze`: jobs a
 * frozen host had already started (their perform may reach its own registration check only after the thaw).
 */
async function expectAllAccountedFor(runningAtFreeze: ReadonlySet<number> = new Set()): Promise<{ completed: Set<number>; failed: Set<number> }> {
  const numbers = Array.from({ length: enqueued }, (_, i) => i + 1);
  const read = async () => {
    const statuses = await redis.mget(numbers.map((n) => k(`job:${jobId(n)}:status`)));
    const failedRaw = await redis.lrange(k('failed'), 0, -1);
    const failed = new Set(failedRaw.map((f) => nOf(JSON.stringify((JSON.parse(f) as { payload: unknown }).payload))));
    const completed = new Set(numbers.filter((_, i) => (JSON.parse(statuses[i] ?? '{}') as { status?: number }).status === 4));
    const pending = numbers.filter((n) => !completed.has(n) && !failed.has(n));
    return { completed, failed, pending };
  };
  let last = await read();
  try {
    await waitFor('every job completed or failed', async () => (last = await read()).pending.length === 0, 90_000);
  } catch {
    // reported below with the jobs that are missing
  }
  expect({ lost: last.pending, queued: await redis.llen(k('queue:default')) }).toEqual({ lost: [], queued: 0 });
  expect([...last.completed].filter((n) => last.failed.has(n))).toEqual([]);
  const starts = (await redis.lrange('t:started', 0, -1)).map((s) => JSON.parse(s) as { n: number; workerId: string; registered: boolean });
  expect(starts.filter((s) => !s.registered && !runningAtFreeze.has(s.n))).toEqual([]);
  return last;
}

/** The failed list is empty (shown with each failure's worker, exception and error when not). */
async function expectNoFailures(): Promise<void> {
  const failures = (await redis.lrange(k('failed'), 0, -1)).map((f) => {
    const { worker, exception, error } = JSON.parse(f) as Record<string, unknown>;
    return { worker, exception, error };
  });
  expect(failures).toEqual([]);
}

/** Every id of the `live` hosts still registered, and no host of `observers` logged pruning one of them. */
async function expectNonePruned(live: readonly WorkerHost[], observers: readonly WorkerHost[] = live): Promise<void> {
  const registered = await redis.smembers(k('workers'));
  for (const { host, ids } of live) {
    expect({ host: host.hostname, missing: ids.filter((id) => !registered.includes(id)) }).toEqual({ host: host.hostname, missing: [] });
  }
  const liveIds = live.flatMap((h) => h.ids);
  for (const { host } of observers) {
    const { stdout, stderr } = host.output();
    const prunes = `${stdout}${stderr}`.split('\n').filter((l) => l.includes('pruned dead worker') && liveIds.some((id) => l.includes(`worker ${id} `)));
    expect({ host: host.hostname, prunes }).toEqual({ host: host.hostname, prunes: [] });
  }
}

/** A worker's jobs in the order it took them: its in-flight job, then its claim list. */
async function heldBy(id: string): Promise<string[]> {
  const [current, claimed] = await Promise.all([redis.get(k(`worker:${id}`)), redis.lrange(k(`worker:${id}:claim`), 0, -1)]);
  const inFlight = current === null ? null : inFlightOf(current);
  return [...(inFlight ? [inFlight.raw] : []), ...claimed];
}

beforeAll(async () => {
  server = await startRedis();
  redis = server.client();
});
afterAll(async () => {
  await killAllHosts();
  await server.stop();
});
beforeEach(async () => {
  await redis.flushall();
  enqueued = 0;
});
afterEach(async () => {
  await killAllHosts();
});

describe.skipIf(unavailable !== null)(`workers on several hosts (namespaces)${unavailable ? ` — skipped: ${unavailable}` : ''}`, () => {
  it(
    "a host killed whole: a live host prunes its workers and puts their jobs back at the queue's head, in order",
    async () => {
      const [a, b] = await Promise.all([
        startWorkerHost('hosta', { ...SHORT, onDeadWorker: 'requeue' }),
        startWorkerHost('hostb', { ...SHORT, onDeadWorker: 'requeue' }),
      ]);
      await enqueue(60, 100);
      // hosta pauses (USR2: its claimed jobs go back to the queue, its pruner keeps running), so that once
      // hostb is pruned the queue's head shows where hostb's jobs went.
      a.host.signal('SIGUSR2');
      await waitFor('hosta paused and idle, hostb busy with a job and holding claimed ones', async () => {
        const [aHeld, bHeld] = await Promise.all([Promise.all(a.ids.map(heldBy)), Promise.all(b.ids.map(heldBy))]);
        return aHeld.flat().length === 0 && (await redis.exists(...b.ids.map((id) => k(`worker:${id}`)))) > 0 && bHeld.flat().length >= 2;
      });
      await b.host.kill();
      const held = await Promise.all(b.ids.map(heldBy));
      expect(await redis.smembers(k('workers'))).toEqual(expect.arrayContaining(b.ids)); // read before any prune
      expect(held.flat().length).toBeGreaterThan(0);

      await waitFor('hostb pruned', async () => (await redis.smismember(k('workers'), ...b.ids)).every((m) => m === 0), 30_000);
      const head = await redis.lrange(k('queue:default'), 0, held.flat().length - 1);
      expect(new Set(head)).toEqual(new Set(held.flat()));
      for (const jobs of held) {
        if (jobs.length === 0) continue;
        const at = head.indexOf(jobs[0]!);
        expect(head.slice(at, at + jobs.length)).toEqual(jobs);
      }
      // Their statuses are WAITING again.
      for (const raw of held.flat()) {
        expect(JSON.parse((await redis.get(k(`job:${jobId(nOf(raw))}:status`)))!)).toMatchObject({ status: 1 });
      }

      a.host.signal('SIGCONT');
      await expectAllAccountedFor();
      await expectNoFailures();
      await expectNonePruned([a], [a, b]);
      expect(a.host.output().stdout).toMatch(/pruned dead worker hostb:\S+ \(heartbeat\)/);
    },
    120_000,
  );

  it(
    'three live hosts with short settings (1 s heartbeat, dead after 3 s) never prune each other',
    async () => {
      const hosts = await Promise.all(['hosta', 'hostb', 'hostc'].map((name) => startWorkerHost(name, SHORT)));
      await feed(12, 100, 4);
      await expectAllAccountedFor();
      await expectNoFailures();
      await expectNonePruned(hosts);
    },
    120_000,
  );

  it(
    "mismatched settings: a host pruning after 3 s does not prune a live host's workers that beat every 10 s",
    async () => {
      const [a, b] = await Promise.all([startWorkerHost('hosta', SHORT), startWorkerHost('hostb', {})]);
      await feed(10, 100);
      await expectAllAccountedFor();
      await expectNoFailures();
      await expectNonePruned([a, b]);
    },
    120_000,
  );

  // Fencing: the thawed host starts none of the jobs it had claimed, records no outcome of a job the pruner
  // took back, notices it was pruned and registers again under a fresh id.
  it(
    'a host frozen past its expiry (SIGSTOP), then thawed (SIGCONT): its jobs are failed once and it takes no job unregistered',
    async () => {
      const [a, b] = await Promise.all([startWorkerHost('hosta', SHORT), startWorkerHost('hostb', SHORT)]);
      await enqueue(80, 300);
      await waitFor('hostb busy with a job', async () => (await redis.exists(...b.ids.map((id) => k(`worker:${id}`)))) > 0);
      b.host.freeze();
      // What hostb had started when it froze (its start scripts may still land): allowed to finish, fenced.
      await new Promise((r) => setTimeout(r, 300));
      const runningAtFreeze = new Set<number>();
      for (const current of await redis.mget(b.ids.map((id) => k(`worker:${id}`)))) {
        const inFlight = current === null ? null : inFlightOf(current);
        if (inFlight) runningAtFreeze.add(nOf(inFlight.raw));
      }
      await waitFor('hostb pruned while frozen', async () => (await redis.smismember(k('workers'), ...b.ids)).every((m) => m === 0), 30_000);
      expect(await redis.llen(k('failed'))).toBeGreaterThan(0); // its in-flight job, failed as a dirty exit
      b.host.thaw();
      await feed(5, 100);
      await expectAllAccountedFor(runningAtFreeze);
      await expectNonePruned([a], [a, b]);
    },
    120_000,
  );
});

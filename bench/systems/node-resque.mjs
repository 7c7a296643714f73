// node-resque adapter. Documented defaults (poll `timeout` 5000 ms, scheduler `timeout` 5000 ms), except:
// - many slots: MultiWorker with min = max = the scenario's slot count (its default max is 10). MultiWorker
//   adds at most one worker per `checkTimeout` (500 ms), so it also gets a second row: N plain Workers in
//   one process, which is the other way node-resque runs many slots.
// - node-resque has no bulk enqueue and no child-process isolation: those rows are n/a.
import { hostname } from 'node:os';
import { Queue, Worker, MultiWorker, Scheduler } from 'node-resque';
import { Redis } from 'ioredis';
import { QUEUE, completion, inFlight, bounded, now, dueTimes, latenessStats, sleep } from '../lib/kit.mjs';

export const id = 'node-resque';
const connection = (port) => ({ host: '127.0.0.1', port, namespace: 'resque' });
const onError = (error) => console.error(`node-resque error: ${error?.message ?? error}`);

export async function available() {
  return { ok: true };
}

export function plan(s) {
  switch (s.kind) {
    case 'enqueue':
      if (s.mode === 'bulk') return { na: 'no bulk enqueue (see the in-flight row)' };
      return [{ variant: s.mode === 'serial' ? 'enqueue, awaited' : `enqueue, ${s.inflight} in flight`, role: 'enqueue' }];
    case 'work':
      if (s.isolation !== 'inline') return { na: 'no child-process isolation' };
      if (s.slots === 1) return [{ variant: 'Worker', role: 'work', mode: 'worker' }];
      return [
        { variant: `MultiWorker min=max=${s.slots}`, role: 'work', mode: 'multi' },
        { variant: `${s.slots}× Worker in one process`, role: 'work', mode: 'workers' },
      ];
    case 'delayed':
      return [{ variant: `enqueueAt + Scheduler, ${s.slots}× Worker`, role: 'delayed' }];
    default:
      return { na: 'not applicable' };
  }
}

/** Harness side: exactly what Queue#enqueue writes (SADD queues + RPUSH), pipelined. */
export async function prefill({ port, n }) {
  const redis = new Redis({ port, host: '127.0.0.1' });
  const encoder = new Queue({ connection: connection(port) });
  try {
    await redis.sadd('resque:queues', QUEUE);
    for (let i = 0; i < n; i += 1000) {
      const batch = [];
      for (let j = i; j < Math.min(n, i + 1000); j++) batch.push(encoder.encode(QUEUE, 'noop', [{ i: j }]));
      await redis.rpush(`resque:queue:${QUEUE}`, ...batch);
    }
  } finally {
    await redis.quit();
  }
}

export async function enqueue({ port, mode, n, inflight }) {
  const queue = new Queue({ connection: connection(port) });
  queue.on('error', onError);
  await queue.connect();
  const t0 = now();
  if (mode === 'serial') for (let i = 0; i < n; i++) await queue.enqueue(QUEUE, 'noop', [{ i }]);
  else await inFlight(n, inflight, (i) => queue.enqueue(QUEUE, 'noop', [{ i }]));
  const seconds = (now() - t0) / 1000;
  const waiting = await queue.length(QUEUE);
  await queue.end();
  if (waiting !== n) throw new Error(`expected ${n} jobs waiting, found ${waiting}`);
  return { n, seconds, jobs_per_s: n / seconds };
}

function plainWorkers(port, count, jobs) {
  return Array.from({ length: count }, (_, i) => {
    const w = new Worker({ connection: connection(port), queues: [QUEUE], name: `${hostname()}:${process.pid}+${i + 1}` }, jobs);
    w.on('error', onError);
    return w;
  });
}

export async function work({ port, n, slots, mode, timeoutMs }) {
  const done = completion(n);
  const jobs = { noop: { perform: async () => {} } };
  let t0;
  let stop;
  let extra = {};
  if (mode === 'multi') {
    const multi = new MultiWorker({ connection: connection(port), queues: [QUEUE], minTaskProcessors: slots, maxTaskProcessors: slots }, jobs);
    multi.on('success', () => done.tick());
    multi.on('error', onError);
    t0 = now();
    multi.start();
    stop = async () => {
      extra = { workers_at_end: multi.workers.length };
      await multi.end();
    };
  } else {
    const workers = plainWorkers(port, mode === 'workers' ? slots : 1, jobs);
    for (const w of workers) w.on('success', () => done.tick());
    await Promise.all(workers.map((w) => w.connect()));
    t0 = now();
    await Promise.all(workers.map((w) => w.start()));
    stop = () => Promise.all(workers.map((w) => w.end()));
  }
  try {
    await done.wait(timeoutMs);
  } finally {
    await bounded(stop(), 15_000);
  }
  return done.result(t0, extra);
}

export async function delayed({ port, n, slots, leadMs, spreadMs, timeoutMs }) {
  const lateness = [];
  const done = completion(n);
  let lastDone = 0;
  const jobs = {
    noop: {
      perform: async (p) => {
        lateness.push(Date.now() - p.due);
        lastDone = Date.now();
      },
    },
  };
  const workers = plainWorkers(port, slots, jobs);
  for (const w of workers) w.on('success', () => done.tick());
  const scheduler = new Scheduler({ connection: connection(port) });
  scheduler.on('error', onError);
  const queue = new Queue({ connection: connection(port) });
  queue.on('error', onError);
  await Promise.all([...workers.map((w) => w.connect()), scheduler.connect(), queue.connect()]);
  await Promise.all(workers.map((w) => w.start()));
  await scheduler.start();
  await sleep(100);

  const dueStart = Date.now() + leadMs;
  const due = dueTimes(n, dueStart, spreadMs);
  const e0 = now();
  await inFlight(n, 100, (i) => queue.enqueueAt(due[i], QUEUE, 'noop', [{ i, due: due[i] }]));
  const enqueueMs = now() - e0;
  try {
    await done.wait(timeoutMs);
  } finally {
    await bounded(Promise.all([...workers.map((w) => w.end()), scheduler.end(), queue.end()]), 15_000);
  }
  const seconds = (lastDone - dueStart) / 1000;
  return { n, count: done.count, seconds, jobs_per_s: n / seconds, enqueue_ms: Math.round(enqueueMs), enqueued_before_due: enqueueMs < leadMs, ...latenessStats(lateness) };
}

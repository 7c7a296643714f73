// BullMQ adapter. Documented defaults throughout, except removeOnComplete: true on every job (common in
// production, and keeps the completed set from growing; it costs BullMQ nothing extra per job).
import { fileURLToPath } from 'node:url';
import { Queue, Worker } from 'bullmq';
import { QUEUE, IO_JOB_MS, completion, inFlight, bounded, now, dueTimes, latenessStats, sleep } from '../lib/kit.mjs';

export const id = 'bullmq';
const JOB_OPTS = { removeOnComplete: true };
const PROCESSOR = fileURLToPath(new URL('./bullmq-processor.mjs', import.meta.url));
/** The I/O-bound rows' processor: waits IO_JOB_MS on a timer. */
const PROCESSOR_IO = fileURLToPath(new URL('./bullmq-processor-io.mjs', import.meta.url));
const connection = (port) => ({ host: '127.0.0.1', port });

export async function available() {
  return { ok: true };
}

/** Which measured runs this system contributes to a scenario (or why it has none). */
export function plan(s) {
  switch (s.kind) {
    case 'enqueue':
      return [{ variant: { serial: 'add, awaited', inflight: `add, ${s.inflight} in flight`, bulk: `addBulk ×${s.chunk}` }[s.mode], role: 'enqueue' }];
    case 'work':
      if (s.maxJobsPerChild) return { na: 'no one-child-per-job mode' };
      if (s.isolation === 'pool') return [{ variant: `sandboxed processor, concurrency ${s.slots}`, role: 'work', sandboxed: true }];
      return [{ variant: `Worker concurrency ${s.slots}`, role: 'work' }];
    case 'delayed':
      return [{ variant: `delay option, Worker concurrency ${s.slots}`, role: 'delayed' }];
    default:
      return { na: 'not applicable' };
  }
}

/** Harness side: N no-op jobs waiting before the worker starts. */
export async function prefill({ port, n }) {
  const queue = new Queue(QUEUE, { connection: connection(port) });
  try {
    for (let i = 0; i < n; i += 1000) {
      const batch = [];
      for (let j = i; j < Math.min(n, i + 1000); j++) batch.push({ name: 'noop', data: { i: j }, opts: JOB_OPTS });
      await queue.addBulk(batch);
    }
  } finally {
    await queue.close();
  }
}

export async function enqueue({ port, mode, n, inflight, chunk }) {
  const queue = new Queue(QUEUE, { connection: connection(port) });
  await queue.waitUntilReady();
  const t0 = now();
  if (mode === 'serial') for (let i = 0; i < n; i++) await queue.add('noop', { i }, JOB_OPTS);
  else if (mode === 'inflight') await inFlight(n, inflight, (i) => queue.add('noop', { i }, JOB_OPTS));
  else {
    for (let i = 0; i < n; i += chunk) {
      const batch = [];
      for (let j = i; j < Math.min(n, i + chunk); j++) batch.push({ name: 'noop', data: { i: j }, opts: JOB_OPTS });
      await queue.addBulk(batch);
    }
  }
  const seconds = (now() - t0) / 1000;
  const waiting = await queue.count();
  await queue.close();
  if (waiting !== n) throw new Error(`expected ${n} jobs waiting, found ${waiting}`);
  return { n, seconds, jobs_per_s: n / seconds };
}

export async function work({ port, n, slots, sandboxed, jobMs, timeoutMs }) {
  const done = completion(n);
  if (jobMs && (jobMs !== IO_JOB_MS || !sandboxed)) throw new Error(`the I/O-bound processor waits ${IO_JOB_MS} ms, sandboxed only; asked for ${jobMs} ms`);
  const processor = sandboxed ? (jobMs ? PROCESSOR_IO : PROCESSOR) : async () => {};
  const worker = new Worker(QUEUE, processor, { connection: connection(port), concurrency: slots, autorun: false });
  worker.on('completed', () => done.tick());
  worker.on('failed', (job, err) => console.error(`job failed: ${err?.message}`));
  worker.on('error', (err) => console.error(`worker error: ${err?.message}`));
  await worker.waitUntilReady();
  const t0 = now();
  worker.run().catch((err) => console.error(`worker.run: ${err?.message}`));
  try {
    await done.wait(timeoutMs);
  } finally {
    await bounded(worker.close(), 10_000);
  }
  return done.result(t0);
}

export async function delayed({ port, n, slots, leadMs, spreadMs, timeoutMs }) {
  const lateness = [];
  const done = completion(n);
  let lastDone = 0;
  const worker = new Worker(
    QUEUE,
    async (job) => {
      lateness.push(Date.now() - job.data.due);
      lastDone = Date.now();
    },
    { connection: connection(port), concurrency: slots, autorun: false },
  );
  worker.on('completed', () => done.tick());
  worker.on('error', (err) => console.error(`worker error: ${err?.message}`));
  const queue = new Queue(QUEUE, { connection: connection(port) });
  await Promise.all([worker.waitUntilReady(), queue.waitUntilReady()]);
  worker.run().catch((err) => console.error(`worker.run: ${err?.message}`));
  await sleep(100); // let the worker reach its blocking wait before jobs arrive

  const dueStart = Date.now() + leadMs;
  const due = dueTimes(n, dueStart, spreadMs);
  const e0 = now();
  for (let i = 0; i < n; i += 1000) {
    const batch = [];
    const at = Date.now();
    for (let j = i; j < Math.min(n, i + 1000); j++) batch.push({ name: 'noop', data: { i: j, due: due[j] }, opts: { ...JOB_OPTS, delay: Math.max(0, due[j] - at) } });
    await queue.addBulk(batch);
  }
  const enqueueMs = now() - e0;
  try {
    await done.wait(timeoutMs);
  } finally {
    await bounded(Promise.all([worker.close(), queue.close()]), 10_000);
  }
  const seconds = (lastDone - dueStart) / 1000;
  return { n, count: done.count, seconds, jobs_per_s: n / seconds, enqueue_ms: Math.round(enqueueMs), enqueued_before_due: enqueueMs < leadMs, ...latenessStats(lateness) };
}

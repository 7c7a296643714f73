import { Counter, Gauge, type Registry } from 'prom-client';
import type { QueueReading, ResqueReader, StatsReading, WorkerReading } from './metrics.snapshot.js';

/** A scrape waits at most this long for Redis (Prometheus' own scrape timeout is 10 s by default). */
export const DEFAULT_SCRAPE_TIMEOUT_MS = 2000;

interface Reading {
  queues: QueueReading[];
  workers: WorkerReading[];
  stats: StatsReading;
}

type Read = () => Promise<Reading | null>;

/**
 * Registers the Resque-wide metrics, read from Redis when scraped (collect callbacks; nothing is polled in
 * between). The gauges of one scrape share one read. Redis unreachable or slower than `timeoutMs`: `resque_redis_up`
 * is 0 and the other series are absent for that scrape (the scrape itself still succeeds). Returns a function that removes them.
 */
export function registerRedisMetrics(registry: Registry, reader: ResqueReader, timeoutMs = DEFAULT_SCRAPE_TIMEOUT_MS): () => void {
  const read = sharedRead(reader, timeoutMs);
  const registers = [registry];
  const before = new Set(registry.getMetricsAsArray());
  registerQueueMetrics(registers, read);
  registerWorkerMetrics(registers, read);
  registerStatCounters(registers, read);
  const names = addedMetricNames(registry, before);
  return () => {
    for (const name of names) registry.removeSingleMetric(name);
  };
}

/** Every collect of one scrape starts before the first read settles, so they share it. */
function sharedRead(reader: ResqueReader, timeoutMs: number): Read {
  let inFlight: Promise<Reading | null> | null = null;
  return () =>
    (inFlight ??= withTimeout(
      Promise.all([reader.queues(), reader.workers(), reader.stats()]).then(([queues, workers, stats]) => ({ queues, workers, stats })),
      timeoutMs,
    ).finally(() => setImmediate(() => (inFlight = null))));
}

/** Redis reachability, queue sizes and ages, delayed and failed counts. */
function registerQueueMetrics(registers: Registry[], read: Read): void {
  new Gauge({
    name: 'resque_redis_up',
    help: 'Whether Redis answered the last scrape (1) or not (0).',
    registers,
    async collect() {
      this.set((await read()) ? 1 : 0);
    },
  });
  new Gauge({
    name: 'resque_queue_size',
    help: 'Jobs waiting in each queue.',
    labelNames: ['queue'],
    registers,
    async collect() {
      this.reset();
      for (const q of (await read())?.queues ?? []) this.set({ queue: q.queue }, q.size);
    },
  });
  new Gauge({
    name: 'resque_queue_oldest_job_age_seconds',
    help: "Age of each queue's head job (its queue_time); 0 when empty, absent when the job carries no time.",
    labelNames: ['queue'],
    registers,
    async collect() {
      this.reset();
      for (const q of (await read())?.queues ?? []) if (q.oldestAgeSeconds !== null) this.set({ queue: q.queue }, q.oldestAgeSeconds);
    },
  });
  new Gauge({
    name: 'resque_delayed_jobs',
    help: 'Delayed jobs waiting for their time (resque-scheduler layout).',
    registers,
    async collect() {
      this.reset();
      const r = await read();
      if (r) this.set(r.stats.delayed);
    },
  });
  new Gauge({
    name: 'resque_failed_jobs',
    help: 'Entries in the failed list.',
    registers,
    async collect() {
      this.reset();
      const r = await read();
      if (r) this.set(r.stats.failedListLength);
    },
  });
}

/** Live and busy workers, by queue. */
function registerWorkerMetrics(registers: Registry[], read: Read): void {
  new Gauge({
    name: 'resque_workers',
    help: 'Live workers (fresh heartbeat) polling each queue.',
    labelNames: ['queue'],
    registers,
    async collect() {
      this.reset();
      const r = await read();
      if (r) for (const queue of queueLabels(r)) this.set({ queue }, r.workers.filter((w) => w.live && w.serves(queue)).length);
    },
  });
  new Gauge({
    name: 'resque_workers_working',
    help: 'Workers performing a job, by the queue of that job.',
    labelNames: ['queue'],
    registers,
    async collect() {
      this.reset();
      const r = await read();
      if (r) for (const queue of queueLabels(r)) this.set({ queue }, r.workers.filter((w) => w.workingOn === queue).length);
    },
  });
}

/** Resque's own stat:processed and stat:failed, as counters (left at their last value when Redis does not answer). */
function registerStatCounters(registers: Registry[], read: Read): void {
  new Counter({
    name: 'resque_processed_total',
    help: 'Jobs processed by every worker (Resque stat:processed).',
    registers,
    async collect() {
      const r = await read();
      if (!r) return;
      this.reset();
      this.inc(r.stats.processed);
    },
  });
  new Counter({
    name: 'resque_failed_total',
    help: 'Jobs failed on every worker (Resque stat:failed).',
    registers,
    async collect() {
      const r = await read();
      if (!r) return;
      this.reset();
      this.inc(r.stats.failed);
    },
  });
}

/** The read, or null when it failed or took longer than `ms` (a client retrying a down Redis would hold the scrape). */
function withTimeout<T>(work: Promise<T>, ms: number): Promise<T | null> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), ms)));
  return Promise.race([work.catch(() => null), late]).finally(() => clearTimeout(timer));
}

/** The names of the metrics registered since `before` was taken (what a cleanup removes). */
export function addedMetricNames(registry: Registry, before: ReadonlySet<unknown>): string[] {
  return registry
    .getMetricsAsArray()
    .filter((metric) => !before.has(metric))
    .map((metric) => metric.name);
}

/** Known queues plus the literal queues of registered workers (a worker may wait on a queue not created yet). */
function queueLabels(reading: Reading): string[] {
  const names = new Set(reading.queues.map((q) => q.queue));
  for (const w of reading.workers) for (const q of w.queues) if (!/[*?[\]!]/.test(q)) names.add(q);
  for (const w of reading.workers) if (w.workingOn) names.add(w.workingOn);
  return [...names].sort();
}

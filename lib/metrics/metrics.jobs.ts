import { Counter, Histogram, type Registry } from 'prom-client';
import type { ResqueEvents } from '../events/events.service.js';
import { addedMetricNames } from './metrics.redis.js';

/** Seconds; from a few ms (inline jobs) to several minutes. */
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];

/**
 * Per-host job metrics from the host's own lifecycle events: a job starts at `beforeFork` (parent, both
 * isolation modes) and ends at `afterPerform` or `onFailure` — which children bridge to the parent because
 * these listeners exist there. One job at a time per worker id, so the start is keyed by it. A job vetoed in
 * beforePerform has neither end and is not counted. Returns a function that stops listening and removes the
 * metrics.
 */
export function registerJobMetrics(registry: Registry, events: ResqueEvents): () => void {
  const registers = [registry];
  const before = new Set(registry.getMetricsAsArray());
  const duration = new Histogram({
    name: 'resque_job_duration_seconds',
    help: 'Time from a job start (beforeFork) to its outcome, by job class and queue.',
    labelNames: ['class', 'queue', 'outcome'],
    buckets: DURATION_BUCKETS,
    registers,
  });
  const outcomes = new Counter({
    name: 'resque_jobs_total',
    help: 'Jobs performed by this host, by job class, queue and outcome (completed, failed).',
    labelNames: ['class', 'queue', 'outcome'],
    registers,
  });
  const retries = new Counter({
    name: 'resque_job_retries_total',
    help: 'Failed attempts this host retried under a retry policy (onRetry), by job class and queue.',
    labelNames: ['class', 'queue'],
    registers,
  });
  const throttled = new Counter({
    name: 'resque_throttled_waits_total',
    help: 'Times a worker slot of this host found every queue head throttled and waited, by reason (rate, cap).',
    labelNames: ['reason'],
    registers,
  });
  const names = addedMetricNames(registry, before);
  const started = new Map<string, number>();
  const end = (workerId: string, className: string, queue: string, outcome: 'completed' | 'failed'): void => {
    const labels = { class: className, queue, outcome };
    outcomes.inc(labels);
    const at = started.get(workerId);
    started.delete(workerId);
    if (at !== undefined) duration.observe(labels, (performance.now() - at) / 1000);
  };
  const stops = [
    events.listen('beforeFork', (e) => void started.set(e.workerId, performance.now())),
    events.listen('afterPerform', (e) => end(e.workerId, e.className, e.queue, 'completed')),
    events.listen('onFailure', (e) => end(e.workerId, e.className, e.queue, 'failed')),
    events.listen('onRetry', (e) => retries.inc({ class: e.className, queue: e.queue })),
    events.listen('onThrottled', (e) => void throttled.inc({ reason: e.waitMs === null ? 'cap' : 'rate' })),
  ];
  return () => {
    for (const stop of stops) stop();
    for (const name of names) registry.removeSingleMetric(name);
  };
}

// Small helpers shared by the systems' child-side code: completion counting, bounded concurrency,
// percentiles. No system-specific code here.
import { performance } from 'node:perf_hooks';

export const QUEUE = 'bench';
/** How long each job of the I/O-bound rows (pool-4-io) waits on a timer, in every system. */
export const IO_JOB_MS = 5;
export const now = () => performance.now();

/**
 * Counts finished jobs. Records when 10 % and 100 % are done, so a run reports both the throughput from
 * start (worker start-up included) and the steady throughput after the first 10 %.
 */
export function completion(n) {
  const warmAt = Math.max(1, Math.floor(n * 0.1));
  let count = 0;
  let warmT = null;
  let endT = null;
  let resolve;
  const done = new Promise((r) => (resolve = r));
  return {
    done,
    get count() {
      return count;
    },
    tick(k = 1) {
      count += k;
      if (warmT === null && count >= warmAt) warmT = now();
      if (endT === null && count >= n) {
        endT = now();
        resolve();
      }
    },
    /** Waits until all n are done; throws naming how far it got. */
    async wait(timeoutMs, what = 'jobs') {
      let timer;
      const timeout = new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms with ${count}/${n} ${what} done`)), timeoutMs);
      });
      try {
        await Promise.race([done, timeout]);
      } finally {
        clearTimeout(timer);
      }
    },
    /** Result fields for a run started at t0 (performance.now()). */
    result(t0, extra = {}) {
      const seconds = (endT - t0) / 1000;
      const steady = warmT !== null && endT > warmT ? (n - warmAt) / ((endT - warmT) / 1000) : null;
      return { n, count, seconds, jobs_per_s: n / seconds, steady_jobs_per_s: steady, ...extra };
    },
  };
}

/** Runs fn(i) for i in [0, n) with at most `limit` calls in flight. */
export async function inFlight(n, limit, fn) {
  let next = 0;
  const lane = async () => {
    while (next < n) {
      const i = next++;
      await fn(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, n) }, lane));
}

export function percentile(sorted, p) {
  if (!sorted.length) return null;
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[idx];
}

/** Lateness (ms, processed minus due) summary for the delayed-jobs scenario. */
export function latenessStats(lateness) {
  const s = [...lateness].sort((a, b) => a - b);
  const r = (v) => (v === null ? null : Math.round(v * 10) / 10);
  return {
    lateness_p50_ms: r(percentile(s, 50)),
    lateness_p99_ms: r(percentile(s, 99)),
    lateness_max_ms: r(s.at(-1) ?? null),
    early: s.filter((v) => v < 0).length,
  };
}

/** Delayed scenario: job i is due at dueStart + i/n * spreadMs (epoch ms). */
export function dueTimes(n, dueStart, spreadMs) {
  return Array.from({ length: n }, (_, i) => Math.round(dueStart + (i / n) * spreadMs));
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Awaits p, but gives up after ms (shutdown paths must not hang a bench run). */
export async function bounded(p, ms) {
  let timer;
  await Promise.race([Promise.resolve(p).catch(() => undefined), new Promise((r) => (timer = setTimeout(r, ms)))]);
  clearTimeout(timer);
}

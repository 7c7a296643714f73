// The policy scenarios' variants (README "Job policies"): what the no-op job class declares (`@Job` options)
// and what the worker is given, per variant id. Shared by the harness side (plan, prefill) and the child.
import { QUEUE } from './kit.mjs';

/** A rate no bench run can reach: the check runs on every claim and never holds a job back. */
const NEVER_BINDS = { max: 1_000_000, perSeconds: 1 };
/** A rate the first claim exhausts: every later job waits (for an hour) at the head of its queue. */
const EXHAUSTED = { max: 1, perSeconds: 3600 };

/**
 * id → { label, job?: @Job options, host?: extra worker options, unique?: prefill writes unique jobs (marker
 * in the payload + the lock), prefill?: jobs to pre-fill instead of the scenario's n }.
 */
export const POLICY_VARIANTS = {
  plain: { label: 'plain class' },
  retry: { label: 'retry { limit: 3, backoff: [0] } declared, never fails', job: { retry: { limit: 3, backoff: [0] } } },
  unique: { label: "unique { until: 'finished' }, distinct keys", job: { unique: { until: 'finished' } }, unique: true },
  'throttle-class': { label: '@Job throttle 1M/s + maxConcurrent 1000 (never binds)', job: { throttle: NEVER_BINDS, maxConcurrent: 1000 } },
  'throttle-queue': { label: 'worker throttle.queues 1M/s (never binds)', host: { throttle: { queues: { [QUEUE]: NEVER_BINDS } } } },
  'idle-blocking': { label: 'idle, empty queue, blocking (BLMOVE, 1 s timeout)', host: { blocking: true }, prefill: 0 },
  'idle-polling': { label: 'idle, empty queue, polling every 1 s', host: { blocking: false }, prefill: 0 },
  'throttled-queue': { label: 'queue throttled (throttle.queues 1/h), limit reached, jobs waiting', host: { throttle: { queues: { [QUEUE]: EXHAUSTED } } }, prefill: 100, expectProcessed: 1 },
  'throttled-class': { label: 'class throttled (@Job throttle 1/h), limit reached, jobs waiting', job: { throttle: EXHAUSTED }, prefill: 100, expectProcessed: 1 },
};

/**
 * Interleaved rounds (ABBA…): round r runs the variants in order when r is even and reversed when odd, so
 * a drift of the machine's load during the scenario weighs on every variant alike.
 */
export function interleave(variants, rounds) {
  const runs = [];
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? variants : [...variants].reverse();
    for (const policy of order) runs.push({ policy, round: r + 1 });
  }
  return runs;
}

// Our worker side shared by the measured process (bench/systems/ours.mjs) and the pool children it
// re-executes (bench/systems/ours.reexec.mjs): the worker module and the host options. Kept light (no
// harness code), so a pool child loads what a user's worker entry would.
import { benchWorkerModule } from './ours-module.mjs';
import { QUEUE, sleep } from './kit.mjs';

/** Lateness samples when the job runs in this process (inline isolation). */
export const lateness = [];
export const last = { done: 0 };

/**
 * The worker's Nest module (shared with the fork floor); inline jobs record their lateness here. `jobMs`:
 * each job waits that long on a timer (I/O-bound jobs) instead of returning at once.
 */
export function workerModule(deps, portOrTarget, jobOptions, jobMs = 0) {
  return benchWorkerModule(
    deps,
    portOrTarget,
    (params) => {
      if (jobMs > 0) return sleep(jobMs);
      if (params && typeof params.due === 'number') {
        lateness.push(Date.now() - params.due);
        last.done = Date.now();
      }
      return undefined;
    },
    jobOptions,
  );
}

export function hostOptions({ slots, isolation, maxJobsPerChild, childStart }) {
  // Blocking mode (BLMOVE on the one queue), as BullMQ and node-resque wait on Redis too; the queue is
  // pre-filled, so waiting only matters in the delayed scenario.
  return {
    queues: [QUEUE],
    concurrency: slots,
    isolation,
    blocking: true,
    interval: 1,
    appOptions: { logger: false },
    ...(maxJobsPerChild ? { maxJobsPerChild } : {}),
    ...(childStart ? { childStart } : {}),
  };
}


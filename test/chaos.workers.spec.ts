// Short runs of the fault-injection scenarios on worker hosts (test/chaos/, `npm run chaos` runs them long):
// a rolling restart with TERM grace, a paused host (the SIGKILLs are in chaos.kill.spec.ts). Each asserts no
// job lost, no orphan process, every failure naming its cause (and its own promise, e.g. no failure under
// the TERM grace); the figures are in the failure lines.
import { describe, expect, it } from 'vitest';
import { formatResult, type ScenarioResult } from './chaos/chaos.kit.js';
import { pausedScenario, rollingScenario } from './chaos/chaos.scenarios.js';

function check(result: ScenarioResult): void {
  console.log(formatResult(result));
  expect(result.failures, formatResult(result)).toEqual([]);
  expect(result.figures.jobs).toBeGreaterThan(0);
}

describe('chaos (short): worker hosts', () => {
  it('a rolling restart with RESQUE_PRE_SHUTDOWN_TIMEOUT longer than the jobs fails none', async () => {
    check(await rollingScenario({ rounds: 1, jobMs: 1000, rate: 3, preShutdownSeconds: 3, termSeconds: 2, drainMs: 20_000 }));
  }, 120_000);

  for (const mode of ['fail', 'requeue'] as const) {
    it(`a host SIGSTOPped past its heartbeat, pruned by another, then SIGCONTed (onDeadWorker ${mode})`, async () => {
      check(await pausedScenario({ mode, rate: 10, jobMs: 300, afterSeconds: 1, drainMs: 20_000 }));
    }, 120_000);
  }
});

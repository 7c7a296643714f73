// Short runs of the kill scenario of the fault-injection suite (test/chaos/, `npm run chaos` runs it long):
// random SIGKILLs of worker hosts and their children — mid-job, still booting, hosts mid-boot — with the
// hosts restarted, in both onDeadWorker modes. Asserts no job lost, no orphan process, every failure naming
// its cause; the figures are in the failure line.
import { describe, expect, it } from 'vitest';
import { formatResult } from './chaos/chaos.kit.js';
import { killScenario } from './chaos/chaos.scenarios.js';

describe('chaos (short): SIGKILLs', () => {
  for (const mode of ['fail', 'requeue'] as const) {
    it(`random SIGKILLs of hosts and children, booting or not, hosts restarted (onDeadWorker ${mode})`, async () => {
      const result = await killScenario({ mode, parents: 2, concurrency: 2, seconds: 6, rate: 20, jobMs: [5, 60], pauseMs: [300, 800], drainMs: 25_000 });
      console.log(formatResult(result));
      expect(result.failures, formatResult(result)).toEqual([]);
      expect(result.figures.jobs).toBeGreaterThan(0);
    }, 120_000);
  }
});

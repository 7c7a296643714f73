// Short runs of the fault-injection scenarios on Redis and the scheduler (test/chaos/, `npm run chaos` runs
// them long): Redis restarted twice with AOF, Redis full (noeviction) then freed, two schedulers with the
// master SIGSTOPped and SIGKILLed mid-promotion. Each asserts no job lost (or promoted twice) and no orphan.
import { describe, expect, it } from 'vitest';
import { formatResult, type ScenarioResult } from './chaos/chaos.kit.js';
import { oomScenario, redisRestartScenario, schedulerScenario } from './chaos/chaos.scenarios.js';

function check(result: ScenarioResult): void {
  console.log(formatResult(result));
  expect(result.failures, formatResult(result)).toEqual([]);
  expect(result.figures.jobs).toBeGreaterThan(0);
}

describe('chaos (short): Redis and the scheduler', () => {
  it('Redis shut down and restarted twice (AOF) while an enqueuer and workers run', async () => {
    check(await redisRestartScenario({ parents: 1, concurrency: 2, phaseSeconds: 1.5, downMs: 500, rate: 40, jobMs: [5, 30], drainMs: 20_000 }));
  }, 120_000);

  it('maxmemory + noeviction until enqueue is refused, then memory freed', async () => {
    check(await oomScenario({ parents: 1, concurrency: 2, headroomMb: 1, ballastMb: 2, padBytes: 4000, holdMs: 1000, jobMs: [1, 5], drainMs: 20_000 }));
  }, 120_000);

  it('two schedulers, the master SIGSTOPped then SIGKILLed mid-promotion: every due job queued once', async () => {
    check(await schedulerScenario({ total: 5000, batchSize: 5, waitMs: 30_000 }));
  }, 120_000);
});

// `npm run chaos`: every fault-injection scenario at full size, one line of figures each, then one line per
// failed assertion; exits 1 if any failed. `npm run chaos -- kill oom` runs the scenarios whose name starts
// with one of the words. The short versions run in `npm test` (test/chaos.*.spec.ts). CHAOS_CHILD_START=on-demand
// runs the worker fleets with pool children on demand (the test entry boots every child at start-up).
import { formatResult, type ScenarioResult } from './chaos.kit.js';
import { killScenario, oomScenario, pausedScenario, redisRestartScenario, rollingScenario, schedulerScenario } from './chaos.scenarios.js';

const FULL: Array<[string, () => Promise<ScenarioResult>]> = [
  ['kill/fail', () => killScenario({ mode: 'fail', parents: 2, concurrency: 2, seconds: 30, rate: 40, jobMs: [5, 80], pauseMs: [300, 1200], drainMs: 40_000 })],
  ['kill/requeue', () => killScenario({ mode: 'requeue', parents: 2, concurrency: 2, seconds: 30, rate: 40, jobMs: [5, 80], pauseMs: [300, 1200], drainMs: 40_000 })],
  ['redis-restart', () => redisRestartScenario({ parents: 2, concurrency: 2, phaseSeconds: 5, downMs: 1500, rate: 50, jobMs: [5, 50], drainMs: 30_000 })],
  ['oom', () => oomScenario({ parents: 2, concurrency: 2, headroomMb: 4, ballastMb: 8, padBytes: 8000, holdMs: 3000, jobMs: [1, 10], drainMs: 40_000 })],
  ['scheduler', () => schedulerScenario({ total: 20_000, batchSize: 20, waitMs: 60_000 })],
  ['rolling-restart', () => rollingScenario({ rounds: 2, jobMs: 2000, rate: 1, preShutdownSeconds: 5, termSeconds: 3, drainMs: 30_000 })],
  ['paused-host/fail', () => pausedScenario({ mode: 'fail', rate: 10, jobMs: 300, afterSeconds: 3, drainMs: 30_000 })],
  ['paused-host/requeue', () => pausedScenario({ mode: 'requeue', rate: 10, jobMs: 300, afterSeconds: 3, drainMs: 30_000 })],
];

const only = process.argv.slice(2);
const chosen = FULL.filter(([name]) => only.length === 0 || only.some((word) => name.startsWith(word)));
if (chosen.length === 0) {
  process.stderr.write(`no scenario matches ${only.join(' ')}; scenarios: ${FULL.map(([name]) => name).join(', ')}\n`);
  process.exit(2);
}
const failures: string[] = [];
for (const [, runScenario] of chosen) {
  const result = await runScenario();
  process.stdout.write(`${formatResult(result)}\n`);
  failures.push(...result.failures);
}
if (failures.length > 0) {
  process.stdout.write(`\n${failures.length} assertion(s) failed:\n${failures.map((f) => `FAIL ${f}`).join('\n')}\n`);
  process.exitCode = 1;
}

import 'reflect-metadata';
import { resolveSchedulerHostOptions, type ResqueSchedulerHostOptions } from '../../lib/scheduler/scheduler.env.js';

/**
 * A standalone scheduler process for the tests: php-resque-scheduler's env (INTERVAL, PREFIX,
 * REDIS_BACKEND, PIDFILE, ...) plus test knobs TEST_BATCH_SIZE and TEST_LOCK_TTL. Prints "ready <owner>".
 * The environment is checked before Nest and the app are imported, as the CLI does.
 */
const explicit: ResqueSchedulerHostOptions = {};
if (process.env['TEST_BATCH_SIZE']) explicit.batchSize = Number(process.env['TEST_BATCH_SIZE']);
if (process.env['TEST_LOCK_TTL']) explicit.lockTtl = Number(process.env['TEST_LOCK_TTL']);

try {
  resolveSchedulerHostOptions(explicit);
  const { ResqueSchedulerHost } = await import('../../lib/scheduler/scheduler.host.js');
  const { SchedulerTestModule } = await import('./scheduler-module.js');
  const handle = await ResqueSchedulerHost.run(SchedulerTestModule, explicit);
  process.stdout.write(`ready ${handle.scheduler.owner ?? ''}\n`);
  await handle.stopped;
  process.stdout.write('stopped\n');
} catch (error) {
  process.stderr.write(`scheduler failed: ${(error as Error).message}\n`);
  process.exitCode = 1;
}

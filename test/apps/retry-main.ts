// The retry tests' worker as a real process (pool mode, SIGKILL): test/apps/worker-main.ts with RetryTestModule.
import 'reflect-metadata';
import { ResqueWorkerHost } from '../../lib/worker/index.js';
import { RetryTestModule } from './retry-module.js';

const options = JSON.parse(process.env['WORKER_OPTIONS'] ?? '{}') as Record<string, unknown>;
const handle = await ResqueWorkerHost.run(RetryTestModule, options);
if (process.env['NESTJS_RESQUE_CHILD'] === undefined) {
  process.stdout.write(`ready ${JSON.stringify(handle.workerIds)}\n`);
}

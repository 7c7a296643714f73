// A user's standalone worker entrypoint, run by the worker tests as a real process:
//   node --import ./test/support/ts-register.mjs test/apps/worker-main.ts
// Options come from php's env variables (QUEUE, COUNT, INTERVAL, ...) plus WORKER_OPTIONS (JSON).
import 'reflect-metadata';
import { ResqueWorkerHost } from '../../lib/worker/index.js';
import { WorkerTestModule } from './worker-module.js';

const options = JSON.parse(process.env['WORKER_OPTIONS'] ?? '{}') as Record<string, unknown>;
const handle = await ResqueWorkerHost.run(WorkerTestModule, options);
if (process.env['NESTJS_RESQUE_CHILD'] === undefined) {
  process.stdout.write(`ready ${JSON.stringify(handle.workerIds)}\n`);
}

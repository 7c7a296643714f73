// Worker entrypoint of test/policy.throttle.spec.ts: ThrottleTestModule with php's env and WORKER_OPTIONS (JSON).
import 'reflect-metadata';
import { ResqueWorkerHost } from '../../lib/worker/index.js';
import { ThrottleTestModule } from './throttle-module.js';

const options = JSON.parse(process.env['WORKER_OPTIONS'] ?? '{}') as Record<string, unknown>;
const handle = await ResqueWorkerHost.run(ThrottleTestModule, options);
if (process.env['NESTJS_RESQUE_CHILD'] === undefined) {
  process.stdout.write(`ready ${JSON.stringify(handle.workerIds)}\n`);
}

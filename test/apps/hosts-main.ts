// A worker host of the multi-host tests, started inside a simulated host (test/support/hosts.ts):
//   node --import ./test/support/ts-register.mjs test/apps/hosts-main.ts
// Options come from php's env variables (QUEUE, COUNT, INTERVAL, ...) plus WORKER_OPTIONS (JSON).
import 'reflect-metadata';
import { ResqueWorkerHost } from '../../lib/worker/index.js';
import { HostsTestModule } from './hosts-module.js';

// Every slot's child at start-up unless a test asks otherwise: these tests count on COUNT children.
const options = { childStart: 'eager' as const, ...(JSON.parse(process.env['WORKER_OPTIONS'] ?? '{}') as Record<string, unknown>) };
const handle = await ResqueWorkerHost.run(HostsTestModule, options);
if (process.env['NESTJS_RESQUE_CHILD'] === undefined) {
  process.stdout.write(`ready ${JSON.stringify(handle.workerIds)}\n`);
}

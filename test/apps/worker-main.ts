// A user's standalone worker entrypoint, run by the worker tests as a real process:
//   node --import ./test/support/ts-register.mjs test/apps/worker-main.ts
// Options come from php's env variables (QUEUE, COUNT, INTERVAL, ...) plus WORKER_OPTIONS (JSON).
// WORKER_APP=chaos boots the fault-injection suite's module instead of the worker tests' one; WORKER_APP=cluster
// the Redis Cluster tests' one (CLUSTER_NODES).
import 'reflect-metadata';
import { ResqueWorkerHost } from '../../lib/worker/index.js';

// Every slot's child at start-up unless a test asks otherwise: these tests count on COUNT children.
const options = { childStart: 'eager' as const, ...(JSON.parse(process.env['WORKER_OPTIONS'] ?? '{}') as Record<string, unknown>) };
const app = process.env['WORKER_APP'];
const module =
  app === 'chaos'
    ? (await import('./chaos-module.js')).ChaosWorkerModule
    : app === 'cluster'
      ? (await import('./cluster-module.js')).ClusterWorkerModule
      : (await import('./worker-module.js')).WorkerTestModule;
const handle = await ResqueWorkerHost.run(module, options);
if (process.env['NESTJS_RESQUE_CHILD'] === undefined) {
  process.stdout.write(`ready ${JSON.stringify(handle.workerIds)}\n`);
}

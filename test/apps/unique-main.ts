// The worker of test/policy.unique.spec.ts, run as a real process (see worker-harness.ts).
import 'reflect-metadata';
import { ResqueWorkerHost } from '../../lib/worker/index.js';
import { UniqueWorkerModule } from './unique-jobs.js';

const options = JSON.parse(process.env['WORKER_OPTIONS'] ?? '{}') as Record<string, unknown>;
const handle = await ResqueWorkerHost.run(UniqueWorkerModule, options);
if (process.env['NESTJS_RESQUE_CHILD'] === undefined) process.stdout.write(`ready ${JSON.stringify(handle.workerIds)}\n`);

import 'reflect-metadata';
import { ResqueWorkerHost } from 'nestjs-resque';
import { WorkerModule } from './worker.module.js';

// The same file runs as the worker parent and, re-executed, as each pooled child.
// QUEUE, COUNT, INTERVAL, ... from the environment override nothing given here explicitly.
void ResqueWorkerHost.run(WorkerModule, {
  queues: (process.env.QUEUE ?? 'mail,reports,payments').split(','),
  concurrency: Number(process.env.COUNT ?? 2),
  interval: 0.2,
});

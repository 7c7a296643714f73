import 'reflect-metadata';
import { ResqueSchedulerHost } from 'nestjs-resque';
import { WorkerModule } from './worker.module.js';

// Promotes due delayed jobs and fires the recurring schedules (DigestJob's cron), holding Ruby's master lock.
void ResqueSchedulerHost.run(WorkerModule, { interval: 0.2 });

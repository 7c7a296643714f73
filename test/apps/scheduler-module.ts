import { Module } from '@nestjs/common';
import { Job, Perform } from '../../lib/decorators/index.js';
import { ResqueModule } from '../../lib/resque.module.js';
import { ResqueScheduler } from '../../lib/scheduler/scheduler.service.js';

/** A job with a recurring schedule declared on the decorator (fired only when TEST_DECORATED_CRON is set). */
@Job('SchedulerProcessReport', {
  queue: 'reports',
  ...(process.env['TEST_DECORATED_CRON'] ? { schedule: { cron: process.env['TEST_DECORATED_CRON'], params: { from: 'decorator' } } } : {}),
})
export class SchedulerProcessReport {
  @Perform()
  perform(): void {}
}

/**
 * The application a scheduler test process boots. Its own connection comes from REDIS_BACKEND/PREFIX
 * like a user's app would read its config; the scheduler host also honours them.
 */
@Module({
  imports: [ResqueModule.forRoot({ connection: process.env['REDIS_BACKEND'], namespace: process.env['PREFIX'] })],
  providers: [ResqueScheduler, SchedulerProcessReport],
})
export class SchedulerTestModule {}

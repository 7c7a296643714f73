import { writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { Injectable, Module, type OnModuleInit } from '@nestjs/common';
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

/** With TEST_BOOT_MARKER set: writes that file while the module boots, then holds the boot TEST_BOOT_HOLD_MS. */
@Injectable()
export class SlowBoot implements OnModuleInit {
  async onModuleInit(): Promise<void> {
    const marker = process.env['TEST_BOOT_MARKER'];
    if (!marker) return;
    writeFileSync(marker, String(process.pid));
    await sleep(Number(process.env['TEST_BOOT_HOLD_MS'] ?? 1000));
  }
}

/**
 * The application a scheduler test process boots. Its own connection comes from REDIS_BACKEND/PREFIX
 * like a user's app would read its config; the scheduler host also honours them.
 */
@Module({
  imports: [ResqueModule.forRoot({ connection: process.env['REDIS_BACKEND'], namespace: process.env['PREFIX'] })],
  providers: [ResqueScheduler, SchedulerProcessReport, SlowBoot],
})
export class SchedulerTestModule {}

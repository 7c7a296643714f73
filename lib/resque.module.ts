import { Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { ResqueFailures } from './admin/admin.failures.js';
import { ResqueWorkers } from './admin/admin.workers.js';
import { ResqueConnection } from './connection/connection.service.js';
import { ResqueEvents } from './events/events.service.js';
import { ResqueJobRegistry } from './jobs/job.registry.js';
import { ResqueQueue } from './queue/queue.service.js';
import { ResqueDelayedJobs } from './scheduler/scheduler.delayed.js';
import { ResqueScheduler } from './scheduler/scheduler.service.js';
import { ResqueSchedules } from './scheduler/scheduler.schedules.service.js';
import { ResqueConfigurableModuleClass } from './resque.module-definition.js';

/**
 * `ResqueModule.forRoot({ connection, namespace })` or `forRootAsync({ useFactory, inject, imports })`.
 * Importing it never consumes jobs: it gives ResqueQueue (producer, delayed jobs included), ResqueEvents,
 * the job registry and the admin views (ResqueFailures, ResqueWorkers).
 * Global unless `isGlobal: false`.
 */
@Module({
  imports: [DiscoveryModule],
  providers: [ResqueConnection, ResqueEvents, ResqueJobRegistry, ResqueQueue, ResqueDelayedJobs, ResqueScheduler, ResqueSchedules, ResqueFailures, ResqueWorkers],
  exports: [ResqueConnection, ResqueEvents, ResqueJobRegistry, ResqueQueue, ResqueDelayedJobs, ResqueScheduler, ResqueSchedules, ResqueFailures, ResqueWorkers],
})
export class ResqueModule extends ResqueConfigurableModuleClass {}

import { Module, type OnModuleInit } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { ResqueFailures } from './admin/admin.failures.js';
import { ResqueWorkers } from './admin/admin.workers.js';
import { ResqueConnection } from './connection/connection.service.js';
import { ResqueEvents } from './events/events.service.js';
import { ResqueJobRegistry } from './jobs/job.registry.js';
import { ResqueQueue } from './queue/queue.service.js';
import { ResqueDelayedJobs } from './queue/queue.delayed.js';
import { ResqueScheduler } from './scheduler/scheduler.service.js';
import { ResqueSchedules } from './scheduler/scheduler.schedules.service.js';
import { ResqueConfigurableModuleClass } from './resque.module-definition.js';

/** ResqueQueue on the module's connection and events; ResqueDelayedJobs is the queue's own delayed part. */
const queueProviders = [
  { provide: ResqueQueue, useFactory: (connection: ResqueConnection, events: ResqueEvents) => new ResqueQueue(connection, events), inject: [ResqueConnection, ResqueEvents] },
  { provide: ResqueDelayedJobs, useFactory: (queue: ResqueQueue) => queue.delayed, inject: [ResqueQueue] },
];

/**
 * `ResqueModule.forRoot({ connection, namespace })` or `forRootAsync({ useFactory, inject, imports })`.
 * Importing it never consumes jobs: it gives ResqueQueue (producer, delayed jobs included), ResqueEvents,
 * the job registry and the admin views (ResqueFailures, ResqueWorkers).
 * Global unless `isGlobal: false`.
 */
@Module({
  imports: [DiscoveryModule],
  providers: [ResqueConnection, ResqueEvents, ResqueJobRegistry, ...queueProviders, ResqueScheduler, ResqueSchedules, ResqueFailures, ResqueWorkers],
  exports: [ResqueConnection, ResqueEvents, ResqueJobRegistry, ResqueQueue, ResqueDelayedJobs, ResqueScheduler, ResqueSchedules, ResqueFailures, ResqueWorkers],
})
export class ResqueModule extends ResqueConfigurableModuleClass implements OnModuleInit {
  constructor(
    private readonly registry: ResqueJobRegistry,
    private readonly connection: ResqueConnection,
  ) {
    super();
  }

  /**
   * Runs after the module's providers' own hooks: the job registry is collected (and bootstrap fails on a bad
   * @Job) before any connection opens, then the connection is made, so a failed bootstrap leaves none open.
   */
  async onModuleInit(): Promise<void> {
    this.registry.collect();
    this.connection.logTarget();
    await this.connection.connect();
  }
}

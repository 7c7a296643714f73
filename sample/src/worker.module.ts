import { Module } from '@nestjs/common';
import { ResqueModule } from 'nestjs-resque';
import { EventsLogger } from './events-logger.service.js';
import { JobsModule } from './jobs/jobs.module.js';
import { resqueConfig } from './resque.config.js';

/** What the worker (and each of its children) boots: Resque, the jobs with their services, the logger. */
@Module({
  imports: [ResqueModule.forRoot(resqueConfig()), JobsModule],
  providers: [EventsLogger],
})
export class WorkerModule {}

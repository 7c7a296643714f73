import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { ResqueModule } from 'nestjs-resque';
import { ResqueDashboardModule } from 'nestjs-resque/dashboard';
import { ResqueHealthModule } from 'nestjs-resque/health';
import { ResqueMetricsModule } from 'nestjs-resque/metrics';
import { HealthController } from './health.controller.js';
import { JobsController } from './jobs.controller.js';
import { JobsModule } from './jobs/jobs.module.js';
import { resqueConfig } from './resque.config.js';

/** The HTTP app: importing ResqueModule gives it ResqueQueue; it never consumes jobs. */
@Module({
  imports: [
    ResqueModule.forRootAsync({ useFactory: resqueConfig }),
    JobsModule,
    TerminusModule.forRoot({ logger: false }),
    ResqueHealthModule,
    ResqueMetricsModule.forRoot(),
    // The dashboard at /resque. Writable because the demo listens on 127.0.0.1 only: a real app adds `guards`.
    ResqueDashboardModule.forRoot({ path: '/resque', readOnly: false }),
  ],
  controllers: [JobsController, HealthController],
})
export class AppModule {}

import { Module } from '@nestjs/common';
import { ResqueModule } from 'nestjs-resque';
import { JobsController } from './jobs.controller.js';
import { JobsModule } from './jobs/jobs.module.js';
import { resqueConfig } from './resque.config.js';

/** The HTTP app: importing ResqueModule gives it ResqueQueue; it never consumes jobs. */
@Module({
  imports: [ResqueModule.forRootAsync({ useFactory: resqueConfig }), JobsModule],
  controllers: [JobsController],
})
export class AppModule {}

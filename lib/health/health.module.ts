import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { ResqueHealthIndicator } from './health.indicator.js';

/**
 * Gives `ResqueHealthIndicator` to a HealthController; import it next to TerminusModule. It reads through
 * the application's (global) ResqueModule connection.
 */
@Module({
  imports: [TerminusModule],
  providers: [ResqueHealthIndicator],
  exports: [ResqueHealthIndicator],
})
export class ResqueHealthModule {}

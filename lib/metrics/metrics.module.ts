import { Module, type DynamicModule } from '@nestjs/common';
import { ResqueMetricsConfigurableModuleClass, type RESQUE_METRICS_OPTIONS_TYPE } from './metrics.module-definition.js';
import { ResqueMetrics } from './metrics.service.js';

/**
 * Prometheus metrics of Resque in a Nest app: `ResqueMetricsModule.forRoot()` (or `forRootAsync`) next to
 * ResqueModule mounts `GET /metrics`; `{ controller: false }` mounts nothing (serve `ResqueMetrics` yourself).
 * Needs the optional peer prom-client.
 */
@Module({
  providers: [ResqueMetrics],
  exports: [ResqueMetrics],
})
export class ResqueMetricsModule extends ResqueMetricsConfigurableModuleClass {
  /** Every option has a default, so `forRoot()` alone mounts `/metrics` on prom-client's global registry. */
  static override forRoot(options: typeof RESQUE_METRICS_OPTIONS_TYPE = {}): DynamicModule {
    return super.forRoot(options);
  }
}

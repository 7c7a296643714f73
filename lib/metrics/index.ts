// nestjs-resque/metrics: needs the optional peer prom-client; the root entry never loads it. The worker
// host's `metrics` option loads metrics.worker.js itself.
export { ResqueMetricsModule } from './metrics.module.js';
export type { ResqueMetricsModuleOptions } from './metrics.options.js';
export { ResqueMetrics } from './metrics.service.js';

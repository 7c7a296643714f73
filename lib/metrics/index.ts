// nestjs-resque/metrics: needs the optional peer prom-client; the root entry never loads it.
export { ResqueMetricsController } from './metrics.controller.js';
export { registerJobMetrics } from './metrics.jobs.js';
export { ResqueMetricsModule } from './metrics.module.js';
export { RESQUE_METRICS_OPTIONS, type ResqueMetricsModuleOptions } from './metrics.options.js';
export { DEFAULT_SCRAPE_TIMEOUT_MS, registerRedisMetrics } from './metrics.redis.js';
export { ResqueMetrics } from './metrics.service.js';
export { ResqueReader, type QueueReading, type StatsReading, type WorkerReading } from './metrics.snapshot.js';
export { startWorkerMetrics, type WorkerMetrics } from './metrics.worker.js';

// nestjs-resque/metrics: needs the optional peer prom-client; the root entry never loads it.
export { ResqueMetrics, ResqueMetricsController, ResqueMetricsModule, RESQUE_METRICS_REGISTRY, type ResqueMetricsModuleOptions } from './metrics.module.js';
export { registerJobMetrics } from './metrics.jobs.js';
export { registerRedisMetrics } from './metrics.redis.js';
export { ResqueReader, type QueueReading, type StatsReading, type WorkerReading } from './metrics.snapshot.js';
export { startWorkerMetrics, type WorkerMetrics } from './metrics.worker.js';

export { ResqueScheduler } from './scheduler.service.js';
export { ResqueSchedules } from './scheduler.schedules.service.js';
export type { ScheduleInfo } from './scheduler.schedules.store.js';
export { ResqueSchedulerHost, type SchedulerHandle } from './scheduler.host.js';
export { resolveSchedulerHostOptions, type ResqueSchedulerHostOptions } from './scheduler.env.js';
export { SchedulerEngine, DEFAULT_SCHEDULER_INTERVAL, type PassResult } from './scheduler.engine.js';
export { SchedulerLock, SCHEDULER_LOCK_TTL_SECONDS, defaultLockOwner } from './scheduler.lock.js';
export type { FiredTick } from './scheduler.recurring.js';
// RecurringScheduleConfig is re-exported through resque.options.ts (one name in the public barrel).
export type { PromotedJob, SchedulerObserver, SchedulerOptions, SchedulerRedis } from './scheduler.types.js';

// First, so a pool child watches its parent before anything else of the library or the app is evaluated.
import './worker/worker.parent-guard.js';

// The public API of 'nestjs-resque': an explicit list, so a new internal module never becomes API by accident.
// What users write against: the module, its injectable services, the hosts, the decorators, the job context,
// events, the errors they throw or catch, and the data shapes these return. Everything else (protocol codecs,
// Lua scripts, env parsing, engine classes) is internal; tests import it by relative path.
// `npm test` checks this list against api/nestjs-resque.api.md (`npm run api:update` after an intended change).

// Module and options
export { ResqueModule } from './resque.module.js';
export type { ResqueConnectionInput, ResqueModuleOptions } from './resque.options.js';
export type { ResqueClusterConnection } from './connection/connection.types.js';

// Injectable services
export { ResqueConnection } from './connection/connection.service.js';
export { ResqueQueue } from './queue/queue.service.js';
export { ResqueDelayedJobs } from './queue/queue.delayed.js';
export { ResqueEvents } from './events/events.service.js';
export { ResqueFailures } from './admin/admin.failures.js';
export { ResqueWorkers, type PruneNowOptions } from './admin/admin.workers.js';
export { ResqueScheduler } from './scheduler/scheduler.service.js';
export { ResqueSchedules } from './scheduler/scheduler.schedules.service.js';

// What the services take and return
export type { BulkJob, DelayedEnqueueOptions, EnqueueOptions, PeekedJob, UnreadableJob } from './queue/queue.types.js';
export type { DelayedTimestamp, UnreadableDelayedItem } from './queue/queue.delayed.store.js';
export type { DelayedItem } from './protocol/protocol.delayed.js';
export type { DecodedJob, ResquePayload } from './protocol/protocol.payload.js';
export type { DequeueSelector } from './protocol/protocol.selector.js';
export { JobStatus, type JobStatusInfo } from './protocol/protocol.status.js';
export type { FailureRecord } from './protocol/protocol.failure.js';
export type { FailureEntry, FailureFilter, FailureListOptions, RequeueOptions, WorkerInfo, WorkerJobInfo } from './admin/admin.types.js';
export type { PrunedWorker } from './worker/worker.pruner.js';
export type { PassResult } from './scheduler/scheduler.engine.js';
export type { RecurringScheduleConfig, SchedulerOptions } from './scheduler/scheduler.types.js';
export type { ScheduleInfo } from './scheduler/scheduler.schedules.store.js';

// Hosts: standalone worker and scheduler processes
export type { ResqueAppModule, ResqueAppOptions } from './resque.host-types.js';
export { ResqueWorkerHost } from './worker/worker.host.js';
export type { ResqueWorkerHostOptions, WorkerMetricsOptions } from './worker/worker.options.js';
export type { ResqueWorkerHandle } from './worker/worker.handle.js';
export { ResqueSchedulerHost, type SchedulerHandle } from './scheduler/scheduler.host.js';
export type { ResqueSchedulerHostOptions } from './scheduler/scheduler.env.js';
export { EnvConfigError, importAppInclude } from './env/env.common.js';

// Jobs: decorators, context, outcome
export { AfterPerform, BeforePerform, Job, OnFailure, Perform, SetUp, TearDown } from './decorators/decorators.job.js';
export type { JobClass, JobOptions, JobParamsOf, JobScheduleOptions } from './decorators/decorators.types.js';
export type { ThrottleRate, WorkerThrottleOptions } from './policies/policy.throttle.js';
export type { JobOutcome, ResqueJobContext } from './worker/worker.types.js';
export { JobTimeoutError, TermException, UnknownJobError, WorkerPrunedError } from './worker/worker.errors.js';
export { PayloadDecodeError } from './protocol/protocol.payload.js';
export { DuplicateJobError, type UniqueOnDuplicate, type UniqueOptions, type UniqueUntil } from './policies/policy.unique.js';
export type { ResqueProgress } from './protocol/protocol.progress.js';
export type { RetryBackoff, RetryErrorClass, RetryFilter, RetryOverride, RetryPolicy } from './policies/policy.retry.types.js';

// Events
export { OnResqueEvent } from './decorators/decorators.events.js';
export type {
  AfterPerformEvent,
  DelayedEnqueueEvent,
  EnqueueEvent,
  FailureEvent,
  JobEvent,
  ProgressEvent,
  ResqueEventError,
  RetryEvent,
  ResqueEventListener,
  ResqueEventMap,
  ResqueEventName,
  ScheduleEvent,
  ThrottledEvent,
  WorkerEvent,
} from './events/events.types.js';
export { DoNotCreateError, DoNotPerformError, DoNotRecordFailureError, DoNotScheduleError, ResqueVetoError } from './events/events.errors.js';

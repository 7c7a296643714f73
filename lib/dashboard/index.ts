// The `nestjs-resque/dashboard` entry: the module, its options, and the JSON API's shapes.
export { ResqueDashboardModule } from './dashboard.module.js';
export type { ResqueDashboardExtras, ResqueDashboardOptions } from './dashboard.options.js';
export { CSRF_HEADER } from './dashboard.security.js';
export type {
  DelayedJobView,
  DelayedTimestampRow,
  FailedPage,
  FailureView,
  JobView,
  OverviewView,
  Page,
  QueueJobView,
  QueueRow,
  ScheduleView,
  StatsView,
  WorkerKind,
  WorkerView,
} from './dashboard.data.js';

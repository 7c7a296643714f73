export { ResqueDashboardModule } from './dashboard.module.js';
export type { ResqueDashboardExtras, ResqueDashboardOptions } from './dashboard.options.js';
export { CONTENT_SECURITY_POLICY, CSRF_HEADER } from './dashboard.security.js';
export { DashboardData } from './dashboard.data.js';
export type * from './dashboard.data.js';

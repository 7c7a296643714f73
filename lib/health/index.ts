// nestjs-resque/health: needs the optional peer @nestjs/terminus; the root entry never loads it.
export { ResqueHealthIndicator, type ResqueHealthOptions } from './health.indicator.js';
export { ResqueHealthModule } from './health.module.js';

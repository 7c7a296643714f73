// First, so a pool child watches its parent before anything else of the library or the app is evaluated.
import './worker/worker.parent-guard.js';
export * from './protocol/index.js';
export * from './resque.options.js';
export { RESQUE_MODULE_OPTIONS } from './resque.module-definition.js';
export * from './resque.module.js';
export * from './connection/index.js';
export * from './decorators/index.js';
export * from './events/index.js';
export * from './jobs/index.js';
export * from './queue/index.js';
export * from './scheduler/index.js';
export * from './admin/index.js';
export * from './env/index.js';
export * from './worker/index.js';

export { ResqueFailures } from './admin.failures.js';
export * from './admin.types.js';
export * from './admin.workers.js';

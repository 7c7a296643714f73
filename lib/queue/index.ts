export * from './queue.service.js';
export * from './queue.types.js';
export * from './queue.validation.js';
export { ResqueDelayedJobs } from './queue.delayed.js';
export type { DelayedTimestamp, UnreadableDelayedItem } from './queue.delayed.store.js';

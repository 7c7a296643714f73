import './worker.parent-guard.js'; // first: see lib/index.ts
export * from './worker.errors.js';
export * from './worker.handle.js';
export * from './worker.host.js';
export * from './worker.job-runner.js';
export * from './worker.options.js';
export * from './worker.pruner.js';
export * from './worker.queues.js';
export * from './worker.types.js';
export { RESQUE_VERSION } from './worker.title.js';

export * from './protocol/index.js';
export * from './resque.options.js';
export { RESQUE_MODULE_OPTIONS } from './resque.module-definition.js';
export * from './resque.module.js';
export * from './connection/index.js';
export * from './decorators/index.js';
export * from './events/index.js';
export * from './jobs/index.js';
export * from './queue/index.js';

export * from './decorators.constants.js';
export * from './decorators.events.js';
export * from './decorators.job.js';
export * from './decorators.metadata.js';
export * from './decorators.types.js';

export * from './job.name.js';
export * from './job.registry.js';

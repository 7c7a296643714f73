export * from './job.registry.js';

export * from './queue.service.js';
export * from './queue.types.js';
export * from './queue.validation.js';

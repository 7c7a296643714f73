export * from './events.errors.js';
export * from './events.service.js';
export * from './events.types.js';

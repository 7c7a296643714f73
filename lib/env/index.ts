export * from './env.common.js';
export * from './env.pidfile.js';
export * from './env.redis-backend.js';
export * from './env.scheduler.js';
export * from './env.worker.js';

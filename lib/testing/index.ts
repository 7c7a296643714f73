/**
 * `nestjs-resque/testing`: unit-test code that enqueues, without Redis.
 * - `ResqueTestingModule.forRoot({ mode: 'inline' | 'record', connection?, namespace? })`
 * - `ResqueTestingQueue` (also injected as `ResqueQueue`): `jobs(queue?)`, `enqueued(queue?)`, `runAll(queue?)`,
 *   `performed()`, `failures()`, `clear()`, plus every ResqueQueue method in memory.
 */
export * from './testing.constants.js';
export * from './testing.module.js';
export * from './testing.queue.js';
export * from './testing.types.js';

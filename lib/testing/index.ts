/**
 * `nestjs-resque/testing`: unit-test code that enqueues, without Redis.
 * - `ResqueTestingModule.forRoot({ mode: 'inline' | 'record', connection?, namespace? })`
 * - `ResqueTestingQueue` (also injected as `ResqueQueue`): `jobs(queue?)`, `enqueued(queue?)`, `runAll(queue?)`,
 *   `performed()`, `failures()`, `clear()`, plus every ResqueQueue method in memory.
 * An explicit list, like the root entry's (api/nestjs-resque.api.md reports both).
 */
export { ResqueTestingModule } from './testing.module.js';
export { ResqueTestingQueue } from './testing.queue.js';
export type { DelayedJob, PerformedJob, RecordedJob, ResqueTestingMode, ResqueTestingOptions } from './testing.types.js';

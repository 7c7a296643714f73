import type { Type } from '@nestjs/common';
import type { ResqueSchedulerHostOptions } from './scheduler.env.js';
import { ResqueSchedulerHost, type SchedulerHandle } from './scheduler.host.js';

/**
 * What the CLI's `scheduler` command runs: the standalone scheduler for `module`, with explicit options
 * over the environment. Resolves once it is running; the process then lives until a stop signal.
 */
export function runScheduler(module: Type<unknown>, options: ResqueSchedulerHostOptions = {}): Promise<SchedulerHandle> {
  return ResqueSchedulerHost.run(module, options);
}

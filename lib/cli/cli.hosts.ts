import type { Type } from '@nestjs/common';

/** What the CLI needs of a host: `run(Module, explicitOptions)`, started with no explicit options so the env applies. */
export interface HostRunner {
  run(module: Type<unknown>, options: Record<string, never>): Promise<unknown>;
}

// Loaded on demand: the scheduler command never loads worker code and the other way round.
export async function loadWorkerHost(): Promise<HostRunner> {
  return (await import('../worker/worker.host.js')).ResqueWorkerHost;
}

export async function loadSchedulerHost(): Promise<HostRunner> {
  return (await import('../scheduler/scheduler.host.js')).ResqueSchedulerHost;
}

import type { JobClass } from '../decorators/decorators.types.js';
import type { ResqueJobRegistry } from '../jobs/job.registry.js';
import { nameOnlyResolver, resolveSchedule, type JobNameResolver, type ResolvedSchedule } from './scheduler.schedules.js';
import type { RecurringScheduleConfig } from './scheduler.types.js';

/** Names `job` members (the one resolution, resolveJobName); a name string takes its registered job's queue. */
export function registryResolver(registry: ResqueJobRegistry | undefined): JobNameResolver {
  return (job: string | JobClass, what: string) => {
    const resolved = nameOnlyResolver(job, what);
    if (typeof job !== 'string') return resolved;
    const options = registry?.get(job)?.options;
    return { name: resolved.name, queue: options?.queue, unique: options?.unique };
  };
}

/**
 * The static schedules of this process: `ResqueModule.forRoot({ schedules })` plus every `@Job` with a
 * `schedule` option (named after the job unless it gives a name). Throws naming the bad schedule.
 */
export function collectStaticSchedules(
  configured: Record<string, RecurringScheduleConfig> | undefined,
  registry: ResqueJobRegistry | undefined,
): ResolvedSchedule[] {
  const resolver = registryResolver(registry);
  const out = new Map<string, ResolvedSchedule>();
  for (const [name, config] of Object.entries(configured ?? {})) {
    out.set(name, resolveSchedule(name, config, 'static', resolver));
  }
  if (registry) {
    registry.collect();
    for (const job of registry.all()) {
      const schedule = job.options.schedule as (Record<string, unknown> & { name?: string }) | undefined;
      if (!schedule) continue;
      const { name: scheduleName, ...rest } = schedule;
      const name = typeof scheduleName === 'string' && scheduleName !== '' ? scheduleName : job.name;
      if (out.has(name)) throw new Error(`schedule "${name}" is declared twice (module options and @Job('${job.name}'))`);
      const config: RecurringScheduleConfig = { ...rest, job: job.classRef };
      out.set(name, resolveSchedule(name, config, 'static', resolver));
    }
  }
  return [...out.values()];
}

import { Inject, Injectable, Optional } from '@nestjs/common';
import { ResqueConnection } from '../connection/connection.service.js';
import { ResqueJobRegistry } from '../jobs/job.registry.js';
import { RESQUE_MODULE_OPTIONS } from '../resque.module-definition.js';
import type { ResqueModuleOptions } from '../resque.options.js';
import { ScheduleStore, type ScheduleInfo } from './scheduler.schedules.store.js';
import { collectStaticSchedules, registryResolver } from './scheduler.statics.js';
import type { RecurringScheduleConfig } from './scheduler.types.js';

/**
 * Runtime recurring schedules, stored like resque-scheduler's `set_schedule(..., persist: true)`
 * (`persistent_schedules` + `schedules_changed`), so every scheduler, ours or Ruby's, sees them.
 */
@Injectable()
export class ResqueSchedules {
  private readonly store: ScheduleStore;

  constructor(
    connection: ResqueConnection,
    @Optional() private readonly registry?: ResqueJobRegistry,
    @Optional() @Inject(RESQUE_MODULE_OPTIONS) private readonly moduleOptions?: ResqueModuleOptions,
  ) {
    this.store = new ScheduleStore(connection, registryResolver(registry));
  }

  /** Adds or replaces a schedule (validated first). Returns the config as stored. */
  set(name: string, config: RecurringScheduleConfig): Promise<Record<string, unknown>> {
    return this.store.set(name, config);
  }

  /** Removes a runtime schedule; false when none had that name (static ones live in code). */
  remove(name: string): Promise<boolean> {
    return this.store.remove(name);
  }

  /** Static and runtime schedules with their last firing (`delayed:last_enqueued_at`). */
  list(): Promise<ScheduleInfo[]> {
    const configured = this.moduleOptions?.schedules;
    return this.store.list(collectStaticSchedules(configured, this.registry));
  }
}

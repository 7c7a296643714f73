import { Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { merge, map, type Subscription } from 'rxjs';
import { ResqueEvents } from 'nestjs-resque';

/** Logs the lifecycle events; in the worker parent these include what happened inside the children. */
@Injectable()
export class EventsLogger implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('events');
  private subscription?: Subscription;

  constructor(private readonly events: ResqueEvents) {}

  onModuleInit(): void {
    this.subscription = merge(
      this.events.beforeFirstFork$.pipe(map((e) => `beforeFirstFork worker=${e.workerId}`)),
      this.events.beforePerform$.pipe(map((e) => `beforePerform ${e.className} id=${e.id ?? '-'}`)),
      this.events.afterPerform$.pipe(map((e) => `afterPerform ${e.className} id=${e.id ?? '-'} result=${JSON.stringify(e.result)}`)),
      this.events.onFailure$.pipe(
        map((e) => `onFailure ${e.className} id=${e.id ?? '-'} error=${e.error instanceof Error ? e.error.message : String(e.error)}`),
      ),
      this.events.onRetry$.pipe(
        map((e) => `onRetry ${e.className} id=${e.id ?? '-'} attempt ${e.attempt} failed (${e.error instanceof Error ? e.error.message : String(e.error)}), retry in ${e.delay} s`),
      ),
      this.events.beforeDelayedEnqueue$.pipe(map((e) => `beforeDelayedEnqueue ${e.className} → ${e.queue}`)),
    ).subscribe((line) => this.logger.log(line));
  }

  onModuleDestroy(): void {
    this.subscription?.unsubscribe();
  }
}

import { Inject, Injectable, Logger, Optional, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { DiscoveryService, MetadataScanner } from '@nestjs/core';
import { Subject, type Observable } from 'rxjs';
import { RESQUE_MODULE_OPTIONS } from '../resque.module-definition.js';
import type { ResqueModuleOptions } from '../resque.options.js';
import { isVetoError } from './events.errors.js';
import { discoverEventListeners } from './events.explorer.js';
import { assertEventName, VETO_HINTS } from './events.names.js';
import { EventStream, type StreamGuard } from './events.stream.js';
import {
  RESQUE_EVENT_NAMES,
  type ResqueEventError,
  type ResqueEventListener,
  type ResqueEventMap,
  type ResqueEventName,
} from './events.types.js';

export interface EmitAsyncOptions {
  /** Rethrow a listener's (non-veto) error instead of reporting it on errors$ (the worker fails the job). */
  rethrow?: boolean;
}

type Listener = (payload: unknown) => unknown;

/**
 * Resque's lifecycle events: read-only RxJS streams to observe them, and php-style `listen()` listeners
 * (also `@OnResqueEvent()` methods) that are awaited in order and are the only way to veto, by throwing
 * the event's Do-Not error. Emitting never throws because of a subscriber: its error goes to `errors$`
 * (logged when nobody subscribes to it).
 */
@Injectable()
export class ResqueEvents implements OnModuleInit, OnApplicationShutdown {
  readonly beforeFirstFork$: Observable<ResqueEventMap['beforeFirstFork']>;
  readonly beforeFork$: Observable<ResqueEventMap['beforeFork']>;
  readonly afterFork$: Observable<ResqueEventMap['afterFork']>;
  readonly beforePerform$: Observable<ResqueEventMap['beforePerform']>;
  readonly afterPerform$: Observable<ResqueEventMap['afterPerform']>;
  readonly onFailure$: Observable<ResqueEventMap['onFailure']>;
  readonly onProgress$: Observable<ResqueEventMap['onProgress']>;
  readonly onRetry$: Observable<ResqueEventMap['onRetry']>;
  readonly onThrottled$: Observable<ResqueEventMap['onThrottled']>;
  readonly beforeEnqueue$: Observable<ResqueEventMap['beforeEnqueue']>;
  readonly afterEnqueue$: Observable<ResqueEventMap['afterEnqueue']>;
  readonly beforeSchedule$: Observable<ResqueEventMap['beforeSchedule']>;
  readonly afterSchedule$: Observable<ResqueEventMap['afterSchedule']>;
  readonly beforeDelayedEnqueue$: Observable<ResqueEventMap['beforeDelayedEnqueue']>;
  readonly errors$: Observable<ResqueEventError>;

  private readonly subjects = new Map<ResqueEventName, Subject<unknown>>();
  private readonly errorSubject = new Subject<ResqueEventError>();
  // Copy-on-write arrays: emitAsync iterates a stable snapshot even if a listener removes itself.
  private readonly listeners = new Map<ResqueEventName, Listener[]>();
  /** The payload being delivered to each stream's subscribers, for the errors$ record of one that throws. */
  private readonly delivering = new Map<ResqueEventName, unknown>();
  private readonly warned = new Set<ResqueEventName>();
  private readonly logger: Logger | null;
  private collected = false;

  constructor(
    @Optional() @Inject(RESQUE_MODULE_OPTIONS) options?: ResqueModuleOptions,
    @Optional() private readonly discovery?: DiscoveryService,
    @Optional() private readonly scanner?: MetadataScanner,
  ) {
    this.logger = options?.logger === false ? null : new Logger('ResqueEvents');
    for (const name of RESQUE_EVENT_NAMES) {
      this.subjects.set(name, new Subject<unknown>());
      this.listeners.set(name, []);
    }
    this.beforeFirstFork$ = this.stream('beforeFirstFork');
    this.beforeFork$ = this.stream('beforeFork');
    this.afterFork$ = this.stream('afterFork');
    this.beforePerform$ = this.stream('beforePerform');
    this.afterPerform$ = this.stream('afterPerform');
    this.onFailure$ = this.stream('onFailure');
    this.onProgress$ = this.stream('onProgress');
    this.onRetry$ = this.stream('onRetry');
    this.onThrottled$ = this.stream('onThrottled');
    this.beforeEnqueue$ = this.stream('beforeEnqueue');
    this.afterEnqueue$ = this.stream('afterEnqueue');
    this.beforeSchedule$ = this.stream('beforeSchedule');
    this.afterSchedule$ = this.stream('afterSchedule');
    this.beforeDelayedEnqueue$ = this.stream('beforeDelayedEnqueue');
    const errorGuard: StreamGuard = {
      error: (error) => this.logger?.error(`an errors$ subscriber threw: ${describe(error)}`),
      returnedFalse: () => undefined,
    };
    this.errors$ = new EventStream<ResqueEventError>(errorGuard, (subscriber) => this.errorSubject.subscribe(subscriber));
  }

  /** Registers the `@OnResqueEvent()` methods of the application's providers (in a worker child too). */
  onModuleInit(): void {
    if (this.collected || !this.discovery || !this.scanner) return;
    for (const { name, listener } of discoverEventListeners(this.discovery, this.scanner)) this.add(name, listener);
    this.collected = true;
  }

  /** The stream of one event by name. */
  on<K extends ResqueEventName>(name: K): Observable<ResqueEventMap[K]> {
    return this[`${name}$`] as unknown as Observable<ResqueEventMap[K]>;
  }

  /**
   * True when someone subscribes or listens (`@OnResqueEvent()` methods included): lets hot paths skip
   * building payloads, and decides which child events a worker bridges to its parent.
   */
  hasListeners(name: ResqueEventName): boolean {
    return this.subjectOf(name).observed || this.listenersOf(name).length > 0;
  }

  /**
   * php's Resque_Event::listen: `fn` may be async; throwing the event's Do-Not error vetoes (returning
   * false does not). Returns a function that removes it.
   */
  listen<K extends ResqueEventName>(name: K, fn: ResqueEventListener<K>): () => void {
    assertEventName(name);
    if (typeof fn !== 'function') throw new TypeError('listener must be a function');
    return this.add(name, fn as Listener);
  }

  /**
   * Delivers to the streams' subscribers (synchronously), then awaits each listener in order. False when a
   * listener vetoed (threw a Do-Not error): the rest are not called. Another listener error is reported on
   * errors$, or rethrown with `rethrow` (the worker fails the job). For the library's emitters.
   */
  async emitAsync<K extends ResqueEventName>(name: K, payload: ResqueEventMap[K], options: EmitAsyncOptions = {}): Promise<boolean> {
    this.publish(name, payload);
    for (const listener of this.listeners.get(name) ?? []) {
      try {
        if ((await listener(payload)) === false) this.warnIgnoredVeto(name, `a ${name} listener returned false`);
      } catch (error) {
        if (isVetoError(error)) return false;
        if (options.rethrow) throw error;
        this.reportError(name, error, payload);
      }
    }
    return true;
  }

  /** Completes every stream so subscriptions end with the application. */
  onApplicationShutdown(): void {
    for (const subject of this.subjects.values()) subject.complete();
    this.errorSubject.complete();
  }

  /** Every name has its subject and listener list from the constructor on. */
  private subjectOf(name: ResqueEventName): Subject<unknown> {
    const subject = this.subjects.get(name);
    if (!subject) throw new RangeError(`unknown Resque event "${name}"`);
    return subject;
  }

  private listenersOf(name: ResqueEventName): readonly Listener[] {
    return this.listeners.get(name) ?? [];
  }

  private add(name: ResqueEventName, listener: Listener): () => void {
    this.listeners.set(name, [...this.listenersOf(name), listener]);
    return () => {
      this.listeners.set(
        name,
        this.listenersOf(name).filter((l) => l !== listener),
      );
    };
  }

  private publish(name: ResqueEventName, payload: unknown): void {
    const subject = this.subjectOf(name);
    if (!subject.observed) return;
    // Saved and restored: a subscriber may cause a nested emission of the same event.
    const nested = this.delivering.has(name);
    const previous = this.delivering.get(name);
    this.delivering.set(name, payload);
    try {
      subject.next(payload);
    } finally {
      if (nested) this.delivering.set(name, previous);
      else this.delivering.delete(name);
    }
  }

  /** Puts an error on errors$ (or logs it when nobody subscribes). */
  private reportError(event: ResqueEventName, error: unknown, payload: unknown): void {
    if (!this.errorSubject.observed) {
      this.logger?.error(`a ${event} subscriber or listener threw: ${describe(error)}`);
      return;
    }
    this.errorSubject.next({ event, error, payload });
  }

  /** Once per event: an old-style veto (a `false`, or a Do-Not error thrown by a stream subscriber) was ignored. */
  private warnIgnoredVeto(name: ResqueEventName, what: string): void {
    const hint = VETO_HINTS[name];
    if (!hint || this.warned.has(name)) return;
    this.warned.add(name);
    this.logger?.warn(`${what}: that no longer vetoes ${name}; ${hint} from a listen() listener or an @OnResqueEvent() method`);
  }

  private stream<K extends ResqueEventName>(name: K): Observable<ResqueEventMap[K]> {
    const guard: StreamGuard = {
      error: (error) => {
        if (isVetoError(error)) this.warnIgnoredVeto(name, `a ${name}$ subscriber threw ${error.name}`);
        this.reportError(name, error, this.delivering.get(name));
      },
      returnedFalse: () => this.warnIgnoredVeto(name, `a ${name}$ subscriber returned false`),
    };
    const subject = this.subjectOf(name) as Subject<ResqueEventMap[K]>;
    return new EventStream<ResqueEventMap[K]>(guard, (subscriber) => subject.subscribe(subscriber));
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? (error.stack ?? error.message) : String(error);
}

import { Inject, Injectable, Logger, Optional, type OnApplicationShutdown } from '@nestjs/common';
import type { Observable, Subscriber } from 'rxjs';
import { RESQUE_MODULE_OPTIONS } from '../resque.module-definition.js';
import type { ResqueModuleOptions } from '../resque.options.js';
import { isVetoError } from './events.errors.js';
import { GuardedObservable, type EventGuard } from './events.stream.js';
import {
  RESQUE_EVENT_NAMES,
  type ResqueEventError,
  type ResqueEventListener,
  type ResqueEventMap,
  type ResqueEventName,
} from './events.types.js';

interface Emission {
  vetoed: boolean;
  payload: unknown;
}

export interface EmitAsyncOptions {
  /** Rethrow a listener's (non-veto) error instead of reporting it on errors$ (the worker fails the job). */
  rethrow?: boolean;
}

/**
 * Resque's lifecycle events as RxJS observables, plus php-style `listen()`. Emitting never throws
 * because of a subscriber: vetoes (Do-Not errors or `false`) make emit return false, other errors go
 * to `errors$` (logged when nobody subscribes to it).
 */
@Injectable()
export class ResqueEvents implements OnApplicationShutdown {
  readonly beforeFirstFork$: Observable<ResqueEventMap['beforeFirstFork']>;
  readonly beforeFork$: Observable<ResqueEventMap['beforeFork']>;
  readonly afterFork$: Observable<ResqueEventMap['afterFork']>;
  readonly beforePerform$: Observable<ResqueEventMap['beforePerform']>;
  readonly afterPerform$: Observable<ResqueEventMap['afterPerform']>;
  readonly onFailure$: Observable<ResqueEventMap['onFailure']>;
  readonly beforeEnqueue$: Observable<ResqueEventMap['beforeEnqueue']>;
  readonly afterEnqueue$: Observable<ResqueEventMap['afterEnqueue']>;
  readonly beforeSchedule$: Observable<ResqueEventMap['beforeSchedule']>;
  readonly afterSchedule$: Observable<ResqueEventMap['afterSchedule']>;
  readonly beforeDelayedEnqueue$: Observable<ResqueEventMap['beforeDelayedEnqueue']>;
  readonly errors$: Observable<ResqueEventError>;

  // Copy-on-write arrays: emit iterates a stable snapshot even if a callback unsubscribes.
  private readonly subscribers = new Map<ResqueEventName, Array<Subscriber<unknown>>>();
  private readonly listeners = new Map<ResqueEventName, Array<(payload: unknown) => unknown>>();
  private errorSubscribers: Array<Subscriber<ResqueEventError>> = [];
  private readonly current = new Map<ResqueEventName, Emission>();
  private readonly logger: Logger | null;

  constructor(@Optional() @Inject(RESQUE_MODULE_OPTIONS) options?: ResqueModuleOptions) {
    this.logger = options?.logger === false ? null : new Logger('ResqueEvents');
    for (const name of RESQUE_EVENT_NAMES) {
      this.subscribers.set(name, []);
      this.listeners.set(name, []);
    }
    this.beforeFirstFork$ = this.stream('beforeFirstFork');
    this.beforeFork$ = this.stream('beforeFork');
    this.afterFork$ = this.stream('afterFork');
    this.beforePerform$ = this.stream('beforePerform');
    this.afterPerform$ = this.stream('afterPerform');
    this.onFailure$ = this.stream('onFailure');
    this.beforeEnqueue$ = this.stream('beforeEnqueue');
    this.afterEnqueue$ = this.stream('afterEnqueue');
    this.beforeSchedule$ = this.stream('beforeSchedule');
    this.afterSchedule$ = this.stream('afterSchedule');
    this.beforeDelayedEnqueue$ = this.stream('beforeDelayedEnqueue');
    const errorGuard: EventGuard = {
      handle: (error) => this.logger?.error(`an errors$ subscriber threw: ${describe(error)}`),
      veto: () => undefined,
    };
    this.errors$ = new GuardedObservable<ResqueEventError>(errorGuard, (subscriber) => {
      this.errorSubscribers = [...this.errorSubscribers, subscriber];
      return () => {
        this.errorSubscribers = this.errorSubscribers.filter((s) => s !== subscriber);
      };
    });
  }

  /** The observable of one event by name. */
  on<K extends ResqueEventName>(name: K): Observable<ResqueEventMap[K]> {
    return this[`${name}$`] as unknown as Observable<ResqueEventMap[K]>;
  }

  /** True when someone subscribed or listens: lets hot paths skip building payloads. */
  hasListeners(name: ResqueEventName): boolean {
    return this.subscribers.get(name)!.length > 0 || this.listeners.get(name)!.length > 0;
  }

  /** php's Resque_Event::listen: fn may be async and may veto. Returns a function that removes it. */
  listen<K extends ResqueEventName>(name: K, fn: ResqueEventListener<K>): () => void {
    assertEventName(name);
    if (typeof fn !== 'function') throw new TypeError('listener must be a function');
    const entry = fn as (payload: unknown) => unknown;
    this.listeners.set(name, [...this.listeners.get(name)!, entry]);
    return () => {
      this.listeners.set(
        name,
        this.listeners.get(name)!.filter((l) => l !== entry),
      );
    };
  }

  /**
   * Delivers to the observable's subscribers synchronously. False when one vetoed; never throws for a
   * subscriber error (reported on errors$). Listeners added with listen() are run by emitAsync only.
   */
  emit<K extends ResqueEventName>(name: K, payload: ResqueEventMap[K]): boolean {
    const subscribers = this.subscribers.get(name);
    if (!subscribers || subscribers.length === 0) return true;
    const emission: Emission = { vetoed: false, payload };
    const previous = this.current.get(name);
    this.current.set(name, emission);
    try {
      for (const subscriber of subscribers) subscriber.next(payload);
    } finally {
      if (previous) this.current.set(name, previous);
      else this.current.delete(name);
    }
    return !emission.vetoed;
  }

  /** emit(), then awaits each listen() listener in order; the first veto stops the rest. */
  async emitAsync<K extends ResqueEventName>(name: K, payload: ResqueEventMap[K], options: EmitAsyncOptions = {}): Promise<boolean> {
    if (!this.emit(name, payload)) return false;
    const listeners = this.listeners.get(name) ?? [];
    for (const listener of listeners) {
      try {
        if ((await listener(payload)) === false) return false;
      } catch (error) {
        if (isVetoError(error)) return false;
        if (options.rethrow) throw error;
        this.reportError(name, error, payload);
      }
    }
    return true;
  }

  /** Puts an error on errors$ (or logs it when nobody listens). */
  reportError(event: ResqueEventName, error: unknown, payload: unknown): void {
    const subscribers = this.errorSubscribers;
    if (subscribers.length === 0) {
      this.logger?.error(`a ${event} listener threw: ${describe(error)}`);
      return;
    }
    const record: ResqueEventError = { event, error, payload };
    for (const subscriber of subscribers) subscriber.next(record);
  }

  /** Completes every stream so subscriptions end with the application. */
  onApplicationShutdown(): void {
    for (const name of RESQUE_EVENT_NAMES) {
      const subscribers = this.subscribers.get(name)!;
      this.subscribers.set(name, []);
      for (const subscriber of subscribers) subscriber.complete();
    }
    const errorSubscribers = this.errorSubscribers;
    this.errorSubscribers = [];
    for (const subscriber of errorSubscribers) subscriber.complete();
  }

  private stream<K extends ResqueEventName>(name: K): Observable<ResqueEventMap[K]> {
    const guard: EventGuard = {
      handle: (error) => {
        const emission = this.current.get(name);
        if (emission && isVetoError(error)) emission.vetoed = true;
        else this.reportError(name, error, emission?.payload);
      },
      veto: () => {
        const emission = this.current.get(name);
        if (emission) emission.vetoed = true;
      },
    };
    return new GuardedObservable<ResqueEventMap[K]>(guard, (subscriber) => {
      const entry = subscriber as Subscriber<unknown>;
      this.subscribers.set(name, [...this.subscribers.get(name)!, entry]);
      return () => {
        this.subscribers.set(
          name,
          this.subscribers.get(name)!.filter((s) => s !== entry),
        );
      };
    });
  }
}

function assertEventName(name: unknown): asserts name is ResqueEventName {
  if (typeof name !== 'string' || !(RESQUE_EVENT_NAMES as readonly string[]).includes(name)) {
    throw new RangeError(`unknown Resque event "${String(name)}"; expected one of ${RESQUE_EVENT_NAMES.join(', ')}`);
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? (error.stack ?? error.message) : String(error);
}

import { Observable, Subscriber, type Observer, type Operator, type Subscription, type TeardownLogic } from 'rxjs';

/**
 * Where a guarded subscriber's outcome goes: a veto (Do-Not error or `false` returned) or an error.
 * RxJS 7 would otherwise rethrow a subscriber's error asynchronously and crash the process.
 */
export interface EventGuard {
  /** The callback threw (or the chain errored): veto or report. */
  handle(error: unknown): void;
  /** The callback returned false. */
  veto(): void;
}

type NextFn<T> = (value: T) => void;

/**
 * An Observable whose subscribe() wraps plain callbacks and partial observers in try/catch, and whose
 * operators (pipe → lift) keep producing guarded observables, so `events.x$.pipe(filter(...)).subscribe(fn)`
 * is guarded too. Subscriber instances (operator internals, firstValueFrom) pass through untouched.
 */
export class GuardedObservable<T> extends Observable<T> {
  constructor(
    private readonly guard: EventGuard,
    subscribe?: (this: Observable<T>, subscriber: Subscriber<T>) => TeardownLogic,
  ) {
    super(subscribe);
  }

  override lift<R>(operator?: Operator<T, R>): Observable<R> {
    const lifted = new GuardedObservable<R>(this.guard);
    lifted.source = this;
    lifted.operator = operator;
    return lifted;
  }

  override subscribe(observerOrNext?: Partial<Observer<T>> | NextFn<T> | null): Subscription;
  /** @deprecated RxJS's separate-callbacks form; use an observer. */
  override subscribe(next?: NextFn<T> | null, error?: ((error: unknown) => void) | null, complete?: (() => void) | null): Subscription;
  override subscribe(
    observerOrNext?: Partial<Observer<T>> | NextFn<T> | null,
    error?: ((error: unknown) => void) | null,
    complete?: (() => void) | null,
  ): Subscription {
    if (isSubscriber(observerOrNext)) return super.subscribe(observerOrNext);
    return super.subscribe(this.wrap(observerOrNext, error, complete));
  }

  private wrap(
    observerOrNext: Partial<Observer<T>> | NextFn<T> | null | undefined,
    errorFn: ((error: unknown) => void) | null | undefined,
    completeFn: (() => void) | null | undefined,
  ): Observer<T> {
    const guard = this.guard;
    let next: ((value: T) => unknown) | undefined;
    let error: ((error: unknown) => void) | undefined;
    let complete: (() => void) | undefined;
    if (typeof observerOrNext === 'function') {
      next = observerOrNext;
      error = errorFn ?? undefined;
      complete = completeFn ?? undefined;
    } else if (observerOrNext) {
      const observer = observerOrNext;
      if (observer.next) next = (value) => observer.next!(value);
      if (observer.error) error = (e) => observer.error!(e);
      if (observer.complete) complete = () => observer.complete!();
    }
    return {
      next: (value: T) => {
        if (!next) return;
        try {
          if ((next(value) as unknown) === false) guard.veto();
        } catch (thrown) {
          guard.handle(thrown);
        }
      },
      error: (e: unknown) => {
        if (!error) return guard.handle(e);
        try {
          error(e);
        } catch (thrown) {
          guard.handle(thrown);
        }
      },
      complete: () => {
        if (!complete) return;
        try {
          complete();
        } catch (thrown) {
          guard.handle(thrown);
        }
      },
    };
  }
}

function isSubscriber<T>(value: unknown): value is Subscriber<T> {
  if (value instanceof Subscriber) return true;
  // A Subscriber from another copy of rxjs: an observer that is also a subscription.
  if (!value || typeof value !== 'object') return false;
  const v = value as Record<string, unknown>;
  return (
    typeof v['next'] === 'function' &&
    typeof v['error'] === 'function' &&
    typeof v['complete'] === 'function' &&
    typeof v['unsubscribe'] === 'function' &&
    typeof v['add'] === 'function'
  );
}

import { Observable, Subscriber, type Observer, type OperatorFunction, type Subscription, type TeardownLogic } from 'rxjs';

/**
 * What a stream does with an error thrown by a subscriber, by an operator of a piped chain, or a `false` a
 * subscriber returned. Without it RxJS 7 rethrows a subscriber's error on a timer, which crashes the process.
 */
export interface StreamGuard {
  error(error: unknown): void;
  /** A subscriber returned false: RxJS ignores it; we warn (it used to veto). */
  returnedFalse(): void;
}

type NextFn<T> = (value: T) => void;

/**
 * A read-only event stream that a throwing subscriber cannot break: `subscribe()` wraps plain callbacks
 * and partial observers in try/catch, and `pipe()` returns a stream guarded the same way, so
 * `events.x$.pipe(filter(...)).subscribe(fn)` is contained too. Subscriber instances (operators,
 * firstValueFrom) pass through untouched: their errors travel down the chain as RxJS intends.
 * Only public RxJS API: the constructor, `subscribe` and `pipe`.
 */
export class EventStream<T> extends Observable<T> {
  constructor(
    private readonly guard: StreamGuard,
    subscribe: (subscriber: Subscriber<T>) => TeardownLogic,
  ) {
    super(subscribe);
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
    return super.subscribe(contain(this.guard, observerOrNext, error, complete));
  }

  override pipe(): Observable<T>;
  override pipe<A>(op1: OperatorFunction<T, A>): Observable<A>;
  override pipe<A, B>(op1: OperatorFunction<T, A>, op2: OperatorFunction<A, B>): Observable<B>;
  override pipe<A, B, C>(op1: OperatorFunction<T, A>, op2: OperatorFunction<A, B>, op3: OperatorFunction<B, C>): Observable<C>;
  override pipe<A, B, C, D>(op1: OperatorFunction<T, A>, op2: OperatorFunction<A, B>, op3: OperatorFunction<B, C>, op4: OperatorFunction<C, D>): Observable<D>;
  override pipe<A, B, C, D, E>(
    op1: OperatorFunction<T, A>,
    op2: OperatorFunction<A, B>,
    op3: OperatorFunction<B, C>,
    op4: OperatorFunction<C, D>,
    op5: OperatorFunction<D, E>,
  ): Observable<E>;
  override pipe<A, B, C, D, E, F>(
    op1: OperatorFunction<T, A>,
    op2: OperatorFunction<A, B>,
    op3: OperatorFunction<B, C>,
    op4: OperatorFunction<C, D>,
    op5: OperatorFunction<D, E>,
    op6: OperatorFunction<E, F>,
  ): Observable<F>;
  override pipe<A, B, C, D, E, F, G>(
    op1: OperatorFunction<T, A>,
    op2: OperatorFunction<A, B>,
    op3: OperatorFunction<B, C>,
    op4: OperatorFunction<C, D>,
    op5: OperatorFunction<D, E>,
    op6: OperatorFunction<E, F>,
    op7: OperatorFunction<F, G>,
  ): Observable<G>;
  override pipe<A, B, C, D, E, F, G, H>(
    op1: OperatorFunction<T, A>,
    op2: OperatorFunction<A, B>,
    op3: OperatorFunction<B, C>,
    op4: OperatorFunction<C, D>,
    op5: OperatorFunction<D, E>,
    op6: OperatorFunction<E, F>,
    op7: OperatorFunction<F, G>,
    op8: OperatorFunction<G, H>,
  ): Observable<H>;
  override pipe<A, B, C, D, E, F, G, H, I>(
    op1: OperatorFunction<T, A>,
    op2: OperatorFunction<A, B>,
    op3: OperatorFunction<B, C>,
    op4: OperatorFunction<C, D>,
    op5: OperatorFunction<D, E>,
    op6: OperatorFunction<E, F>,
    op7: OperatorFunction<F, G>,
    op8: OperatorFunction<G, H>,
    op9: OperatorFunction<H, I>,
  ): Observable<I>;
  override pipe<A, B, C, D, E, F, G, H, I>(
    op1: OperatorFunction<T, A>,
    op2: OperatorFunction<A, B>,
    op3: OperatorFunction<B, C>,
    op4: OperatorFunction<C, D>,
    op5: OperatorFunction<D, E>,
    op6: OperatorFunction<E, F>,
    op7: OperatorFunction<F, G>,
    op8: OperatorFunction<G, H>,
    op9: OperatorFunction<H, I>,
    ...operations: OperatorFunction<unknown, unknown>[]
  ): Observable<unknown>;
  override pipe(...operations: OperatorFunction<never, unknown>[]): Observable<unknown> {
    // The overloads above type the chain; here each operator takes the previous one's output.
    const piped = operations.reduce<Observable<unknown>>((source, operation) => (operation as OperatorFunction<unknown, unknown>)(source), this);
    return new EventStream<unknown>(this.guard, (subscriber) => piped.subscribe(subscriber));
  }
}

/** The user's callbacks, each in try/catch; an error with no error callback goes to the guard too. */
function contain<T>(
  guard: StreamGuard,
  observerOrNext: Partial<Observer<T>> | NextFn<T> | null | undefined,
  errorFn: ((error: unknown) => void) | null | undefined,
  completeFn: (() => void) | null | undefined,
): Observer<T> {
  let next: ((value: T) => unknown) | undefined;
  let error: ((error: unknown) => void) | undefined;
  let complete: (() => void) | undefined;
  if (typeof observerOrNext === 'function') {
    next = observerOrNext;
    error = errorFn ?? undefined;
    complete = completeFn ?? undefined;
  } else if (observerOrNext) {
    const observer = observerOrNext;
    // Bound, not extracted: an observer's methods may use `this`.
    const { next: onNext, error: onError, complete: onComplete } = observer;
    if (onNext) next = (value) => onNext.call(observer, value);
    if (onError) error = (e) => onError.call(observer, e);
    if (onComplete) complete = () => onComplete.call(observer);
  }
  return {
    next: (value: T) => {
      if (!next) return;
      try {
        if (next(value) === false) guard.returnedFalse();
      } catch (thrown) {
        guard.error(thrown);
      }
    },
    error: (e: unknown) => {
      if (!error) return guard.error(e);
      try {
        error(e);
      } catch (thrown) {
        guard.error(thrown);
      }
    },
    complete: () => {
      if (!complete) return;
      try {
        complete();
      } catch (thrown) {
        guard.error(thrown);
      }
    },
  };
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

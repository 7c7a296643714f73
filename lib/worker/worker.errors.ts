import { TERM_EXCEPTION } from '../protocol/index.js';

/** A payload names a job class this worker has no `@Job` provider for (recorded in `failed`, never dropped). */
export class UnknownJobError extends Error {
  override readonly name = 'UnknownJobError';
  constructor(
    readonly className: string,
    readonly registered: readonly string[],
  ) {
    super(
      `no @Job('${className}') provider is registered in this worker` +
        ` (registered: ${registered.length > 0 ? registered.join(', ') : 'none'})`,
    );
  }
}

/**
 * A job ran past its timeout: `ctx.signal`'s reason, and the failure recorded when the job stopped within
 * `termTimeoutMs` (a pool child that did not is SIGKILLed and the job recorded as a DirtyExit).
 */
export class JobTimeoutError extends Error {
  override readonly name = 'JobTimeoutError';
  constructor(readonly timeoutMs: number) {
    super(`job exceeded its timeout of ${timeoutMs} ms`);
  }
}

/**
 * TERM/INT stopped the worker while the job ran (Ruby's Resque::TermException, message "SIGTERM"): the reason
 * of `ctx.signal`, and the exception recorded for the job unless it completed.
 */
export class TermException extends Error {
  override readonly name = TERM_EXCEPTION;
  constructor(readonly signal: NodeJS.Signals = 'SIGTERM') {
    super(signal);
  }
}

/**
 * A pruner unregistered this worker (it was frozen past its heartbeat) and took the running job back: the
 * reason of `ctx.signal`. Whatever the job does next is not recorded as its outcome (fenced).
 */
export class WorkerPrunedError extends Error {
  override readonly name = 'WorkerPrunedError';
  constructor(readonly workerId: string) {
    super(`worker ${workerId} was pruned and its job taken back`);
  }
}

/** An afterFork listener vetoed the job (php: an exception in afterFork fails the job). */
export class AfterForkVetoError extends Error {
  override readonly name = 'AfterForkVetoError';
  constructor() {
    super('an afterFork listener returned false');
  }
}

/** Errors crossing the child → parent IPC channel. */
export interface WireError {
  name: string;
  message: string;
  stack?: string;
}

export function toWireError(error: unknown): WireError {
  if (error instanceof Error) return { name: error.name, message: error.message, stack: error.stack };
  return { name: typeof error, message: String(error) };
}

export function fromWireError(wire: WireError): Error {
  const error = new Error(wire.message);
  error.name = wire.name;
  if (wire.stack !== undefined) error.stack = wire.stack;
  return error;
}

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

/** Inline mode: a job ran past its timeout (pool mode kills the child and records a DirtyExit instead). */
export class JobTimeoutError extends Error {
  override readonly name = 'JobTimeoutError';
  constructor(readonly timeoutMs: number) {
    super(`job exceeded its timeout of ${timeoutMs} ms`);
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

/** Base of the Do-Not errors: thrown by a listener (or hook) to veto what the event announces. */
export class ResqueVetoError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** php-resque's DontCreate: thrown from a beforeEnqueue listener, enqueue returns false and writes nothing. */
export class DoNotCreateError extends ResqueVetoError {
  constructor(message = 'job creation vetoed by a beforeEnqueue listener') {
    super(message);
  }
}

/** php-resque's DontPerform: thrown from beforePerform (or setUp), the job is skipped without a failure. */
export class DoNotPerformError extends ResqueVetoError {
  constructor(message = 'job skipped by a beforePerform listener') {
    super(message);
  }
}

/** resque-scheduler's before_schedule false: thrown from beforeSchedule, the delayed job is not scheduled. */
export class DoNotScheduleError extends ResqueVetoError {
  constructor(message = 'scheduling vetoed by a beforeSchedule listener') {
    super(message);
  }
}

/**
 * php-resque's onFailure listener stop: thrown from an onFailure listener (in the process that ran the job),
 * the failure is not written to `failed` (the job still counts as processed and its status reads FAILED).
 */
export class DoNotRecordFailureError extends ResqueVetoError {
  constructor(message = 'failure record stopped by an onFailure listener') {
    super(message);
  }
}

export function isVetoError(error: unknown): error is ResqueVetoError {
  return error instanceof ResqueVetoError;
}

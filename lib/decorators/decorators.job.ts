import { SetMetadata } from '@nestjs/common';
import {
  RESQUE_AFTER_PERFORM_METADATA,
  RESQUE_BEFORE_PERFORM_METADATA,
  RESQUE_JOB_METADATA,
  RESQUE_ON_FAILURE_METADATA,
  RESQUE_PERFORM_METADATA,
  RESQUE_SETUP_METADATA,
  RESQUE_TEARDOWN_METADATA,
} from './decorators.constants.js';
import { assertRetryPolicy } from '../policies/policy.retry.js';
import { checkClassThrottle } from '../policies/policy.throttle.js';
import type { JobMetadata, JobOptions } from './decorators.types.js';
import { assertUniqueOptions } from '../policies/policy.unique.js';

/**
 * Marks a provider class as the handler of Resque jobs of class `name` (the `class` member of the
 * payload, shared with Ruby/PHP producers). Register the class as a provider so DI can build it.
 */
export function Job(name: string, options: JobOptions = {}): ClassDecorator {
  if (typeof name !== 'string' || name.trim() === '') throw new TypeError('@Job(name): name must be a non-empty string');
  if (options === null || typeof options !== 'object') throw new TypeError('@Job(name, options): options must be an object');
  if (options.retry !== undefined) assertRetryPolicy(options.retry, `@Job('${name}') retry`);
  checkClassThrottle(name, options);
  if (options.unique !== undefined) assertUniqueOptions(options.unique, `@Job('${name}')`); // unique: validated before any enqueue
  const metadata: JobMetadata = { name, options };
  return SetMetadata(RESQUE_JOB_METADATA, metadata);
}

/** Runs before perform, in the same instance (php-resque's setUp). */
export const SetUp = (): MethodDecorator => SetMetadata(RESQUE_SETUP_METADATA, true);
/** The job body: receives `params` (args[0]) and a job context; its return value is the status result. */
export const Perform = (): MethodDecorator => SetMetadata(RESQUE_PERFORM_METADATA, true);
/** Runs after perform, also when perform threw (php-resque's tearDown). */
export const TearDown = (): MethodDecorator => SetMetadata(RESQUE_TEARDOWN_METADATA, true);

/** Per-job hook before setUp/perform; throw DoNotPerformError (or return false) to skip the job. */
export const BeforePerform = (): MethodDecorator => SetMetadata(RESQUE_BEFORE_PERFORM_METADATA, true);
/** Per-job hook after a successful perform. */
export const AfterPerform = (): MethodDecorator => SetMetadata(RESQUE_AFTER_PERFORM_METADATA, true);
/** Per-job hook when the job failed (receives the error). */
export const OnFailure = (): MethodDecorator => SetMetadata(RESQUE_ON_FAILURE_METADATA, true);

import { Logger } from '@nestjs/common';
import { errorMessage } from '../protocol/index.js';
import type { EnvLogLevel } from './env.common.js';

export interface StartupFailureOptions {
  /** NestFactory's option: `false` hands the error back to the caller instead of ending the process. */
  abortOnError?: boolean;
  /** The stack is logged at 'debug' (VVERBOSE) only. */
  logLevel?: EnvLogLevel;
}

/**
 * A host (worker, scheduler) that could not start: one line naming the cause (e.g. the Redis address and
 * ECONNREFUSED), then exit 1, as NestFactory does by default. A supervisor then sees a failed process, not
 * a live one doing nothing, nor a stack trace. With `abortOnError: false` the error is rethrown instead.
 */
export function failStartup(context: string, error: unknown, options: StartupFailureOptions): never {
  if (options.abortOnError === false) throw error;
  const logger = new Logger(context);
  const line = `could not start: ${errorMessage(error)}`;
  if (options.logLevel === 'debug' && error instanceof Error && error.stack) logger.error(line, error.stack);
  else logger.error(line);
  process.exit(1);
}

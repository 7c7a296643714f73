import { ConsoleLogger } from '@nestjs/common';
import { resqueLogLevels } from '../env/env.common.js';
import type { WorkerLogLevel } from './worker.options.js';

/** The streams whose TTY-ness decides colours (a parameter so the rule can be checked without a terminal). */
export interface LogStreams {
  stdout: { isTTY?: boolean };
  stderr: { isTTY?: boolean };
}

/**
 * ANSI colours only when both streams are terminals and NO_COLOR (https://no-color.org) is unset or empty.
 * Nest's ConsoleLogger checks NO_COLOR but colours a pipe or a file too.
 */
export function logColors(env: Readonly<Record<string, string | undefined>> = process.env, streams: LogStreams = process): boolean {
  const noColor = env['NO_COLOR'];
  return (noColor === undefined || noColor === '') && streams.stdout.isTTY === true && streams.stderr.isTTY === true;
}

/**
 * The logger of the worker's processes at the LOGGING/VERBOSE/VVERBOSE level (see resqueLogLevels). A pool
 * child's stderr is a pipe to the host: the host passes its decision on as NO_COLOR (see childLogEnv).
 */
export function workerLogger(level: WorkerLogLevel | undefined, role: 'parent' | 'child'): ConsoleLogger {
  const colors = role === 'parent' ? logColors() : !process.env['NO_COLOR'];
  return new ConsoleLogger({ logLevels: resqueLogLevels(level, role), colors });
}

/** Env for a pool child: NO_COLOR=1 when the host does not colour (the child's own check cannot see our TTY). */
export function childLogEnv(): Record<string, string> {
  return logColors() ? {} : { NO_COLOR: '1' };
}

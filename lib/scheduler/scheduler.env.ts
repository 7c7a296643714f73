import { resqueLogLevels, schedulerOptionsFromEnv, type Env, type EnvLogLevel } from '../env/index.js';
import type { ResqueAppOptions } from '../resque.host-types.js';
import type { SchedulerOptions } from './scheduler.types.js';

/** ResqueSchedulerHost options: the scheduler's own plus process concerns (logs, PIDFILE, signals). */
export interface ResqueSchedulerHostOptions extends SchedulerOptions {
  /** LOGGING/VERBOSE ('verbose') or VVERBOSE ('debug'). */
  logLevel?: EnvLogLevel;
  /** Write the pid here (PIDFILE); removed on exit. */
  pidFile?: string;
  /** Stop on SIGTERM/SIGINT/SIGQUIT (default true). */
  handleSignals?: boolean;
  /** Options for NestFactory.createApplicationContext. */
  appOptions?: ResqueAppOptions;
}

/**
 * Explicit options > php-resque-scheduler's environment (INTERVAL, PREFIX, REDIS_BACKEND(_DB),
 * LOGGING/VERBOSE/VVERBOSE, PIDFILE) > defaults. A bad variable throws an EnvConfigError naming it.
 */
export function resolveSchedulerHostOptions(explicit: ResqueSchedulerHostOptions = {}, env: Env = process.env): ResqueSchedulerHostOptions {
  const fromEnv = schedulerOptionsFromEnv(env);
  const merged: ResqueSchedulerHostOptions = {};
  if (fromEnv.interval !== undefined) merged.interval = fromEnv.interval;
  if (fromEnv.namespace !== undefined) merged.namespace = fromEnv.namespace;
  if (fromEnv.connection !== undefined) merged.connection = fromEnv.connection;
  if (fromEnv.logLevel !== undefined) merged.logLevel = fromEnv.logLevel;
  if (fromEnv.pidFile !== undefined) merged.pidFile = fromEnv.pidFile;
  for (const [key, value] of Object.entries(explicit)) {
    if (value !== undefined) (merged as Record<string, unknown>)[key] = value;
  }
  return merged;
}

/** Nest log levels for the env's verbosity: errors, warnings and lifecycle lines always; more on request. */
export function schedulerLogLevels(level: EnvLogLevel | undefined): NonNullable<ResqueAppOptions['logger']> {
  return resqueLogLevels(level);
}

import type { RedisOptions } from 'ioredis';
import { envAppInclude, envLogLevel, envNamespace, envPidFile, envSeconds, type Env, type EnvLogLevel } from './env.common.js';
import { redisOptionsFromEnv } from './env.redis-backend.js';

/**
 * php-resque-scheduler's variables (resque-protocol.md §11): PREFIX, INTERVAL (seconds; fractions allowed
 * here too), LOGGING/VERBOSE/VVERBOSE, PIDFILE, REDIS_BACKEND(_DB), APP_INCLUDE. Only set variables appear.
 */
export interface SchedulerEnvOptions {
  namespace?: string;
  interval?: number;
  logLevel?: EnvLogLevel;
  pidFile?: string;
  connection?: RedisOptions;
  appInclude?: string;
}

export function schedulerOptionsFromEnv(env: Env = process.env): SchedulerEnvOptions {
  return processOptionsFromEnv(env);
}

/** The variables php-resque's worker and scheduler share: PREFIX, INTERVAL, LOGGING/VERBOSE/VVERBOSE, PIDFILE, REDIS_BACKEND(_DB), APP_INCLUDE. */
export function processOptionsFromEnv(env: Env): SchedulerEnvOptions {
  const options: SchedulerEnvOptions = {};
  const namespace = envNamespace(env);
  if (namespace !== undefined) options.namespace = namespace;
  const interval = envSeconds(env, 'INTERVAL');
  if (interval !== undefined) options.interval = interval;
  const logLevel = envLogLevel(env);
  if (logLevel !== undefined) options.logLevel = logLevel;
  const pidFile = envPidFile(env);
  if (pidFile !== undefined) options.pidFile = pidFile;
  const connection = redisOptionsFromEnv(env);
  if (connection !== undefined) options.connection = connection;
  const appInclude = envAppInclude(env);
  if (appInclude !== undefined) options.appInclude = appInclude;
  return options;
}

import type { RedisOptions } from 'ioredis';
import type { ResqueWorkerHostOptions } from '../worker/worker.options.js';
import { processOptionsFromEnv } from './env.scheduler.js';
import {
  EnvConfigError,
  envPositiveInt,
  envPresent,
  envSecondsAsMs,
  envValue,
  type Env,
  type EnvLogLevel,
} from './env.common.js';

/**
 * php-resque's worker variables (resque-protocol.md §11) read into worker options. Only variables that are
 * set appear in the result, so `ResqueWorkerHost.run(Module, explicit)` can merge explicit > env > defaults.
 *
 * | Var | Option | Notes |
 * |---|---|---|
 * | QUEUE (or Ruby's QUEUES) | queues | comma list, names trimmed; `*` = every queue; required by the CLI worker |
 * | COUNT | concurrency | positive integer |
 * | PREFIX | namespace | `foo` and `foo:` are the same |
 * | INTERVAL | interval | seconds, fractions allowed; returned as given (never truncated to 0 = block forever) |
 * | BLOCKING | blocking | **any value, even `0` or empty, enables it** (php's `getenv() !== false`) |
 * | LOGGING / VERBOSE | logLevel 'verbose' | off when unset, empty or "0" (php's `empty()`) |
 * | VVERBOSE | logLevel 'debug' | wins over VERBOSE |
 * | PIDFILE | pidFile | absolute path |
 * | REDIS_BACKEND, REDIS_BACKEND_DB | connection | see env.redis-backend.ts; a db in the DSN wins |
 * | APP_INCLUDE | appInclude | absolute path; a missing file is an error (import it with importAppInclude) |
 * | RESQUE_PRE_SHUTDOWN_TIMEOUT | preShutdownTimeoutMs | Ruby's: seconds >= 0, fractions allowed, read as ms |
 * | RESQUE_TERM_TIMEOUT | termTimeoutMs | Ruby's: seconds >= 0, fractions allowed, read as ms |
 */
export interface WorkerEnvOptions
  extends Pick<ResqueWorkerHostOptions, 'concurrency' | 'namespace' | 'interval' | 'blocking' | 'pidFile' | 'preShutdownTimeoutMs' | 'termTimeoutMs'> {
  queues?: string[];
  logLevel?: EnvLogLevel;
  connection?: RedisOptions;
  /** Not a host option: the CLI imports it before loading the module (importAppInclude). */
  appInclude?: string;
}

export function workerOptionsFromEnv(env: Env = process.env): WorkerEnvOptions {
  // Validated in php's order of importance: the worker's own variables, then the shared ones.
  const options: WorkerEnvOptions = {};
  const queues = envQueues(env);
  if (queues !== undefined) options.queues = queues;
  const count = envPositiveInt(env, 'COUNT');
  if (count !== undefined) options.concurrency = count;
  if (envPresent(env, 'BLOCKING')) options.blocking = true;
  const preShutdown = envSecondsAsMs(env, 'RESQUE_PRE_SHUTDOWN_TIMEOUT');
  if (preShutdown !== undefined) options.preShutdownTimeoutMs = preShutdown;
  const term = envSecondsAsMs(env, 'RESQUE_TERM_TIMEOUT');
  if (term !== undefined) options.termTimeoutMs = term;
  return { ...options, ...processOptionsFromEnv(env) };
}

/** QUEUE (php) or QUEUES (Ruby): a comma list; an empty entry (`a,,b`) is an error rather than a queue named "". */
export function envQueues(env: Env): string[] | undefined {
  const name = envValue(env, 'QUEUE') !== undefined ? 'QUEUE' : 'QUEUES';
  const raw = envValue(env, name);
  if (raw === undefined) return undefined;
  const queues = raw.split(',').map((q) => q.trim());
  if (queues.some((q) => q === '')) {
    throw new EnvConfigError(name, raw, 'must be a comma-separated list of queue names (or *)');
  }
  return [...new Set(queues)];
}

/** The CLI worker cannot guess which queues to work: like php-resque, QUEUE is required there. */
export function requireQueues(env: Env): string[] {
  const queues = envQueues(env);
  if (queues === undefined) {
    throw new EnvConfigError('QUEUE', env['QUEUE'] ?? '', 'is required: set QUEUE=default (a comma list; * = every queue)');
  }
  return queues;
}

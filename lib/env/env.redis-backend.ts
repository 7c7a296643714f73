import type { RedisOptions } from 'ioredis';
import { parseRedisBackend } from '../connection/connection.parse.js';
import { EnvConfigError, envNonNegativeInt, envValue, type Env } from './env.common.js';

/**
 * php-resque's REDIS_BACKEND / REDIS_BACKEND_DB (resque-protocol.md §11) as ioredis options, parsed by the
 * connection's own `parseRedisBackend` so the module and the env accept the same forms: `host[:port]`,
 * `redis://[user:pass@]host[:port][/db][?timeout=<s>]`, `tcp://…`, `rediss://…`, `unix:///path.sock`.
 * A db in the DSN wins over REDIS_BACKEND_DB. Unlike php-resque, which reads REDIS_BACKEND_DB only together
 * with REDIS_BACKEND, REDIS_BACKEND_DB alone selects a db on localhost:6379 (php's default backend).
 */
export const DEFAULT_REDIS_BACKEND = 'localhost:6379';

/** The connection the env asks for, or undefined when neither variable is set (the module's config then applies). */
export function redisOptionsFromEnv(env: Env): RedisOptions | undefined {
  const backend = envValue(env, 'REDIS_BACKEND');
  const dbText = envValue(env, 'REDIS_BACKEND_DB');
  if (backend === undefined && dbText === undefined) return undefined;
  // Validated here first so the error names REDIS_BACKEND_DB whatever the backend.
  const db = envNonNegativeInt(env, 'REDIS_BACKEND_DB');
  try {
    return parseRedisBackend(backend ?? DEFAULT_REDIS_BACKEND, db);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new EnvConfigError('REDIS_BACKEND', backend ?? '', `must be host:port, redis://[user:pass@]host:port[/db], tcp://…, rediss://… or unix:///path (${reason})`);
  }
}

import { Redis, type RedisOptions } from 'ioredis';
import { DEFAULT_REDIS_HOST, DEFAULT_REDIS_PORT, parseRedisBackend } from '../env/env.redis-backend.js';
import type { ResqueConnectionInput } from '../resque.options.js';
import { isClusterClient, isClusterConnection, parseClusterConnection } from './connection.cluster.js';
import type { ResqueClusterConnection, ResqueRedis } from './connection.types.js';


/** An existing ioredis Redis client, not a Cluster (checked structurally too, in case two copies of ioredis are installed). */
export function isRedisClient(value: unknown): value is Redis {
  if (value instanceof Redis) return true;
  if (!value || typeof value !== 'object' || isClusterClient(value)) return false;
  const v = value as Record<string, unknown>;
  return typeof v['sendCommand'] === 'function' && typeof v['duplicate'] === 'function' && typeof v['options'] === 'object';
}

/**
 * Turns any accepted connection form into ioredis options or `{ cluster, clusterOptions }`, or returns the
 * given client (Redis or Cluster) untouched.
 * Strings: `redis://[user:pass@]host[:port][/db]`, `rediss://…` (TLS), `tcp://host:port`, `unix:///path.sock`,
 * php's `host[:port]` and Ruby's `host:port:db`.
 */
export function parseConnectionInput(input: ResqueConnectionInput | undefined | null): RedisOptions | ResqueClusterConnection | ResqueRedis {
  if (input === undefined || input === null) return { host: DEFAULT_REDIS_HOST, port: DEFAULT_REDIS_PORT, db: 0 };
  if (typeof input === 'string') return parseRedisBackend(input);
  if (isClusterClient(input) || isRedisClient(input)) return input;
  if (typeof input !== 'object' || Array.isArray(input)) {
    throw new TypeError('connection must be a Redis URL, "host:port", ioredis options, { cluster: [...] } or an ioredis client');
  }
  if (isClusterConnection(input)) return parseClusterConnection(input);
  return { ...input };
}

/** `host:port/db`, `sentinel:<name>@h:p,h:p/db` or `unix:<path>/db`: what error messages and logs show. */
export function describeAddress(options: RedisOptions): string {
  const db = options.db ?? 0;
  if (options.sentinels && options.sentinels.length > 0) {
    const list = options.sentinels.map((s) => `${s.host ?? 'localhost'}:${s.port ?? 26379}`).join(',');
    return `sentinel:${options.name ?? 'mymaster'}@${list}/${db}`;
  }
  if (options.path) return `unix:${options.path}/${db}`;
  return `${options.host ?? 'localhost'}:${options.port ?? DEFAULT_REDIS_PORT}/${db}`;
}

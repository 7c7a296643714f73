import type { RedisOptions } from 'ioredis';
import { EnvConfigError, envNonNegativeInt, envValue, type Env } from './env.common.js';

/** Where Redis is when a connection form leaves it out. */
export const DEFAULT_REDIS_HOST = '127.0.0.1';
export const DEFAULT_REDIS_PORT = 6379;

/**
 * php-resque's REDIS_BACKEND / REDIS_BACKEND_DB (resque-protocol.md §11) as ioredis options, parsed by
 * `parseRedisBackend` (below), which ResqueConnection also uses for connection strings, so the module and
 * the env accept the same forms: `host[:port]`,
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

/**
 * php-resque's REDIS_BACKEND (and REDIS_BACKEND_DB): a db index in the DSN wins over `db`.
 * Unknown query parameters (php's `persistent`) are ignored; `timeout` (seconds) sets connectTimeout.
 */
export function parseRedisBackend(backend: string, db?: string | number | null): RedisOptions {
  if (typeof backend !== 'string') throw new TypeError('REDIS_BACKEND must be a string');
  const text = backend.trim();
  if (text === '') throw new RangeError('REDIS_BACKEND must not be empty');
  const fallbackDb = parseDb(db, 'REDIS_BACKEND_DB');
  let options: RedisOptions;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) options = parseUrl(text);
  else options = parseHostPort(text);
  if (options.db === undefined) options.db = fallbackDb ?? 0;
  return options;
}

/** Where a URL points: a unix socket, or host, port, db (from the path) and TLS for rediss://. */
function urlTarget(url: URL, text: string): RedisOptions {
  const scheme = url.protocol.slice(0, -1).toLowerCase();
  if (scheme === 'unix') {
    const path = decodeURIComponent(url.pathname);
    if (!path) throw new RangeError(`connection URL "${text}" names no socket path`);
    return { path };
  }
  if (scheme !== 'redis' && scheme !== 'rediss' && scheme !== 'tcp') {
    throw new RangeError(`connection URL scheme "${scheme}:" is not supported (use redis://, rediss://, tcp:// or unix://)`);
  }
  const options: RedisOptions = {
    host: url.hostname ? url.hostname.replace(/^\[(.*)\]$/, '$1') : DEFAULT_REDIS_HOST,
    port: url.port ? Number(url.port) : DEFAULT_REDIS_PORT,
  };
  const dbPath = url.pathname.replace(/^\/+/, '');
  if (dbPath !== '') options.db = parseDb(dbPath, 'the database index in the connection URL');
  if (scheme === 'rediss') options.tls = {};
  return options;
}

function parseUrl(text: string): RedisOptions {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new RangeError(`connection URL "${text}" is not a valid URL`);
  }
  const options = urlTarget(url, text);
  if (url.username) options.username = decodeURIComponent(url.username);
  if (url.password) options.password = decodeURIComponent(url.password);
  const dbParam = url.searchParams.get('db') ?? url.searchParams.get('database');
  if (dbParam !== null && options.db === undefined) options.db = parseDb(dbParam, 'the db parameter of the connection URL');
  const timeout = url.searchParams.get('timeout');
  if (timeout !== null && Number(timeout) > 0) options.connectTimeout = Math.round(Number(timeout) * 1000);
  return options;
}

function parseHostPort(text: string): RedisOptions {
  // Ruby's `host:port:db/namespace`: the namespace part is configured separately here.
  const [address = ''] = text.split('/');
  const parts = address.split(':');
  if (parts.length > 3 || parts[0] === '') {
    throw new RangeError(`connection "${text}" is not "host:port" (or a redis:// URL)`);
  }
  const options: RedisOptions = { host: parts[0], port: DEFAULT_REDIS_PORT };
  if (parts[1] !== undefined && parts[1] !== '') {
    const port = Number(parts[1]);
    if (!Number.isInteger(port) || port <= 0 || port > 65535) {
      throw new RangeError(`connection "${text}" has an invalid port "${parts[1]}"`);
    }
    options.port = port;
  }
  if (parts[2] !== undefined && parts[2] !== '') options.db = parseDb(parts[2], `the database index in "${text}"`);
  return options;
}

function parseDb(value: string | number | null | undefined, what: string): number | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  const n = typeof value === 'number' ? value : Number(value);
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`${what} must be a non-negative integer, got "${value}"`);
  return n;
}

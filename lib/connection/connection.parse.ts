import { Redis, type RedisOptions } from 'ioredis';
import type { ResqueConnectionInput } from '../resque.options.js';
import { isClusterClient, isClusterConnection, parseClusterConnection } from './connection.cluster.js';
import type { ResqueClusterConnection, ResqueRedis } from './connection.types.js';

const DEFAULT_HOST = '127.0.0.1';
const DEFAULT_PORT = 6379;

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
  if (input === undefined || input === null) return { host: DEFAULT_HOST, port: DEFAULT_PORT, db: 0 };
  if (typeof input === 'string') return parseRedisBackend(input);
  if (isClusterClient(input) || isRedisClient(input)) return input;
  if (typeof input !== 'object' || Array.isArray(input)) {
    throw new TypeError('connection must be a Redis URL, "host:port", ioredis options, { cluster: [...] } or an ioredis client');
  }
  if (isClusterConnection(input)) return parseClusterConnection(input);
  return { ...input };
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

function parseUrl(text: string): RedisOptions {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new RangeError(`connection URL "${text}" is not a valid URL`);
  }
  const scheme = url.protocol.slice(0, -1).toLowerCase();
  const options: RedisOptions = {};
  if (scheme === 'unix') {
    options.path = decodeURIComponent(url.pathname);
    if (!options.path) throw new RangeError(`connection URL "${text}" names no socket path`);
  } else if (scheme === 'redis' || scheme === 'rediss' || scheme === 'tcp') {
    options.host = url.hostname ? url.hostname.replace(/^\[(.*)\]$/, '$1') : DEFAULT_HOST;
    options.port = url.port ? Number(url.port) : DEFAULT_PORT;
    const dbPath = url.pathname.replace(/^\/+/, '');
    if (dbPath !== '') options.db = parseDb(dbPath, 'the database index in the connection URL');
    if (scheme === 'rediss') options.tls = {};
  } else {
    throw new RangeError(`connection URL scheme "${scheme}:" is not supported (use redis://, rediss://, tcp:// or unix://)`);
  }
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
  const [address] = text.split('/');
  const parts = address!.split(':');
  if (parts.length > 3 || parts[0] === '') {
    throw new RangeError(`connection "${text}" is not "host:port" (or a redis:// URL)`);
  }
  const options: RedisOptions = { host: parts[0], port: DEFAULT_PORT };
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

/** `host:port/db`, `sentinel:<name>@h:p,h:p/db` or `unix:<path>/db`: what error messages and logs show. */
export function describeAddress(options: RedisOptions): string {
  const db = options.db ?? 0;
  if (options.sentinels && options.sentinels.length > 0) {
    const list = options.sentinels.map((s) => `${s.host ?? 'localhost'}:${s.port ?? 26379}`).join(',');
    return `sentinel:${options.name ?? 'mymaster'}@${list}/${db}`;
  }
  if (options.path) return `unix:${options.path}/${db}`;
  return `${options.host ?? 'localhost'}:${options.port ?? DEFAULT_PORT}/${db}`;
}

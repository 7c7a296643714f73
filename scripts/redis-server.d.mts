import type { Redis } from 'ioredis';

/** A private redis-server on a free 127.0.0.1 port (see redis-server.mjs). */
export interface RedisServer {
  readonly port: number;
  readonly host: string;
  /** redis://127.0.0.1:<port> */
  readonly url: string;
  /** The current redis-server process (a new one after restart()). */
  readonly pid: number | undefined;
  /** redis_version from INFO. */
  readonly version: string;
  /** A new ioredis client to this server (closed by stop()). */
  client(db?: number): Redis;
  /** SHUTDOWN (the server saves its AOF/RDB if configured), then the same server again on the same port and dir. */
  restart(downMs?: number): Promise<void>;
  /** Closes the clients, stops the server by its pid and removes its directory. */
  stop(): Promise<void>;
}

export interface StartRedisOptions {
  /** Pin redis-server to this CPU list with taskset (when `taskset` is its path). */
  cpu?: string | null;
  taskset?: string | null;
  /** Extra redis-server arguments, after ours (so `--appendonly yes` wins over the default `no`). */
  args?: string[];
  /** Extra environment for the redis-server process. */
  env?: Record<string, string>;
}

export function startRedis(options?: StartRedisOptions): Promise<RedisServer>;
export function freePort(): Promise<number>;
export function which(binary: string): string | null;

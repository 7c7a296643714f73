import type { StartRedisOptions } from './redis-server.mjs';

/** A private Redis Cluster of real redis-servers on free 127.0.0.1 ports (see redis-cluster.mjs). */
export interface RedisCluster {
  readonly ports: readonly number[];
  /** Startup nodes for `new Cluster(...)` or ResqueModule's `{ cluster: [...] }`. */
  readonly nodes: ReadonlyArray<{ host: string; port: number }>;
  /** The redis-server pids (for pinning checks and diagnostics). */
  pids(): Array<number | undefined>;
  /** redis_version of the first node. */
  readonly version: string;
  /** Stops every node by its pid and removes their directories. */
  stop(): Promise<void>;
}

export function startRedisCluster(size?: number, options?: StartRedisOptions): Promise<RedisCluster>;

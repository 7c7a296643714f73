import type { Cluster, ClusterNode, ClusterOptions, Redis } from 'ioredis';

/** The client our commands, scripts, MULTIs and pipelines run on: one Redis (standalone/Sentinel) or a Cluster. */
export type ResqueRedis = Redis | Cluster;

/**
 * A Redis Cluster we create (and close on shutdown): `{ cluster: [{ host, port }, …], clusterOptions? }`.
 * `cluster` lists the startup nodes (any of `{ host, port }`, `'host:port'` or a port number, as ioredis
 * accepts); `clusterOptions` are ioredis ClusterOptions (per-node settings such as `password` or `tls` go
 * under `clusterOptions.redisOptions`). The namespace must then carry a hash tag, e.g. `'{resque}'`.
 */
export interface ResqueClusterConnection {
  cluster: ClusterNode[];
  clusterOptions?: ClusterOptions;
}

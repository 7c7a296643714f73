// The tests' Redis Cluster: the repository's one cluster launcher (scripts/redis-cluster.mjs), with its types.
import type { RedisCluster } from '../../scripts/redis-cluster.mjs';

export { startRedisCluster } from '../../scripts/redis-cluster.mjs';

/** A private Redis Cluster of real redis-servers on free 127.0.0.1 ports, for one test file. */
export type TestRedisCluster = RedisCluster;

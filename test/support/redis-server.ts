// The tests' redis-server: the repository's one launcher (scripts/redis-server.mjs), with its types.
import type { RedisServer } from '../../scripts/redis-server.mjs';

export { freePort, startRedis } from '../../scripts/redis-server.mjs';
export type { StartRedisOptions } from '../../scripts/redis-server.mjs';

/** A private redis-server on a free 127.0.0.1 port, started for one test file and stopped after it. */
export type TestRedis = RedisServer;

// A private Redis Cluster for the tests (test/support/redis-cluster.ts) and `npm run bench` (the
// pool-4-cluster scenario): `size` cluster-enabled masters, no replicas, each started by the repository's
// one redis-server launcher (redis-server.mjs: free 127.0.0.1 port, own dir, optional taskset). Types:
// redis-cluster.d.mts.
import { spawnSync } from 'node:child_process';
import { Redis } from 'ioredis';
import { startRedis } from './redis-server.mjs';

const HOST = '127.0.0.1';

/**
 * One node gets every slot with CLUSTER ADDSLOTSRANGE; more nodes are joined with
 * `redis-cli --cluster create`. Resolves once every node reports `cluster_state:ok`.
 */
export async function startRedisCluster(size = 1, options = {}) {
  const servers = [];
  const stop = () => Promise.all(servers.map((s) => s.stop()));
  try {
    const args = ['--cluster-enabled', 'yes', '--cluster-announce-ip', HOST, '--cluster-config-file', 'nodes.conf'];
    // Started one at a time: startRedis picks a free port and retries on a clash.
    for (let i = 0; i < size; i++) servers.push(await startRedis({ ...options, args: [...args, ...(options.args ?? [])] }));
    const ports = servers.map((s) => s.port);
    if (size === 1) {
      await withClient(ports[0], (c) => c.call('CLUSTER', 'ADDSLOTSRANGE', '0', '16383'));
    } else {
      const created = spawnSync('redis-cli', ['--cluster', 'create', ...ports.map((p) => `${HOST}:${p}`), '--cluster-yes'], {
        encoding: 'utf8',
        timeout: 20_000,
      });
      if (created.status !== 0) throw new Error(`redis-cli --cluster create failed: ${created.stderr || created.stdout || created.error?.message}`);
    }
    for (const port of ports) await waitFor(port, async (c) => String(await c.call('CLUSTER', 'INFO')).includes('cluster_state:ok'));
    return {
      ports,
      nodes: ports.map((port) => ({ host: HOST, port })),
      pids: () => servers.map((s) => s.pid),
      version: servers[0].version,
      stop: async () => {
        await stop();
      },
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

async function withClient(port, fn) {
  const client = new Redis({ port, host: HOST, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return await fn(client);
  } finally {
    client.disconnect();
  }
}

async function waitFor(port, check) {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    try {
      if (await withClient(port, check)) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`redis cluster node on port ${port} did not reach cluster_state:ok`);
}

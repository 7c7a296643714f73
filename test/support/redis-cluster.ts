import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from './redis-server.js';

/** A private Redis Cluster of real redis-servers on free 127.0.0.1 ports, for one test file. */
export interface TestRedisCluster {
  readonly ports: readonly number[];
  /** Startup nodes for `new Cluster(...)`. */
  readonly nodes: ReadonlyArray<{ host: string; port: number }>;
  stop(): Promise<void>;
}

/**
 * Starts `size` cluster-enabled masters (no replicas). One node gets every slot with
 * CLUSTER ADDSLOTSRANGE; more nodes are joined with `redis-cli --cluster create`. Resolves once every
 * node reports `cluster_state:ok`.
 */
export async function startRedisCluster(size = 1): Promise<TestRedisCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'nestjs-resque-cluster-'));
  const procs: ChildProcess[] = [];
  const ports: number[] = [];
  const stop = async () => {
    await Promise.all(procs.map((proc) => stopProcess(proc)));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < size; i++) {
      const port = await freePort();
      const proc = spawn(
        'redis-server',
        [
          '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir,
          '--cluster-enabled', 'yes', '--cluster-announce-ip', '127.0.0.1', '--cluster-config-file', join(dir, `nodes-${port}.conf`), '--loglevel', 'warning',
        ],
        { stdio: ['ignore', 'ignore', 'pipe'] },
      );
      procs.push(proc);
      ports.push(port);
    }
    for (const port of ports) await waitFor(port, async (c) => (await c.ping()) === 'PONG');
    if (size === 1) {
      await withClient(ports[0]!, (c) => c.call('CLUSTER', 'ADDSLOTSRANGE', '0', '16383'));
    } else {
      const created = spawnSync('redis-cli', ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-yes'], {
        encoding: 'utf8',
        timeout: 20_000,
      });
      if (created.status !== 0) throw new Error(`redis-cli --cluster create failed: ${created.stderr || created.stdout}`);
    }
    for (const port of ports) {
      await waitFor(port, async (c) => String(await c.call('CLUSTER', 'INFO')).includes('cluster_state:ok'));
    }
    return { ports, nodes: ports.map((port) => ({ host: '127.0.0.1', port })), stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

async function withClient<T>(port: number, fn: (client: Redis) => Promise<T>): Promise<T> {
  const client = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return await fn(client);
  } finally {
    client.disconnect();
  }
}

async function waitFor(port: number, check: (client: Redis) => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    try {
      if (await withClient(port, check)) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`redis cluster node on port ${port} did not become ready`);
}

async function stopProcess(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise((r) => proc.once('exit', r));
  proc.kill('SIGTERM');
  await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
  if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
}

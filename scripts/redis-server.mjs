// The one private redis-server launcher of the repository (tests via test/support/redis-server.ts, `npm run
// bench`, `npm run sample`): a free 127.0.0.1 port (never 6379), no persistence, its own temp dir,
// optionally pinned to a CPU with taskset. Stopped by its own pid. Types: redis-server.d.mts.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';

const HOST = '127.0.0.1';

/** The absolute path of an executable on PATH, or null. */
export function which(binary) {
  const found = spawnSync('sh', ['-c', `command -v ${binary}`], { encoding: 'utf8' });
  const path = found.stdout.trim();
  return found.status === 0 && path ? path : null;
}

/** A free 127.0.0.1 port, never Redis's default 6379 (someone's real Redis may want it). */
export async function freePort() {
  for (;;) {
    const port = await new Promise((resolve, reject) => {
      const server = createServer();
      server.unref();
      server.on('error', reject);
      server.listen(0, HOST, () => {
        const address = server.address();
        server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
      });
    });
    if (port && port !== 6379) return port;
  }
}

export async function startRedis(options = {}) {
  const binary = which('redis-server');
  if (!binary) {
    throw new Error('redis-server was not found on PATH: install the Debian package "redis-server" (apt-get install -y redis-server).');
  }
  const dir = mkdtempSync(join(tmpdir(), 'nestjs-resque-redis-'));
  let lastError;
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    const spawnServer = () => spawnRedis(binary, port, dir, options);
    const { proc, stderr } = spawnServer();
    try {
      const version = await waitForPing(port, proc);
      return handle(port, proc, dir, version, spawnServer);
    } catch (error) {
      lastError = new Error(`${error.message}${stderr() ? `: ${stderr().trim()}` : ''}`);
      proc.kill('SIGKILL');
    }
  }
  rmSync(dir, { recursive: true, force: true });
  throw new Error(`could not start redis-server: ${lastError?.message}`);
}

/** One redis-server process on `port` in `dir`; `args` come after ours, so `--appendonly yes` wins. */
function spawnRedis(binary, port, dir, { cpu = null, taskset = null, args = [], env = {} }) {
  const redisArgs = ['--port', String(port), '--bind', HOST, '--save', '', '--appendonly', 'no', '--dir', dir, '--loglevel', 'warning', ...args];
  const spawnOptions = { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...env } };
  // taskset execs redis-server, so the pid we hold is redis-server's own.
  const proc = cpu !== null && taskset ? spawn(taskset, ['-c', cpu, binary, ...redisArgs], spawnOptions) : spawn(binary, redisArgs, spawnOptions);
  let stderr = '';
  proc.stderr.on('data', (d) => (stderr += d));
  return { proc, stderr: () => stderr };
}

/** Resolves with the server's version once it answers PING. */
async function waitForPing(port, proc) {
  let exited = false;
  proc.once('exit', () => (exited = true));
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (exited) throw new Error(`redis-server exited early on port ${port}`);
    const probe = new Redis({ port, host: HOST, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    probe.on('error', () => undefined);
    try {
      await probe.connect();
      await probe.ping();
      return (await probe.info('server')).match(/redis_version:(\S+)/)?.[1] ?? '?';
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    } finally {
      probe.disconnect();
    }
  }
  throw new Error(`redis-server did not answer on port ${port}`);
}

function handle(port, first, dir, version, respawn) {
  const clients = [];
  let proc = first;
  return {
    port,
    host: HOST,
    url: `redis://${HOST}:${port}`,
    get pid() {
      return proc.pid;
    },
    version,
    client(db = 0) {
      const c = new Redis({ port, host: HOST, db });
      clients.push(c);
      return c;
    },
    async restart(downMs = 0) {
      const exited = new Promise((r) => proc.once('exit', r));
      const admin = new Redis({ port, host: HOST, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      admin.on('error', () => undefined);
      // SHUTDOWN saves (AOF/RDB when configured) and closes the connection instead of replying.
      await admin.call('SHUTDOWN').catch(() => undefined);
      admin.disconnect();
      await exited;
      if (downMs > 0) await new Promise((r) => setTimeout(r, downMs));
      proc = respawn().proc;
      await waitForPing(port, proc);
    },
    async stop() {
      await Promise.all(clients.map((c) => c.quit().catch(() => c.disconnect())));
      if (proc.exitCode === null && proc.signalCode === null) {
        const exited = new Promise((r) => proc.once('exit', r));
        proc.kill('SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
        if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

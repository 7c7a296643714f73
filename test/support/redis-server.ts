import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';

/** A private redis-server on a free 127.0.0.1 port, started for one test file and stopped after it. */
export interface TestRedis {
  readonly port: number;
  readonly host: string;
  /** redis://127.0.0.1:<port> */
  readonly url: string;
  /** The current redis-server process (a new one after restart()). */
  readonly pid: number;
  /** A new ioredis client to this server (closed by stop()). */
  client(db?: number): Redis;
  /** SHUTDOWN (the server saves its AOF/RDB if configured), then start it again on the same port and dir. */
  restart(downMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export interface StartRedisOptions {
  /** Extra redis-server arguments, after ours (so `--appendonly yes` wins over the default `no`). */
  args?: string[];
  /** Extra environment for the redis-server process. */
  env?: Record<string, string>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function redisServerBinary(): string {
  const found = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' });
  const path = found.stdout.trim();
  if (found.status !== 0 || !path) {
    throw new Error(
      'redis-server was not found on PATH. The tests need a real Redis: install the Debian package ' +
        '"redis-server" (apt-get install -y redis-server).',
    );
  }
  return path;
}

function spawnServer(binary: string, port: number, dir: string, options: StartRedisOptions): ChildProcess {
  return spawn(
    binary,
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--loglevel', 'warning', ...(options.args ?? [])],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...options.env } },
  );
}

export async function startRedis(options: StartRedisOptions = {}): Promise<TestRedis> {
  const binary = redisServerBinary();
  const dir = mkdtempSync(join(tmpdir(), 'nestjs-resque-redis-'));
  let lastError: unknown;
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    const proc = spawnServer(binary, port, dir, options);
    try {
      await waitForPing(port, proc);
      return makeHandle(port, proc, dir, () => spawnServer(binary, port, dir, options));
    } catch (error) {
      lastError = error;
      proc.kill('SIGKILL');
    }
  }
  rmSync(dir, { recursive: true, force: true });
  throw new Error(`could not start redis-server: ${String(lastError)}`);
}

async function waitForPing(port: number, proc: ChildProcess): Promise<void> {
  let exited = false;
  proc.once('exit', () => (exited = true));
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (exited) throw new Error(`redis-server exited early on port ${port}`);
    const probe = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    probe.on('error', () => undefined);
    try {
      await probe.connect();
      await probe.ping();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    } finally {
      probe.disconnect();
    }
  }
  throw new Error(`redis-server did not answer on port ${port}`);
}

function makeHandle(port: number, first: ChildProcess, dir: string, respawn: () => ChildProcess): TestRedis {
  const clients: Redis[] = [];
  let proc = first;
  return {
    port,
    host: '127.0.0.1',
    url: `redis://127.0.0.1:${port}`,
    get pid() {
      return proc.pid!;
    },
    client(db = 0) {
      const c = new Redis({ port, host: '127.0.0.1', db });
      clients.push(c);
      return c;
    },
    async restart(downMs = 0) {
      const exited = new Promise((r) => proc.once('exit', r));
      const admin = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      admin.on('error', () => undefined);
      // SHUTDOWN closes the connection instead of replying.
      await admin.call('SHUTDOWN').catch(() => undefined);
      admin.disconnect();
      await exited;
      if (downMs > 0) await new Promise((r) => setTimeout(r, downMs));
      proc = respawn();
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

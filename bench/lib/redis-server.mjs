// A private redis-server for one bench run: free 127.0.0.1 port (never 6379), no persistence,
// optionally pinned with taskset. Stopped by pid at the end of the run.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';

export function which(binary) {
  const found = spawnSync('sh', ['-c', `command -v ${binary}`], { encoding: 'utf8' });
  const path = found.stdout.trim();
  return found.status === 0 && path ? path : null;
}

export async function freePort() {
  for (;;) {
    const port = await new Promise((resolve, reject) => {
      const server = createServer();
      server.unref();
      server.on('error', reject);
      server.listen(0, '127.0.0.1', () => {
        const address = server.address();
        server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
      });
    });
    if (port && port !== 6379) return port;
  }
}

/** @param {{ cpu: string | null, taskset: string | null }} pin */
export async function startRedis(pin) {
  const binary = which('redis-server');
  if (!binary) {
    throw new Error('redis-server was not found on PATH: install the Debian package "redis-server" (apt-get install -y redis-server).');
  }
  const dir = mkdtempSync(join(tmpdir(), 'nestjs-resque-bench-redis-'));
  let lastError;
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    const redisArgs = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--loglevel', 'warning'];
    // taskset execs redis-server, so the pid we hold is redis-server's own.
    const proc = pin.cpu !== null && pin.taskset
      ? spawn(pin.taskset, ['-c', pin.cpu, binary, ...redisArgs], { stdio: ['ignore', 'ignore', 'pipe'] })
      : spawn(binary, redisArgs, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    proc.stderr.on('data', (d) => (stderr += d));
    try {
      await waitForPing(port, proc);
      const client = new Redis({ port, host: '127.0.0.1' });
      const version = (await client.info('server')).match(/redis_version:(\S+)/)?.[1] ?? '?';
      return {
        port,
        url: `redis://127.0.0.1:${port}`,
        pid: proc.pid,
        version,
        client,
        async stop() {
          await client.quit().catch(() => client.disconnect());
          if (proc.exitCode === null && proc.signalCode === null) {
            const exited = new Promise((r) => proc.once('exit', r));
            proc.kill('SIGTERM');
            await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
            if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
          }
          rmSync(dir, { recursive: true, force: true });
        },
      };
    } catch (error) {
      lastError = new Error(`${error.message}${stderr ? `: ${stderr.trim()}` : ''}`);
      proc.kill('SIGKILL');
    }
  }
  rmSync(dir, { recursive: true, force: true });
  throw new Error(`could not start redis-server: ${lastError?.message}`);
}

async function waitForPing(port, proc) {
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

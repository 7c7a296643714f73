// A scheduler process that gets TERM while it is still starting (its Nest module booting) stops cleanly
// once it is up: exit 0, pid file removed, master lock released. Before, the signal killed it outright,
// leaving the pid file and holding the lock until its TTL.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type TestRedis } from './support/redis-server.js';

let server: TestRedis;
let redis: Redis;
let dir: string;

beforeAll(async () => {
  server = await startRedis();
  redis = server.client();
  dir = mkdtempSync(join(tmpdir(), 'sched-term-'));
});
afterAll(async () => {
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function until(check: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return check();
}

describe('ResqueSchedulerHost: a stop signal during start-up', () => {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`${signal} while the module boots: exits 0 once up, pid file removed, no lock left`, async () => {
      const marker = join(dir, `booting-${signal}`);
      const pidFile = join(dir, `scheduler-${signal}.pid`);
      const child = spawn(process.execPath, ['--import', './test/support/ts-register.mjs', 'test/apps/scheduler-main.ts'], {
        env: { ...process.env, REDIS_BACKEND: `127.0.0.1:${server.port}`, PREFIX: 'term', PIDFILE: pidFile, INTERVAL: '0.2', TEST_BOOT_MARKER: marker, TEST_BOOT_HOLD_MS: '1500' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      child.stdout.on('data', (d: Buffer) => (output += d.toString()));
      child.stderr.on('data', (d: Buffer) => (output += d.toString()));
      const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
        child.once('exit', (code, sig) => resolve({ code, signal: sig })),
      );
      try {
        expect(await until(() => existsSync(marker), 60_000), output).toBe(true);
        child.kill(signal);
        const { code, signal: killedBy } = await Promise.race([
          exited,
          new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no exit within 30 s: ${output}`)), 30_000)),
        ]);
        expect({ code, killedBy }, output).toEqual({ code: 0, killedBy: null });
        expect(existsSync(pidFile), 'pid file left behind').toBe(false);
        expect(await redis.keys('term:*lock*')).toEqual([]);
        expect(output).toContain(`${signal} received`);
      } finally {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      }
    }, 90_000);
  }
});

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Test } from '@nestjs/testing';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ResqueModule } from '../lib/resque.module.js';
import { ResqueConnection } from '../lib/connection/connection.service.js';
import { ResqueQueue } from '../lib/queue/queue.service.js';
import { freePort, startRedis, type TestRedis } from './support/redis-server.js';

// A real Redis Sentinel (redis-server --sentinel) in front of a real master: ioredis Sentinel options work.
describe('Redis Sentinel', () => {
  let master: TestRedis;
  let sentinel: ChildProcess;
  let sentinelPort: number;
  let dir: string;

  beforeAll(async () => {
    master = await startRedis();
    sentinelPort = await freePort();
    dir = mkdtempSync(join(tmpdir(), 'nestjs-resque-sentinel-'));
    const conf = join(dir, 'sentinel.conf');
    writeFileSync(conf, `port ${sentinelPort}\nbind 127.0.0.1\ndir ${dir}\nsentinel monitor resquemaster 127.0.0.1 ${master.port} 1\n`);
    sentinel = spawn('redis-server', [conf, '--sentinel'], { stdio: 'ignore' });
    // Wait until the sentinel knows the master.
    const probe = new Redis({ port: sentinelPort, host: '127.0.0.1', lazyConnect: true, retryStrategy: () => 50 });
    probe.on('error', () => undefined);
    for (let i = 0; i < 100; i++) {
      try {
        const addr = (await probe.call('SENTINEL', 'get-master-addr-by-name', 'resquemaster')) as string[] | null;
        if (addr && Number(addr[1]) === master.port) break;
      } catch {
        // not up yet
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    probe.disconnect();
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => {
      if (sentinel.exitCode !== null) return resolve();
      sentinel.once('exit', () => resolve());
      sentinel.kill('SIGTERM');
    });
    await master.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('enqueues through a Sentinel-discovered master and reports the sentinel address', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        ResqueModule.forRoot({
          connection: { sentinels: [{ host: '127.0.0.1', port: sentinelPort }], name: 'resquemaster' },
          namespace: 'sentinel',
        }),
      ],
    }).compile();
    const app = await moduleRef.init();
    try {
      const id = await app.get(ResqueQueue).enqueue('default', 'SentinelJob', { via: 'sentinel' });
      expect(id).toMatch(/^[0-9a-f]{32}$/);
      expect(app.get(ResqueConnection).address).toContain(String(sentinelPort));
      // The job is on the real master.
      const direct = master.client();
      const [raw] = await direct.lrange('sentinel:queue:default', 0, -1);
      expect(JSON.parse(raw!)).toMatchObject({ class: 'SentinelJob', args: [{ via: 'sentinel' }], id });
    } finally {
      await app.close();
    }
  });
});

import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type TestRedis } from './support/redis-server.js';

// `npm run sample` end to end: HTTP app, pooled worker and scheduler as real processes, driven over HTTP.
describe('the sample app (npm run sample)', () => {
  let redis: TestRedis;
  let dataDir: string;

  beforeAll(async () => {
    redis = await startRedis();
    dataDir = mkdtempSync(join(tmpdir(), 'nestjs-resque-sample-data-'));
  });
  afterAll(async () => {
    await redis.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('runs the demo: 4 jobs complete, the failing one is in `failed`, a retried and a unique job, delayed and recurring jobs run', async () => {
    const output = await new Promise<{ code: number | null; text: string }>((resolve) => {
      const child = spawn(process.execPath, ['sample/run-sample.mjs'], {
        env: { ...process.env, REDIS_URL: redis.url, SAMPLE_EXIT_AFTER_DEMO: '1', SAMPLE_DATA_DIR: dataDir },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let text = '';
      child.stdout.on('data', (d: Buffer) => (text += d.toString()));
      child.stderr.on('data', (d: Buffer) => (text += d.toString()));
      child.on('exit', (code) => resolve({ code, text }));
    });
    const line = output.text.split('\n').find((l) => l.startsWith('SAMPLE_RESULT '));
    expect(line, output.text).toBeDefined();
    const result = JSON.parse(line!.slice('SAMPLE_RESULT '.length)) as {
      ok: boolean;
      states: string[];
      retried: { state: string; attempt: number; calls: string[] };
      unique: { ids: string[]; state: string; runs: number };
      digest: string;
    };
    expect(result.states).toEqual(['COMPLETE', 'COMPLETE', 'COMPLETE', 'COMPLETE', 'FAILED']);
    // The retried job: two gateway timeouts, each retried (onRetry in the worker's log), captured on attempt 3.
    expect(result.retried).toEqual({
      state: 'COMPLETE',
      attempt: 3,
      calls: ['attempt 1: timed out', 'attempt 2: timed out', 'attempt 3: captured'],
    });
    expect(readFileSync(join(dataDir, 'gateway', 'A-1001.log'), 'utf8').trim().split('\n')).toEqual(result.retried.calls);
    expect(output.text).toMatch(/\[worker\].*onRetry CapturePayment id=\w+ attempt 1 failed \(gateway timed out capturing A-1001\), retry in 0 s/);
    expect(output.text).toMatch(/\[worker\].*onRetry CapturePayment id=\w+ attempt 2 failed \(gateway timed out capturing A-1001\), retry in 1 s/);
    // The unique job: the second enqueue got the first one's id, and one refresh ran.
    expect(result.unique.ids).toHaveLength(2);
    expect(result.unique.ids[0]).toMatch(/^[0-9a-f]{32}$/);
    expect(result.unique.ids[1]).toBe(result.unique.ids[0]);
    expect(result.unique.state).toBe('COMPLETE');
    expect(result.unique.runs).toBe(1);
    expect(readdirSync(join(dataDir, 'reports')).filter((f) => f.startsWith('dashboard-sales-'))).toHaveLength(1);
    expect(result.ok).toBe(true);
    expect(result.digest).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} \+0000$/);
    expect(output.code).toBe(0);
    // The injected services really wrote their files.
    expect(readdirSync(join(dataDir, 'outbox')).length).toBe(3);
    expect(readdirSync(join(dataDir, 'reports')).length).toBeGreaterThanOrEqual(2);
    // Everything was shut down: the sample's Redis data shows no registered worker left behind.
    const client = redis.client();
    expect(await client.smembers('resque:workers')).toEqual([]);
    // Retries leave nothing behind: only the declined charge is in `failed`, the retry counter is gone,
    // and so is the unique lock.
    const failed = (await client.lrange('resque:failed', 0, -1)).map((entry) => JSON.parse(entry).payload.class);
    expect(failed).toEqual(['ChargeCard']);
    expect(await client.keys('resque:resque-retry:*')).toEqual([]);
    expect(await client.keys('resque:unique:*')).toEqual([]);
    expect(await client.exists('resque:resque:resque_scheduler_master_lock')).toBe(0);
  }, 90_000);

  it('Ctrl-C (SIGINT to the whole process group) shuts everything down: "bye", exit 0, its temp directory gone', async () => {
    // Nothing answers on REDIS_URL, so the sample starts its own redis-server in a temp dir under TMPDIR.
    const tmp = mkdtempSync(join(tmpdir(), 'nestjs-resque-sample-tmp-'));
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const { port } = probe.address() as { port: number };
    await new Promise((resolve) => probe.close(resolve));
    // detached: its own process group, which is what a terminal signals on Ctrl-C.
    const child = spawn(process.execPath, ['sample/run-sample.mjs'], {
      env: { ...process.env, REDIS_URL: `redis://127.0.0.1:${port}`, SAMPLE_DATA_DIR: dataDir, TMPDIR: tmp },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let text = '';
    let interrupted = false;
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const onData = (d: Buffer) => {
      text += d.toString();
      if (!interrupted && text.includes('[sample] up in')) {
        interrupted = true;
        process.kill(-child.pid!, 'SIGINT');
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    try {
      expect(await exited, text).toBe(0);
      expect(text).toContain('started a private redis-server');
      expect(text).toContain('[sample] bye');
      expect(readdirSync(tmp)).toEqual([]);
    } finally {
      try {
        process.kill(-child.pid!, 'SIGKILL'); // whatever is left of the group (nothing, when the test passes)
      } catch {
        // the group is gone
      }
      rmSync(tmp, { recursive: true, force: true });
    }
  }, 90_000);
});

import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type TestRedis } from './support/redis-server.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
let redis: TestRedis;

beforeAll(async () => {
  // `npm test` builds first; when this file runs alone without a dist/, build it here.
  if (!existsSync(join(root, 'dist', 'index.js'))) {
    spawnSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'], { cwd: root });
  }
  redis = await startRedis();
}, 120_000);
afterAll(async () => {
  await redis?.stop();
});

function runNode(file: string, env: Record<string, string>, args: string[] = []): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...args, file], { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000); // a hang (open connection) fails the test
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('the built package', () => {
  it('works in a plain JS Nest 12 app: inject ResqueQueue, enqueue, status, dequeue, exit cleanly', async () => {
    expect(existsSync(join(root, 'dist', 'index.js'))).toBe(true);
    expect(existsSync(join(root, 'dist', 'index.d.ts'))).toBe(true);
    const result = await runNode(join(root, 'test', 'apps', 'surface-dist-app.mjs'), { REDIS_URL: redis.url });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const out = JSON.parse(result.stdout.trim().split('\n').pop()!) as {
      id: string;
      status: { status: number; updated: number; started: number; result: unknown };
      peeked: Array<Record<string, unknown>>;
      removed: number;
      sizeAfter: number;
      jobs: string[];
    };
    expect(out.id).toMatch(/^[0-9a-f]{32}$/);
    expect(out.status).toMatchObject({ status: 1, result: null });
    expect(out.status.started).toBe(out.status.updated);
    expect(out.peeked).toHaveLength(1);
    expect(Object.keys(out.peeked[0]!)).toEqual(['class', 'args', 'id', 'queue_time']);
    expect(out.peeked[0]).toMatchObject({ class: 'DistEcho', args: [{ hello: 'world' }], id: out.id });
    expect(out.removed).toBe(1);
    expect(out.sizeAfter).toBe(0);
    expect(out.jobs).toEqual(['DistEcho']);
    // What the app left in Redis: the queue is known, the tracked status is there, under its namespace.
    const raw = redis.client();
    expect(await raw.smembers('dist:queues')).toEqual(['default']);
    expect(await raw.exists(`dist:job:${out.id}:status`)).toBe(1);
  });

  it('importing it does not load the worker runtime: a pool child and a producer app do not pay for it', async () => {
    // The runtime (slots, executor, node:child_process) is imported when a worker parent starts (worker.host.ts).
    const probe = `await import(${JSON.stringify(pathToFileURL(join(root, 'dist', 'index.js')).href)}); console.log(JSON.stringify(process.moduleLoadList.filter((m) => m.includes('child_process'))));`;
    const result = await runNode(probe, {}, ['--input-type=module', '-e']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout.trim())).toEqual([]);
  });
});

// Prometheus metrics: the Resque-wide gauges and counters of ResqueMetricsModule in a real Nest HTTP app
// (Express and Fastify),
// read from a real redis-server on scrape; and the job metrics a real pool worker host serves on its own
// port with `metrics: { port }`, for jobs that ran in its children.
import 'reflect-metadata';
import { Module, type INestApplication } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ResqueModule, ResqueQueue } from '../lib/index.js';
import { ResqueMetrics, ResqueMetricsModule } from '../lib/metrics/index.js';
import { resolveWorkerOptions } from '../lib/worker/worker.options.js';
import { killAllWorkers, spawnWorker, waitFor } from './apps/worker-harness.js';
import { ADAPTERS, createHttpApp, listenLocal, type HttpAdapterName } from './support/http-app.js';
import { freePort, startRedis, type TestRedis } from './support/redis-server.js';

let server: TestRedis;
let redis: Redis;
/** One app per adapter, on the same Redis. */
const apps = new Map<HttpAdapterName, { app: INestApplication; url: string }>();
const appUrl = (adapter: HttpAdapterName = 'express') => apps.get(adapter)!.url;
let workerUrl: string;

async function scrape(url: string): Promise<string> {
  const res = await fetch(url);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return res.text();
}
/** The value of the series `name{labels}` (labels matched as a subset), or null when absent. */
function value(text: string, name: string, labels: Record<string, string> = {}): number | null {
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = m[2] ?? '';
    if (Object.entries(labels).every(([k, v]) => have.split(',').includes(`${k}="${v}"`))) return Number(m[3]);
  }
  return null;
}

beforeAll(async () => {
  server = await startRedis();
  redis = server.client();
  const port = await freePort();
  const worker = spawnWorker(server.url, { QUEUE: 'default', INTERVAL: '0.1' }, { heartbeatIntervalSeconds: 1, metrics: { port, host: '127.0.0.1' } });
  for (const adapter of ADAPTERS) {
    @Module({ imports: [ResqueModule.forRoot({ connection: server.url, logger: false }), ResqueMetricsModule.forRoot({ registry: new Registry(), timeoutMs: 500 })] })
    class AppModule {}
    const app = await createHttpApp(AppModule, adapter);
    apps.set(adapter, { app, url: `${await listenLocal(app)}/metrics` });
  }
  await worker.ready;
  workerUrl = `http://127.0.0.1:${port}/metrics`;
}, 60_000);

afterAll(async () => {
  await killAllWorkers();
  for (const { app } of apps.values()) await app.close();
  await server?.stop();
});

describe('ResqueMetricsModule: GET /metrics in a Nest app', () => {
  beforeAll(async () => {
    const now = Date.now() / 1000;
    const job = (queueTime: number) => JSON.stringify({ class: 'Echo', args: [{}], id: 'b'.repeat(32), queue_time: queueTime });
    await redis.sadd('resque:queues', 'bulk');
    await redis.rpush('resque:queue:bulk', job(now - 3600), job(now), job(now));
    const queue = apps.get('express')!.app.get(ResqueQueue);
    await queue.enqueueIn(600, 'bulk', 'Echo', { later: 1 });
    await queue.enqueueIn(900, 'bulk', 'Echo', { later: 2 });
    await redis.set('resque:stat:processed', '41');
  });

  it.each(ADAPTERS)('on %s: reads queue sizes, the oldest job age, delayed jobs, workers and the Resque totals from Redis on scrape', async (adapter) => {
    const text = await scrape(appUrl(adapter));
    expect(value(text, 'resque_redis_up')).toBe(1);
    expect(value(text, 'resque_queue_size', { queue: 'bulk' })).toBe(3);
    expect(value(text, 'resque_queue_oldest_job_age_seconds', { queue: 'bulk' })).toBeGreaterThanOrEqual(3599);
    expect(value(text, 'resque_delayed_jobs')).toBe(2);
    expect(value(text, 'resque_workers', { queue: 'default' })).toBe(1);
    expect(value(text, 'resque_workers', { queue: 'bulk' })).toBe(0);
    expect(value(text, 'resque_workers_working', { queue: 'default' })).toBe(0);
    expect(value(text, 'resque_processed_total')).toBe(41);
    expect(text).toContain('# TYPE resque_processed_total counter');
    expect(text).toContain('# TYPE resque_queue_size gauge');
  });
});

describe('ResqueMetricsModule.forRootAsync with controller: false', () => {
  it.each(ADAPTERS)('on %s: mounts no route; ResqueMetrics gives the text to serve yourself', async (adapter) => {
    @Module({
      imports: [
        ResqueModule.forRoot({ connection: server.url, logger: false }),
        ResqueMetricsModule.forRootAsync({ useFactory: () => ({ registry: new Registry(), timeoutMs: 500 }), controller: false }),
      ],
    })
    class OwnRouteModule {}
    const own = await createHttpApp(OwnRouteModule, adapter);
    try {
      expect((await fetch(`${await listenLocal(own)}/metrics`)).status).toBe(404);
      const text = await own.get(ResqueMetrics).metrics();
      expect(value(text, 'resque_queue_size', { queue: 'bulk' })).toBe(3);
    } finally {
      await own.close();
    }
  });
});

describe('the worker host option metrics: { port }', () => {
  it('serves job durations and outcomes per class and queue for jobs that ran in its children, a dead child included', async () => {
    const processed = Number((await redis.get('resque:stat:processed')) ?? 0);
    await redis.rpush(
      'resque:queue:default',
      JSON.stringify({ class: 'Echo', args: [{ n: 1 }] }),
      JSON.stringify({ class: 'Fail', args: [{ name: 'metrics' }] }),
      JSON.stringify({ class: 'Echo', args: [{ n: 2 }] }),
      JSON.stringify({ class: 'Exit', args: [{ code: 3 }] }),
    );
    await waitFor('four jobs to finish', async () => Number(await redis.get('resque:stat:processed')) >= processed + 2 && Number(await redis.get('resque:stat:failed')) >= 2);
    const text = await waitFor('the host to count four outcomes', async () => {
      const body = await scrape(workerUrl);
      const count = (cls: string) => value(body, 'resque_jobs_total', { class: cls });
      return count('Echo') === 2 && count('Fail') === 1 && count('Exit') === 1 ? body : null;
    });
    expect(value(text, 'resque_jobs_total', { class: 'Echo', queue: 'default', outcome: 'completed' })).toBe(2);
    expect(value(text, 'resque_jobs_total', { class: 'Fail', queue: 'default', outcome: 'failed' })).toBe(1);
    // The child died: the parent itself emitted onFailure (Resque::DirtyExit).
    expect(value(text, 'resque_jobs_total', { class: 'Exit', queue: 'default', outcome: 'failed' })).toBe(1);
    expect(value(text, 'resque_job_duration_seconds_count', { class: 'Echo', queue: 'default', outcome: 'completed' })).toBe(2);
    expect(value(text, 'resque_job_duration_seconds_sum', { class: 'Echo', queue: 'default' })).toBeGreaterThan(0);
    expect(value(text, 'resque_job_duration_seconds_bucket', { class: 'Fail', outcome: 'failed', le: '+Inf' })).toBe(1);

    const scraped = await scrape(appUrl());
    expect(value(scraped, 'resque_failed_total')).toBe(Number(await redis.get('resque:stat:failed')));
    expect(value(scraped, 'resque_failed_jobs')).toBe(await redis.llen('resque:failed'));
  }, 30_000);

  it('refuses a metrics option without a port or a registry, and a bad port, before anything starts', () => {
    expect(() => resolveWorkerOptions({ queues: ['q'], metrics: {} }, {}, 'h')).toThrow('metrics needs a port to serve /metrics on, or a registry to add to');
    expect(() => resolveWorkerOptions({ queues: ['q'], metrics: { port: 70000 } }, {}, 'h')).toThrow('metrics.port must be a port number (0-65535), got 70000');
  });
});

describe('Redis unreachable', () => {
  beforeAll(async () => {
    await killAllWorkers();
    await server.stop();
  });

  it.each(ADAPTERS)('on %s: answers the scrape with resque_redis_up 0 and no Redis-derived series', async (adapter) => {
    const text = await scrape(appUrl(adapter));
    expect(value(text, 'resque_redis_up')).toBe(0);
    expect(value(text, 'resque_queue_size', { queue: 'bulk' })).toBeNull();
  });
});

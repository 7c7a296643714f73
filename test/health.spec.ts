// The terminus health indicator in a real Nest HTTP app (Express, then Fastify) against a real redis-server and a real
// worker process: healthy, no live worker (then one starts), a queue too big or too old, failures growing,
// and Redis stopped (the check fails within its timeout, naming Redis).
import 'reflect-metadata';
import { Controller, Get, Module, type INestApplication } from '@nestjs/common';
import { HealthCheck, HealthCheckService, TerminusModule } from '@nestjs/terminus';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ResqueHealthIndicator, ResqueHealthModule } from '../lib/health/index.js';
import { ResqueModule } from '../lib/index.js';
import { killAllWorkers, spawnWorker, waitFor } from './apps/worker-harness.js';
import { ADAPTERS, createHttpApp, listenLocal } from './support/http-app.js';
import { startRedis, type TestRedis } from './support/redis-server.js';

@Controller('health')
class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly resque: ResqueHealthIndicator,
  ) {}

  @Get()
  @HealthCheck()
  redis() {
    return this.health.check([() => this.resque.isHealthy('resque', { timeoutMs: 500 })]);
  }

  @Get('workers')
  @HealthCheck()
  workers() {
    return this.health.check([() => this.resque.isHealthy('resque', { workers: { queues: ['default'] } })]);
  }

  @Get('queues')
  @HealthCheck()
  queues() {
    return this.health.check([() => this.resque.isHealthy('resque', { queues: { bulk: { maxSize: 2, maxAgeSeconds: 600 } } })]);
  }

  @Get('failures')
  @HealthCheck()
  failures() {
    return this.health.check([() => this.resque.isHealthy('resque-failures', { failures: { maxPerMinute: 1 } })]);
  }
}

let server: TestRedis;
let redis: Redis;
let app: INestApplication;
let base: string;

interface HealthBody {
  status: string;
  info?: Record<string, { status: string }>;
  error?: Record<string, { status: string; message: string }>;
}
async function get(path: string): Promise<{ code: number; body: HealthBody }> {
  const res = await fetch(base + path);
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  return { code: res.status, body: (await res.json()) as HealthBody };
}
const message = (body: HealthBody) => Object.values(body.error ?? {})[0]?.message ?? '';

// Each adapter gets its own redis-server: the last test stops it.
describe.each(ADAPTERS)('ResqueHealthIndicator in a terminus HealthController on %s', (adapter) => {
  beforeAll(async () => {
    server = await startRedis();
    redis = server.client();
    @Module({
      imports: [ResqueModule.forRoot({ connection: server.url, logger: false }), TerminusModule.forRoot({ logger: false }), ResqueHealthModule],
      controllers: [HealthController],
    })
    class AppModule {}
    app = await createHttpApp(AppModule, adapter);
    base = `${await listenLocal(app)}/health`;
  }, 60_000);

  afterAll(async () => {
    await killAllWorkers();
    await app?.close();
    await server?.stop();
  });

  it('is up while Redis answers', async () => {
    const { code, body } = await get('');
    expect(code).toBe(200);
    expect(body).toMatchObject({ status: 'ok', info: { resque: { status: 'up' } } });
  });

  it('is down without a live worker on a queue (a stale registration does not count), up once a real worker runs', async () => {
    // A registered worker whose heartbeat is older than 3 × its published 10 s interval: dead by the pruner's rule.
    const stale = 'elsewhere:4242:default';
    await redis.sadd('resque:workers', stale);
    await redis.hset('resque:workers:heartbeat', stale, new Date(Date.now() - 60_000).toISOString().replace(/\.\d+Z$/, '+00:00'));
    await redis.hset('resque:workers:heartbeat_interval', stale, '10');
    const down = await get('/workers');
    expect(down.code).toBe(503);
    expect(message(down.body)).toBe('queue default has 0 live worker(s), expected at least 1');

    const worker = spawnWorker(server.url, { QUEUE: 'default', INTERVAL: '0.1' }, { heartbeatIntervalSeconds: 1 });
    await worker.ready;
    const up = await get('/workers');
    expect(up.code).toBe(200);
    expect(up.body.info?.['resque']?.status).toBe('up');
  }, 60_000);

  it('is down when a queue holds too many jobs, or its oldest job waits too long', async () => {
    const job = (queueTime: number) => JSON.stringify({ class: 'Echo', args: [{}], id: 'a'.repeat(32), queue_time: queueTime });
    const now = Date.now() / 1000;
    await redis.rpush('resque:queue:bulk', job(now));
    expect((await get('/queues')).code).toBe(200);
    await redis.lpush('resque:queue:bulk', job(now - 3600));
    const old = await get('/queues');
    expect(old.code).toBe(503);
    expect(message(old.body)).toMatch(/^queue bulk's oldest job waits for 3\d{3} s \(more than 600 s\)$/);
    await redis.lpop('resque:queue:bulk');
    await redis.rpush('resque:queue:bulk', job(now), job(now));
    const big = await get('/queues');
    expect(big.code).toBe(503);
    expect(message(big.body)).toBe('queue bulk holds 3 jobs (more than 2)');
  });

  it('is down when failures grow faster than the allowed rate', async () => {
    expect((await get('/failures')).code).toBe(200); // the first sample
    const before = Number((await redis.get('resque:stat:failed')) ?? 0);
    for (let i = 0; i < 5; i++) await redis.rpush('resque:queue:default', JSON.stringify({ class: 'Fail', args: [{ name: `f${i}` }] }));
    await waitFor('the worker to fail 5 jobs', async () => Number(await redis.get('resque:stat:failed')) >= before + 5);
    const growing = await get('/failures');
    expect(growing.code).toBe(503);
    expect(message(growing.body)).toMatch(/^failures grow by [\d.]+\/min \(more than 1\/min\)$/);
  }, 30_000);

  it('is down, naming Redis, within its timeout once redis-server is stopped', async () => {
    await killAllWorkers();
    await server.stop();
    const startedAt = Date.now();
    const { code, body } = await get('');
    expect(code).toBe(503);
    expect(message(body)).toMatch(new RegExp(`^Redis at 127\\.0\\.0\\.1:${server.port}/0 (did not answer within 500 ms|: )`));
    expect(Date.now() - startedAt).toBeLessThan(10_000); // bounded by the check's timeout, not hung
  });
});

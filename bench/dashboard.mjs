#!/usr/bin/env node
// npm run bench:dashboard — how long the dashboard's pages take with big data: a queue of 1,000,000 jobs,
// 100,000 failures, 100,000 delayed timestamps, 200 workers. Every page reads one page of rows (LLEN/ZCARD +
// one LRANGE/ZRANGE), so its time must not grow with the data; this prints the median and worst of 20
// requests per page, on the Express adapter, against a private redis-server.
//
//   node bench/dashboard.mjs [--jobs 1000000] [--failures 100000] [--delayed 100000] [--runs 20]
import { parseArgs } from 'node:util';
import { startRedis } from '../scripts/redis-server.mjs';

const { values } = parseArgs({
  options: { jobs: { type: 'string', default: '1000000' }, failures: { type: 'string', default: '100000' }, delayed: { type: 'string', default: '100000' }, runs: { type: 'string', default: '20' } },
});
const JOBS = Number(values.jobs);
const FAILURES = Number(values.failures);
const DELAYED = Number(values.delayed);
const RUNS = Number(values.runs);
const BATCH = 10_000;

let dist;
try {
  dist = { core: await import('../dist/index.js'), dashboard: await import('../dist/dashboard/index.js') };
} catch {
  console.error('bench/dashboard: dist/ is not built yet (npm run build)');
  process.exit(1);
}
const { Module } = await import('@nestjs/common');
const { NestFactory } = await import('@nestjs/core');

const server = await startRedis();
const redis = server.client();
try {
  const t0 = Date.now();
  await fill(redis);
  console.log(`filled in ${((Date.now() - t0) / 1000).toFixed(1)} s: ${JOBS} jobs, ${FAILURES} failures, ${DELAYED} delayed timestamps, 200 workers`);

  class BenchModule {}
  Module({ imports: [dist.core.ResqueModule.forRoot({ connection: server.url, logger: false }), dist.dashboard.ResqueDashboardModule.forRoot({ readOnly: true })] })(BenchModule);
  const app = await NestFactory.create(BenchModule, { logger: false });
  await app.listen(0, '127.0.0.1');
  const base = `http://127.0.0.1:${app.getHttpServer().address().port}/resque`;
  const pages = [
    ['overview', ''],
    ['queue, first page', '/queues/big'],
    ['queue, page at 999,980', `/queues/big?start=${Math.max(0, JOBS - 20)}`],
    ['workers (200)', '/workers'],
    ['failed, first page', '/failed'],
    ['failed, last page', `/failed?start=${Math.max(0, FAILURES - 20)}`],
    ['failed, filter (no match: scan limit)', '/failed?class=Nope'],
    ['failure detail', '/failed/0'],
    ['delayed', '/delayed'],
    ['delayed, one timestamp', `/delayed/${2_000_000_000}`],
    ['schedules', '/schedules'],
    ['stats', '/stats'],
    ['api/overview', '/api/overview'],
  ];
  const rows = [];
  for (const [name, path] of pages) {
    const times = [];
    let bytes = 0;
    for (let i = 0; i < RUNS; i++) {
      const start = process.hrtime.bigint();
      const res = await fetch(base + path);
      const text = await res.text();
      if (res.status !== 200) throw new Error(`${path}: HTTP ${res.status} ${text.slice(0, 200)}`);
      times.push(Number(process.hrtime.bigint() - start) / 1e6);
      bytes = text.length;
    }
    times.sort((a, b) => a - b);
    rows.push({ page: name, 'median ms': times[Math.floor(times.length / 2)].toFixed(1), 'max ms': times[times.length - 1].toFixed(1), 'KiB': (bytes / 1024).toFixed(1) });
  }
  console.table(rows);
  await app.close();
} finally {
  redis.disconnect();
  await server.stop();
}

async function fill(client) {
  await client.sadd('resque:queues', 'big', 'other');
  for (let i = 0; i < JOBS; i += BATCH) {
    const n = Math.min(BATCH, JOBS - i);
    const jobs = Array.from({ length: n }, (_, j) => JSON.stringify({ class: 'SendEmail', args: [{ to: `user${i + j}@example.com`, n: i + j }], id: (i + j).toString(16).padStart(32, '0'), queue_time: 1795726920.5 }));
    await client.rpush('resque:queue:big', ...jobs);
  }
  const failure = (i) =>
    JSON.stringify({ failed_at: '2026/11/26 21:02:23 UTC', payload: { class: 'SendEmail', args: [{ n: i }] }, exception: 'RuntimeError', error: `boom ${i}`, backtrace: Array.from({ length: 20 }, (_, k) => `/app/lib/mailer.rb:${k}:in 'deliver'`), worker: 'vm:1:big', queue: 'big' });
  for (let i = 0; i < FAILURES; i += BATCH) {
    await client.rpush('resque:failed', ...Array.from({ length: Math.min(BATCH, FAILURES - i) }, (_, j) => failure(i + j)));
  }
  for (let i = 0; i < DELAYED; i += BATCH) {
    const pipeline = client.pipeline();
    const zadd = [];
    for (let j = 0; j < Math.min(BATCH, DELAYED - i); j++) {
      const ts = 2_000_000_000 + i + j;
      pipeline.rpush(`resque:delayed:${ts}`, JSON.stringify({ class: 'Later', args: [{ n: ts }], queue: 'other' }));
      zadd.push(ts, String(ts));
    }
    pipeline.zadd('resque:delayed_queue_schedule', ...zadd);
    await pipeline.exec();
  }
  const pipeline = client.pipeline();
  for (let w = 0; w < 200; w++) {
    const id = `host${w % 10}:${1000 + w}:big`;
    pipeline.sadd('resque:workers', id).set(`resque:worker:${id}:started`, '2026-11-26 21:02:22 +0000').hset('resque:workers:heartbeat', id, new Date().toISOString());
    if (w % 2) pipeline.set(`resque:worker:${id}`, JSON.stringify({ queue: 'big', run_at: new Date().toISOString(), payload: { class: 'SendEmail', args: [{ n: w }] } }));
  }
  await pipeline.exec();
}

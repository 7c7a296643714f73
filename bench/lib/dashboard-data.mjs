// The dashboard scenario's data (harness side, plain ioredis): one queue of `jobs` jobs, `failures`
// failures with 20-line backtraces, `delayed` delayed timestamps of one job each, and 200 workers (100
// working). Written in batches so that a million-job queue fills in seconds.
import { Redis } from 'ioredis';

/** The queue the pages read; the first delayed timestamp (one job per second after it). */
export const DASHBOARD_QUEUE = 'big';
export const FIRST_DELAYED_TS = 2_000_000_000;
export const DASHBOARD_WORKERS = 200;
const BATCH = 10_000;

export async function fillDashboardData({ port, namespace, jobs, failures, delayed }) {
  const client = new Redis({ port, host: '127.0.0.1' });
  const ns = (key) => `${namespace}:${key}`;
  try {
    await client.sadd(ns('queues'), DASHBOARD_QUEUE, 'other');
    for (let i = 0; i < jobs; i += BATCH) {
      const n = Math.min(BATCH, jobs - i);
      const batch = Array.from({ length: n }, (_, j) => JSON.stringify({ class: 'SendEmail', args: [{ to: `user${i + j}@example.com`, n: i + j }], id: (i + j).toString(16).padStart(32, '0'), queue_time: 1795726920.5 }));
      await client.rpush(ns(`queue:${DASHBOARD_QUEUE}`), ...batch);
    }
    const failure = (i) =>
      JSON.stringify({ failed_at: '2026/11/26 21:02:23 UTC', payload: { class: 'SendEmail', args: [{ n: i }] }, exception: 'RuntimeError', error: `boom ${i}`, backtrace: Array.from({ length: 20 }, (_, k) => `/app/lib/mailer.rb:${k}:in 'deliver'`), worker: 'vm:1:big', queue: DASHBOARD_QUEUE });
    for (let i = 0; i < failures; i += BATCH) {
      await client.rpush(ns('failed'), ...Array.from({ length: Math.min(BATCH, failures - i) }, (_, j) => failure(i + j)));
    }
    for (let i = 0; i < delayed; i += BATCH) {
      const pipeline = client.pipeline();
      const zadd = [];
      for (let j = 0; j < Math.min(BATCH, delayed - i); j++) {
        const ts = FIRST_DELAYED_TS + i + j;
        pipeline.rpush(ns(`delayed:${ts}`), JSON.stringify({ class: 'Later', args: [{ n: ts }], queue: 'other' }));
        zadd.push(ts, String(ts));
      }
      pipeline.zadd(ns('delayed_queue_schedule'), ...zadd);
      await pipeline.exec();
    }
    const pipeline = client.pipeline();
    for (let w = 0; w < DASHBOARD_WORKERS; w++) {
      const id = `host${w % 10}:${1000 + w}:${DASHBOARD_QUEUE}`;
      pipeline.sadd(ns('workers'), id).set(ns(`worker:${id}:started`), '2026-11-26 21:02:22 +0000').hset(ns('workers:heartbeat'), id, new Date().toISOString());
      if (w % 2) pipeline.set(ns(`worker:${id}`), JSON.stringify({ queue: DASHBOARD_QUEUE, run_at: new Date().toISOString(), payload: { class: 'SendEmail', args: [{ n: w }] } }));
    }
    await pipeline.exec();
  } finally {
    await client.quit();
  }
}

/** [name, path under the dashboard] of every page measured; the deep pages point at the far end of the data. */
export function dashboardPages({ jobs, failures }) {
  return [
    ['overview', ''],
    ['queue, first page', `/queues/${DASHBOARD_QUEUE}`],
    [`queue, page at ${Math.max(0, jobs - 20).toLocaleString('en-US')}`, `/queues/${DASHBOARD_QUEUE}?start=${Math.max(0, jobs - 20)}`],
    [`workers (${DASHBOARD_WORKERS})`, '/workers'],
    ['failed, first page', '/failed'],
    ['failed, last page', `/failed?start=${Math.max(0, failures - 20)}`],
    ['failed, filter matching nothing', '/failed?class=Nope'],
    ['failure detail', '/failed/0'],
    ['delayed', '/delayed'],
    ['delayed, one timestamp', `/delayed/${FIRST_DELAYED_TS}`],
    ['schedules', '/schedules'],
    ['stats', '/stats'],
    ['api/overview', '/api/overview'],
  ];
}

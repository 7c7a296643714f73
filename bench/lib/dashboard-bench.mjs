// The dashboard scenario, child side: our dashboard (read-only) in a Nest HTTP app on Express or Fastify,
// on the data bench/lib/dashboard-data.mjs wrote. Each page is requested `runs` times one after the other
// (after `warmup` unmeasured requests); the time recorded is the server's: from the HTTP server's
// 'request' event to the response's 'finish', so the client's fetch and parsing do not count.
import { percentile } from './kit.mjs';
import { dashboardPages } from './dashboard-data.mjs';

export async function measureDashboard({ lib, Module, NestFactory }, dashboardLib, { port, namespace, adapter, jobs, failures, runs, warmup }) {
  class BenchDashboardModule {}
  Module({ imports: [lib.ResqueModule.forRoot({ connection: `redis://127.0.0.1:${port}`, namespace, logger: false }), dashboardLib.ResqueDashboardModule.forRoot({ readOnly: true })] })(BenchDashboardModule);
  const platform = adapter === 'fastify' ? [new (await import('@nestjs/platform-fastify')).FastifyAdapter()] : [];
  const app = await NestFactory.create(BenchDashboardModule, ...platform, { logger: false });
  try {
    await app.listen(0, '127.0.0.1');
    const server = app.getHttpServer();
    // One request at a time: the oldest pending timing belongs to the request just answered.
    const pending = [];
    server.prependListener('request', (_req, res) => {
      const t0 = process.hrtime.bigint();
      pending.push(new Promise((resolve) => res.once('finish', () => resolve(Number(process.hrtime.bigint() - t0) / 1e6))));
    });
    const base = `http://127.0.0.1:${server.address().port}/resque`;
    const request = async (path) => {
      const res = await fetch(base + path);
      const text = await res.text();
      if (res.status !== 200) throw new Error(`${adapter} ${path}: HTTP ${res.status} ${text.slice(0, 200)}`);
      return { ms: await pending.shift(), bytes: Buffer.byteLength(text) };
    };
    const pages = [];
    const t0 = performance.now();
    for (const [page, path] of dashboardPages({ jobs, failures })) {
      for (let i = 0; i < warmup; i++) await request(path);
      const times = [];
      let bytes = 0;
      for (let i = 0; i < runs; i++) {
        const r = await request(path);
        times.push(r.ms);
        bytes = r.bytes;
      }
      times.sort((a, b) => a - b);
      const ms = (v) => Math.round(v * 10) / 10;
      pages.push({ page, path, p50_ms: ms(percentile(times, 50)), p99_ms: ms(percentile(times, 99)), max_ms: ms(times.at(-1)), kib: Math.round(bytes / 102.4) / 10 });
    }
    const seconds = (performance.now() - t0) / 1000;
    const n = pages.length * runs;
    return { n, seconds, requests_per_s: n / seconds, runs, pages };
  } finally {
    await app.close();
  }
}

#!/usr/bin/env node
// `npm run sample`: brings the whole sample up — Redis (a private one if nothing answers on REDIS_URL),
// the HTTP app, a worker with pooled children, and the scheduler — drives a short demo through HTTP,
// prints what happened, then stays up until Ctrl-C, which shuts everything down cleanly.
// SAMPLE_EXIT_AFTER_DEMO=1 exits after the demo (the test suite runs it that way).
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync, readFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, startRedis, which } from '../scripts/redis-server.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const sampleSrc = join(root, 'sample', 'src');
const sampleDist = join(root, 'sample', 'dist');
const exitAfterDemo = process.env.SAMPLE_EXIT_AFTER_DEMO === '1';
const children = [];
let redisServer = null;
let shuttingDown = false;

const color = (code, text) => (process.stdout.isTTY ? `\x1b[${code}m${text}\x1b[0m` : text);
const say = (text) => console.log(color('1;36', '[sample]'), text);

/** A raw RESP PING, so the check needs nothing but node itself. */
function redisAnswers(url) {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = createConnection({ host: hostname || '127.0.0.1', port: Number(port || 6379) });
    const done = (ok) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.on('error', () => done(false));
    socket.on('connect', () => socket.write('*1\r\n$4\r\nPING\r\n'));
    socket.on('data', (data) => done(data.toString().startsWith('+PONG')));
  });
}

async function ensureRedis() {
  const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  if (await redisAnswers(url)) {
    say(`using the Redis that answers on ${url}`);
    return url;
  }
  if (!which('redis-server')) {
    console.error(`Nothing answers on ${url} and redis-server is not installed.`);
    console.error('Install it (Debian/Ubuntu: sudo apt-get install -y redis-server) or set REDIS_URL.');
    process.exit(1);
  }
  redisServer = await startRedis();
  const privateUrl = redisServer.url;
  say(`nothing answered on ${url}: started a private redis-server on ${privateUrl}`);
  return privateUrl;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function newestMtime(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/** Compiles every .ts under `from` into `to` with SWC (keeping decorator metadata, which Nest DI needs). */
async function compileTree(swc, from, to) {
  for (const entry of readdirSync(from, { withFileTypes: true })) {
    const path = join(from, entry.name);
    if (entry.isDirectory()) await compileTree(swc, path, join(to, entry.name));
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) {
      const out = await swc.transform(readFileSync(path, 'utf8'), {
        filename: path,
        jsc: {
          parser: { syntax: 'typescript', decorators: true },
          transform: { legacyDecorator: true, decoratorMetadata: true, useDefineForClassFields: false },
          target: 'es2022',
        },
        module: { type: 'es6' },
      });
      const target = join(to, entry.name).replace(/\.ts$/, '.js');
      mkdirSync(dirname(target), { recursive: true });
      writeFileSync(target, out.code);
    }
  }
}

/**
 * Builds what the sample runs, fast: the library's JavaScript into dist/ when its sources changed (SWC, about
 * a second; `npm run build` is the full tsc build that also writes the type declarations), then the sample.
 */
async function build() {
  const swc = await import('@swc/core');
  const distIndex = join(root, 'dist', 'index.js');
  if (!existsSync(distIndex) || statSync(distIndex).mtimeMs < newestMtime(join(root, 'lib'))) {
    say('compiling the library into dist/ (SWC; `npm run build` adds the type declarations)…');
    await compileTree(swc, join(root, 'lib'), join(root, 'dist'));
  }
  rmSync(sampleDist, { recursive: true, force: true });
  await compileTree(swc, sampleSrc, sampleDist);
}

function start(name, file, env, tint) {
  const child = spawn(process.execPath, [join(sampleDist, file)], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const prefix = color(tint, `[${name}]`.padEnd(11));
  for (const stream of [child.stdout, child.stderr]) {
    let buffered = '';
    stream.on('data', (chunk) => {
      buffered += chunk.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) if (line.trim()) console.log(prefix, line);
    });
  }
  child.on('exit', (code, signal) => {
    if (!shuttingDown) console.log(prefix, `exited (${signal ?? code})`);
  });
  children.push({ name, child });
  return child;
}

async function http(port, method, path, body) {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, {
    method,
    headers: body ? { 'content-type': 'application/json' } : undefined,
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

async function waitFor(check, timeoutMs, what) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check().catch(() => undefined);
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

async function demo(port, redisUrl) {
  say('enqueueing through HTTP…');
  const jobs = [
    { label: 'welcome ada', path: '/jobs/welcome', body: { to: 'ada@example.com', name: 'Ada' } },
    { label: 'welcome linus', path: '/jobs/welcome', body: { to: 'linus@example.com', name: 'Linus' } },
    { label: 'report q3', path: '/jobs/report', body: { title: 'Q3 revenue', rows: [120, 80, 95] } },
    { label: 'charge 250', path: '/jobs/charge', body: { amount: 250 } },
    { label: 'charge 5000 (fails)', path: '/jobs/charge', body: { amount: 5000 } },
  ];
  for (const job of jobs) {
    const res = await http(port, 'POST', job.path, job.body);
    job.id = res.body.id;
    say(`  POST ${job.path} → id ${job.id}`);
  }
  // Job policies: a retried job (the gateway times out twice) and a unique job asked for twice in a row.
  const capture = { label: 'capture A-1001 (retried)', path: '/jobs/capture', body: { orderId: 'A-1001' } };
  capture.id = (await http(port, 'POST', capture.path, capture.body)).body.id;
  say(`  POST ${capture.path} → id ${capture.id} (the gateway times out on its first two calls)`);
  const refreshIds = [];
  for (const requestedBy of ['ada', 'linus']) {
    const res = await http(port, 'POST', '/jobs/dashboard/refresh', { dashboard: 'sales', requestedBy });
    refreshIds.push(res.body.id);
    say(`  POST /jobs/dashboard/refresh (sales, by ${requestedBy}) → id ${res.body.id}`);
  }
  const refresh = { label: 'refresh sales (unique)', id: refreshIds[0] };
  const dueIn = 2;
  const delayed = await http(port, 'POST', `/jobs/welcome/in/${dueIn}`, { to: 'grace@example.com', name: 'Grace (delayed)' });
  const dueAt = delayed.body.dueAt;
  say(`  POST /jobs/welcome/in/${dueIn} → due at ${new Date(dueAt * 1000).toISOString()}`);

  const finished = (s) => s.body && (s.body.state === 'COMPLETE' || s.body.state === 'FAILED');
  await waitFor(async () => {
    const all = await Promise.all(jobs.map((j) => http(port, 'GET', `/jobs/${j.id}`)));
    all.forEach((s, i) => (jobs[i].status = s.body));
    return all.every(finished);
  }, 30_000, 'the jobs to finish');
  for (const job of [capture, refresh]) {
    job.status = (await waitFor(async () => {
      const s = await http(port, 'GET', `/jobs/${job.id}`);
      return finished(s) && s;
    }, 30_000, `${job.label} to finish`)).body;
  }

  say('job statuses (GET /jobs/:id):');
  console.table(
    jobs.map((j) => ({ job: j.label, id: j.id.slice(0, 8) + '…', state: j.status.state, result: JSON.stringify(j.status.result) ?? '' })),
  );

  // The delayed welcome: the scheduler promotes it when due, a worker sends it.
  const { Redis } = await import('ioredis');
  const redis = new Redis(redisUrl);
  const ns = process.env.RESQUE_NAMESPACE ?? 'resque';
  const outbox = join(process.env.SAMPLE_DATA_DIR, 'outbox');
  const graceFile = await waitFor(
    async () => readdirSync(outbox).find((f) => f.includes('grace')),
    30_000,
    'the delayed job',
  );
  const sentAt = statSync(join(outbox, graceFile)).mtimeMs / 1000;
  const captured = capture.status.result ?? {};
  say(
    `retried job CapturePayment ${capture.status.state} on attempt ${captured.attempt ?? '?'} (retry limit 3, back-off 0 s then 1 s); ` +
      `gateway calls: ${(captured.calls ?? []).join(' → ')}`,
  );
  const sameId = refreshIds.length === 2 && refreshIds[0] === refreshIds[1];
  say(`unique job RefreshDashboard: enqueued twice → ${sameId ? `the same id twice (${refreshIds[0]})` : `two ids (${refreshIds.join(', ')})`}, ${refresh.status.state}`);

  say(`delayed job: due ${new Date(dueAt * 1000).toISOString()}, sent ${new Date(sentAt * 1000).toISOString()} (${(sentAt - dueAt).toFixed(2)} s after due)`);

  const lastDigest = await waitFor(
    async () => redis.hget(`${ns}:delayed:last_enqueued_at`, 'Digest'),
    30_000,
    'the recurring Digest schedule to fire',
  );
  const reportsDir = join(process.env.SAMPLE_DATA_DIR, 'reports');
  const digestFile = await waitFor(
    async () => readdirSync(reportsDir).find((f) => f.startsWith('five-second-digest')),
    30_000,
    'a worker to perform the recurring Digest job',
  );
  // Counted last, a few seconds on: a second refresh would have written its own report by now.
  const refreshRuns = readdirSync(reportsDir).filter((f) => f.startsWith('dashboard-sales-')).length;
  say(`unique job RefreshDashboard ran ${refreshRuns} time${refreshRuns === 1 ? '' : 's'} for the two requests`);
  say(`recurring schedule "Digest" (cron */5 * * * * *) last fired at ${lastDigest}; a worker wrote ${digestFile}`);

  const [processed, failed, failures] = await Promise.all([
    redis.get(`${ns}:stat:processed`),
    redis.get(`${ns}:stat:failed`),
    redis.lrange(`${ns}:failed`, 0, -1),
  ]);
  say('summary:');
  console.table([
    {
      processed: Number(processed ?? 0),
      failed: Number(failed ?? 0),
      'failed list': failures.length,
      'first failure': failures[0] ? `${JSON.parse(failures[0]).exception}: ${JSON.parse(failures[0]).error}` : '',
    },
  ]);
  await redis.quit();
  const retried = { state: capture.status.state, attempt: captured.attempt, calls: captured.calls };
  const unique = { ids: refreshIds, state: refresh.status.state, runs: refreshRuns };
  const ok =
    jobs.filter((j) => j.status.state === 'COMPLETE').length === 4 &&
    jobs[4].status.state === 'FAILED' &&
    retried.state === 'COMPLETE' &&
    retried.attempt === 3 &&
    sameId &&
    unique.state === 'COMPLETE' &&
    refreshRuns === 1;
  say(
    ok
      ? 'demo OK: 4 jobs complete, 1 failed as designed, 1 retried to success on attempt 3, 1 unique job enqueued twice ran once, delayed and recurring jobs ran'
      : 'demo finished with unexpected states',
  );
  console.log(
    `SAMPLE_RESULT ${JSON.stringify({ ok, states: jobs.map((j) => j.status.state), retried, unique, delayedLateness: sentAt - dueAt, digest: lastDigest })}`,
  );
  return ok;
}

async function shutdown(code) {
  if (shuttingDown) return;
  shuttingDown = true;
  say('shutting down…');
  await Promise.all(
    children.map(
      ({ child }) =>
        new Promise((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
          child.once('exit', () => {
            clearTimeout(timer);
            resolve();
          });
          child.kill('SIGTERM');
        }),
    ),
  );
  if (redisServer) await redisServer.stop();
  say('bye');
  process.exit(code);
}

async function main() {
  process.on('SIGINT', () => void shutdown(0));
  process.on('SIGTERM', () => void shutdown(0));
  const started = Date.now();
  await build();
  const redisUrl = await ensureRedis();
  const dataDir = process.env.SAMPLE_DATA_DIR ?? join(root, 'sample', '.data');
  rmSync(dataDir, { recursive: true, force: true });
  mkdirSync(dataDir, { recursive: true });
  process.env.SAMPLE_DATA_DIR = dataDir;
  const port = Number(process.env.PORT ?? (await freePort()));
  const env = { REDIS_URL: redisUrl, SAMPLE_DATA_DIR: dataDir };
  start('http', 'main.js', { ...env, PORT: String(port) }, '1;32');
  start('worker', 'worker.js', { ...env, COUNT: process.env.COUNT ?? '2' }, '1;33');
  start('scheduler', 'scheduler.js', env, '1;35');
  await waitFor(async () => (await http(port, 'GET', '/queues')).status === 200, 30_000, 'the HTTP app');
  say(`up in ${((Date.now() - started) / 1000).toFixed(1)} s — HTTP on http://127.0.0.1:${port}, Redis ${redisUrl}`);
  say(`health on http://127.0.0.1:${port}/health, Prometheus metrics on http://127.0.0.1:${port}/metrics`);
  const ok = await demo(port, redisUrl);
  if (exitAfterDemo) return shutdown(ok ? 0 : 1);
  say(`still running: try  curl -X POST -H 'content-type: application/json' -d '{"to":"you@example.com","name":"You"}' http://127.0.0.1:${port}/jobs/welcome`);
  say('press Ctrl-C to stop');
}

main().catch(async (error) => {
  // Ctrl-C stops the sample's processes too, and the demo may see them go before our SIGINT handler runs.
  await sleep(250);
  if (shuttingDown) return;
  console.error(error);
  void shutdown(1);
});

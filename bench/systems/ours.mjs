// nestjs-resque adapter. It loads the built package from dist/ (npm run build); while dist/index.js is
// missing or lacks an export, every scenario shows a "not built yet" row.
//
// API used here:
//   ResqueModule.forRoot({ connection, namespace }), ResqueQueue#enqueue(queue, job, params) → id,
//   ResqueQueue#enqueueBulk(queue, [{ job, params }]), ResqueQueue#enqueueIn(seconds, queue, job, params),
//   @Job('Name') class + @Perform() method, ResqueWorkerHost.run(WorkerModule, { queues, concurrency,
//   isolation: 'inline' | 'pool', maxJobsPerChild, interval, blocking, throttle }) → handle with stop().
//   Policy scenarios: @Job('Name', { retry, unique, throttle, maxConcurrent }) (bench/lib/policies.mjs).
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { getHeapSpaceStatistics, getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { DIST, JOB, loadOurs, NAMESPACE, redisTarget } from '../lib/ours-module.mjs';
import { fillDashboardData } from '../lib/dashboard-data.mjs';
import { measureDashboard } from '../lib/dashboard-bench.mjs';
import { QUEUE, completion, inFlight, bounded, now, dueTimes, latenessStats, sleep } from '../lib/kit.mjs';
import { interleave, POLICY_VARIANTS } from '../lib/policies.mjs';
import { hostOptions, last, lateness, workerModule } from '../lib/ours-worker.mjs';

export const id = 'ours';
// BENCH_OURS_DIST points the adapter at another build (a path to its index.js): see bench/lib/ours-module.mjs.
const NEEDED = ['ResqueModule', 'ResqueQueue', 'Job', 'Perform', 'ResqueWorkerHost'];

export async function available() {
  if (!existsSync(fileURLToPath(DIST))) return { ok: false, reason: `not built yet: ${fileURLToPath(DIST)} is missing (npm run build)` };
  let lib;
  try {
    lib = await import(DIST.href);
  } catch (error) {
    return { ok: false, reason: `dist/index.js does not load: ${error?.message ?? error}` };
  }
  const missing = NEEDED.filter((name) => !(name in lib));
  return missing.length ? { ok: false, reason: `not built yet: dist/index.js lacks ${missing.join(', ')}` } : { ok: true };
}

export function plan(s) {
  // Policy scenarios: the variants in interleaved rounds (bench/lib/policies.mjs), one measured child each.
  if (s.policies) return interleave(s.policies, s.rounds).map(({ policy, round }) => ({ variant: POLICY_VARIANTS[policy].label, role: s.kind, policy, round }));
  switch (s.kind) {
    case 'enqueue':
      return [{ variant: { serial: 'enqueue, awaited', inflight: `enqueue, ${s.inflight} in flight`, bulk: `enqueueBulk ×${s.chunk}` }[s.mode], role: 'enqueue' }];
    case 'work':
      if (s.maxJobsPerChild === 1) return [{ variant: 'pool, maxJobsPerChild 1', role: 'work' }];
      return [{ variant: `${s.isolation}, concurrency ${s.slots}${s.childStart ? `, childStart ${s.childStart}` : ''}${s.clusterMasters ? `, Redis Cluster of ${s.clusterMasters} masters` : ''}`, role: 'work' }];
    case 'delayed':
      return [{ variant: `enqueueIn + scheduler, inline concurrency ${s.slots}`, role: 'delayed' }];
    case 'dashboard':
      return ['express', 'fastify'].map((adapter) => ({ variant: `dashboard on ${adapter}`, role: 'dashboard', adapter }));
    default:
      return { na: 'not applicable' };
  }
}

/**
 * Harness side: php-resque's payload shape (what enqueue writes), pipelined; no Nest in the harness.
 * `unique`: what an enqueue of a `unique` class writes (lib/policies/policy.unique.ts): the payload's
 * trailing `"unique"` marker and the lock `unique:<class>:<key>` = the job's id (key: the params' canonical
 * JSON), with the default TTL. The policy-unique run checks that every lock was released.
 */
export async function prefill({ port, n, cluster, unique = false }) {
  const { namespace, client } = redisTarget({ port, cluster });
  const redis = client();
  try {
    await redis.sadd(`${namespace}:queues`, QUEUE);
    for (let i = 0; i < n; i += 1000) {
      const batch = [];
      const locks = [];
      for (let j = i; j < Math.min(n, i + 1000); j++) {
        const id = Buffer.from(globalThis.crypto.getRandomValues(new Uint8Array(16))).toString('hex');
        const json = JSON.stringify({ class: JOB, args: [{ i: j }], id, queue_time: Date.now() / 1000 });
        if (!unique) {
          batch.push(json);
          continue;
        }
        const lock = `unique:${JOB}:${JSON.stringify({ i: j })}`;
        batch.push(`${json.slice(0, -1)},"unique":${JSON.stringify({ lock, until: 'finished' })}}`);
        locks.push([`${namespace}:${lock}`, id]);
      }
      if (locks.length) {
        const pipeline = redis.pipeline();
        for (const [key, id] of locks) pipeline.set(key, id, 'EX', 3600);
        await pipeline.exec();
      }
      await redis.rpush(`${namespace}:queue:${QUEUE}`, ...batch);
    }
  } finally {
    await redis.quit();
  }
}

/** Harness side, dashboard scenario: the big data set under our namespace. */
export function prefillDashboard({ port, jobs, failures, delayed }) {
  return fillDashboardData({ port, namespace: NAMESPACE, jobs, failures, delayed });
}

// ---- child side ------------------------------------------------------------------------------------

const load = loadOurs;

function producerModule({ lib, Module }, port) {
  class BenchProducerModule {}
  Module({ imports: [lib.ResqueModule.forRoot({ connection: `redis://127.0.0.1:${port}`, namespace: NAMESPACE })] })(BenchProducerModule);
  return BenchProducerModule;
}

export async function enqueue({ port, mode, n, inflight, chunk, policy }) {
  const deps = await load();
  // Policy scenarios enqueue through the job class (only the class knows its options), plain or not.
  const policyModule = policy ? workerModule(deps, port, POLICY_VARIANTS[policy].job) : null;
  const job = policyModule ? policyModule.jobClass : JOB;
  const app = await deps.NestFactory.createApplicationContext(policyModule ?? producerModule(deps, port), { logger: false });
  const queue = app.get(deps.lib.ResqueQueue);
  // Policy scenarios: CPU per enqueue of this process and of redis-server (INFO cpu before and after).
  const meter = policy ? new Redis({ port, host: '127.0.0.1' }) : null;
  const redis0 = meter ? redisCpuOf(await meter.info('cpu')) : 0;
  const cpu0 = process.cpuUsage();
  const t0 = now();
  if (mode === 'serial') for (let i = 0; i < n; i++) await queue.enqueue(QUEUE, job, { i });
  else if (mode === 'inflight') await inFlight(n, inflight, (i) => queue.enqueue(QUEUE, job, { i }));
  else {
    for (let i = 0; i < n; i += chunk) {
      const batch = [];
      for (let j = i; j < Math.min(n, i + chunk); j++) batch.push({ job: JOB, params: { i: j } });
      await queue.enqueueBulk(QUEUE, batch);
    }
  }
  const seconds = (now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const costs = meter ? { cpu_us_per_job: Math.round(((cpu.user + cpu.system) / n) * 10) / 10, redis_cpu_us_per_job: Math.round(((redisCpuOf(await meter.info('cpu')) - redis0) * 1000 / n) * 10) / 10 } : {};
  await meter?.quit();
  await app.close();
  const redis = new Redis({ port, host: '127.0.0.1' });
  const waiting = await redis.llen(`${NAMESPACE}:queue:${QUEUE}`);
  const locks = policy ? await countKeys(redis, `${NAMESPACE}:unique:*`) : 0;
  await redis.quit();
  if (waiting !== n) throw new Error(`expected ${n} jobs waiting, found ${waiting}`);
  if (POLICY_VARIANTS[policy]?.unique && locks !== n) throw new Error(`expected ${n} unique locks, found ${locks}`);
  return { n, seconds, jobs_per_s: n / seconds, ...costs, ...(policy ? { unique_locks: locks } : {}) };
}

/**
 * Counts finished jobs from Resque's `stat:processed` (pooled jobs run in other processes), on its own
 * connection — the same counter for every mode. The peers count with in-process events, which cost nothing
 * between jobs; this loop does cost CPU in the measured process, so its period follows the run's length:
 * 2 ms for in-process runs (about a second long), 20 ms for pooled children, 50 ms for a child per job
 * (where a 2 ms loop alone measured ~250 ms per job of CPU taken from the booting child on one CPU).
 */
function pollProcessed(portOrTarget, done, everyMs = 2, onProgress = null) {
  const { namespace, client } = typeof portOrTarget === 'number' ? redisTarget({ port: portOrTarget }) : portOrTarget;
  const redis = client();
  let stopped = false;
  const loop = (async () => {
    let seen = 0;
    while (!stopped) {
      const processed = Number((await redis.get(`${namespace}:stat:processed`)) ?? 0);
      if (processed > seen) {
        done.tick(processed - seen);
        seen = processed;
        onProgress?.(processed);
      }
      await sleep(everyMs);
    }
  })();
  return async () => {
    stopped = true;
    await loop.catch(() => undefined);
    await redis.quit();
  };
}

export async function work({ port, cluster, n, slots, isolation, maxJobsPerChild, childStart, jobMs, timeoutMs, sampleEvery, warmup, policy }) {
  const deps = await load();
  const target = redisTarget({ port, cluster });
  const variant = policy ? POLICY_VARIANTS[policy] : null;
  const done = completion(n);
  const memory = sampleEvery ? memorySampler(sampleEvery) : null;
  const cost = variant ? costMeter(target, n) : null;
  const onProgress = memory || cost ? (processed) => (memory?.onProgress(processed), cost?.onProgress(processed)) : null;
  const stopPolling = pollProcessed(target, done, isolation === 'inline' ? 2 : maxJobsPerChild === 1 ? 50 : 20, onProgress);
  // t0 is taken before run(), so Nest boot (and the first children) count, as they do for the peers'
  // workers; the steady column excludes them.
  const t0 = now();
  const host = { ...hostOptions({ slots, isolation, maxJobsPerChild, childStart }), ...variant?.host };
  const handle = await deps.lib.ResqueWorkerHost.run(workerModule(deps, target, variant?.job, jobMs), host);
  let costs = {};
  try {
    await done.wait(timeoutMs);
    if (cost) costs = await cost.end();
  } finally {
    await bounded(handle.stop(), 15_000);
    await stopPolling();
  }
  if (variant) costs = { ...costs, ...(await policyLeftovers(target, variant)) };
  return done.result(t0, memory ? memory.summary(warmup ?? 0) : costs);
}

/**
 * Policy scenarios: CPU per job after the first 10 % (steady), of this process (the worker and the 2 ms
 * stat:processed poll, alike for every variant) and of redis-server (INFO cpu: the scripts' work, where a
 * policy's cost mostly is). `onProgress` takes the 10 % snapshot; `end()` the final one.
 */
function costMeter(target, n) {
  const redis = target.client();
  const warmAt = Math.max(1, Math.floor(n * 0.1));
  let warm = null;
  const redisCpuMs = async () => redisCpuOf(await redis.info('cpu'));
  return {
    onProgress(processed) {
      if (warm || processed < warmAt) return;
      warm = { cpu: process.cpuUsage(), jobs: processed, redis: redisCpuMs() };
    },
    async end() {
      if (!warm || warm.jobs >= n) {
        await redis.quit();
        return {}; // every job finished between two polls: no steady part to measure
      }
      const cpu = process.cpuUsage(warm.cpu);
      const jobs = n - warm.jobs;
      const redisMs = (await redisCpuMs()) - (await warm.redis);
      await redis.quit();
      const r = (v) => Math.round(v * 10) / 10;
      return { cpu_us_per_job: r((cpu.user + cpu.system) / jobs), redis_cpu_us_per_job: r((redisMs * 1000) / jobs) };
    },
  };
}

/** redis-server's CPU so far (ms, user + system, all threads) from an INFO cpu reply. */
function redisCpuOf(info) {
  const field = (name) => Number(info.match(new RegExp(`^${name}:([\\d.]+)`, 'm'))?.[1] ?? 0);
  return (field('used_cpu_user') + field('used_cpu_sys')) * 1000;
}

/** SCAN count of the keys matching a pattern (never KEYS). */
async function countKeys(redis, pattern) {
  let cursor = '0';
  let count = 0;
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    count += keys.length;
  } while (cursor !== '0');
  return count;
}

/** After a policy run: what the policy left in Redis (nothing, or the run measured the wrong path). */
async function policyLeftovers(target, variant) {
  const redis = target.client();
  try {
    const [locks, retries, failed] = [await countKeys(redis, `${NAMESPACE}:unique:*`), await countKeys(redis, `${NAMESPACE}:resque-retry:*`), Number((await redis.get(`${NAMESPACE}:stat:failed`)) ?? 0)];
    if (variant.unique && locks) throw new Error(`${locks} unique locks left after every job finished: the prefill's marker does not match what enqueue writes`);
    return { unique_locks_left: locks, retry_counters_left: retries, failed };
  } finally {
    await redis.quit();
  }
}

/**
 * policy-throttle-idle: boots the worker, waits until it has run what the variant allows (throttled: the
 * one job the window lets through, the rest wait at the head of the queue), settles 1 s, then measures
 * `seconds` of this process's CPU (the worker: no stat:processed poll here) and Redis's INFO commandstats
 * and cpu deltas. Commands run inside scripts are counted too; this client's INFO calls are left out.
 */
export async function idle({ port, policy, seconds, timeoutMs }) {
  const variant = POLICY_VARIANTS[policy];
  const deps = await load();
  const target = redisTarget({ port });
  const redis = target.client();
  const processed = async () => Number((await redis.get(`${NAMESPACE}:stat:processed`)) ?? 0);
  const handle = await deps.lib.ResqueWorkerHost.run(workerModule(deps, target, variant.job), { ...hostOptions({ slots: 1, isolation: 'inline' }), ...variant.host });
  try {
    const deadline = Date.now() + timeoutMs;
    while ((await processed()) < (variant.expectProcessed ?? 0)) {
      if (Date.now() > deadline) throw new Error(`the worker ran ${await processed()} jobs, expected ${variant.expectProcessed}`);
      await sleep(50);
    }
    await sleep(1000);
    const snapshot = async () => ({ t: now(), cpu: process.cpuUsage(), commands: commandStats(await redis.info('commandstats')), redisMs: redisCpuOf(await redis.info('cpu')) });
    const before = await snapshot();
    await sleep(seconds * 1000);
    const after = await snapshot();
    const [ran, waiting] = [await processed(), await redis.llen(`${NAMESPACE}:queue:${QUEUE}`)];
    if (ran !== (variant.expectProcessed ?? 0)) throw new Error(`the worker ran ${ran} jobs, expected ${variant.expectProcessed ?? 0}: the throttle did not hold`);
    const wall = (after.t - before.t) / 1000;
    const cpuMs = (after.cpu.user + after.cpu.system - before.cpu.user - before.cpu.system) / 1000;
    const perS = {};
    for (const [cmd, calls] of Object.entries(after.commands)) {
      const delta = calls - (before.commands[cmd] ?? 0);
      if (delta > 0 && cmd !== 'info') perS[cmd] = Math.round((delta / wall) * 100) / 100;
    }
    const total = Object.values(perS).reduce((a, b) => a + b, 0);
    const r = (v, d = 100) => Math.round(v * d) / d;
    return { n: null, seconds: r(wall), cpu_ms_per_s: r(cpuMs / wall), redis_cmds_per_s: r(total), redis_cmds: perS, redis_cpu_ms_per_s: r((after.redisMs - before.redisMs) / wall), processed: ran, waiting };
  } finally {
    await bounded(handle.stop(), 15_000);
    await redis.quit();
  }
}

/** INFO commandstats → { command: calls }. */
function commandStats(info) {
  const out = {};
  for (const m of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) out[m[1]] = Number(m[2]);
  return out;
}

/**
 * parent-rss: this process is the worker parent (the pool children are its children). Every `every`
 * processed jobs it records its RSS, V8 heap (per space) and external memory, and each child's VmRSS from
 * /proc. BENCH_RSS_GC=1 runs a full GC before each sample, so heap numbers are live objects only (a leak
 * shows as a growing heap) — but that GC also empties the old space V8 would otherwise let grow, so RSS
 * is measured without it by default. BENCH_TRACE_GC=1 adds V8's --trace-gc lines (shown with --verbose).
 */
function memorySampler(every) {
  if (process.env.BENCH_TRACE_GC === '1') setFlagsFromString('--trace-gc');
  let gc = () => undefined;
  if (process.env.BENCH_RSS_GC === '1') {
    setFlagsFromString('--expose-gc');
    gc = runInNewContext('gc');
  }
  const samples = [];
  let next = every;
  const mb = (bytes) => Math.round((bytes / 1048576) * 10) / 10;
  const take = (jobs) => {
    gc();
    const m = process.memoryUsage();
    const heap = getHeapStatistics();
    samples.push({ jobs, rss_mb: mb(m.rss), heap_used_mb: mb(m.heapUsed), heap_total_mb: mb(m.heapTotal), external_mb: mb(m.external + m.arrayBuffers), malloced_mb: mb(heap.malloced_memory), spaces_mb: Object.fromEntries(getHeapSpaceStatistics().map((sp) => [sp.space_name, mb(sp.space_size)])), children_rss_mb: childrenRss().map((kb) => Math.round(kb / 102.4) / 10) });
  };
  return {
    onProgress(processed) {
      if (processed < next) return;
      take(processed);
      next = (Math.floor(processed / every) + 1) * every;
    },
    /** Growth after the warm-up: the highest RSS of the later samples minus the first one. */
    summary(warmup) {
      const after = samples.filter((x) => x.jobs >= warmup);
      const base = after[0];
      const last = after.at(-1);
      if (!base || !last) return { memory_samples: samples };
      const r = (v) => Math.round(v * 10) / 10;
      const peak = Math.max(...after.map((x) => x.rss_mb));
      return {
        memory_samples: samples,
        forced_gc: process.env.BENCH_RSS_GC === '1',
        rss_after_warmup_mb: base.rss_mb,
        rss_peak_mb: peak,
        rss_end_mb: last.rss_mb,
        rss_growth_mb: r(peak - base.rss_mb),
        heap_growth_mb: r(last.heap_used_mb - base.heap_used_mb),
        jobs_measured: last.jobs - base.jobs,
      };
    },
  };
}

function childrenRss() {
  const kb = [];
  for (const tid of readdirSync('/proc/self/task')) {
    let children;
    try {
      children = readFileSync(`/proc/self/task/${tid}/children`, 'utf8');
    } catch {
      continue; // thread gone
    }
    for (const pid of children.trim().split(/\s+/).filter(Boolean)) {
      try {
        const m = readFileSync(`/proc/${pid}/status`, 'utf8').match(/^VmRSS:\s+(\d+) kB/m);
        if (m) kb.push(Number(m[1]));
      } catch {
        /* exited */
      }
    }
  }
  return kb;
}

/**
 * Pool children: the host forks process.argv[1] (bench/child.mjs) with NESTJS_RESQUE_CHILD set; child.mjs
 * sees they are not the harness's own children and lands here, where run() turns the process into a child.
 */
/** The dashboard scenario: server time per page (bench/lib/dashboard-bench.mjs), dist/dashboard of this build. */
export async function dashboard(opts) {
  const deps = await load();
  const dashboardLib = await import(new URL('./dashboard/index.js', DIST).href);
  return measureDashboard(deps, dashboardLib, { ...opts, namespace: NAMESPACE });
}

export async function delayed({ port, n, slots, leadMs, spreadMs, timeoutMs }) {
  const deps = await load();
  const done = completion(n);
  const stopPolling = pollProcessed(port, done);
  const handle = await deps.lib.ResqueWorkerHost.run(workerModule(deps, port), hostOptions({ slots, isolation: 'inline' }));
  // The delayed → queue mover: lib/scheduler/scheduler.host.ts (ResqueSchedulerHost.run → handle.stop()),
  // at its default interval (1 s; it sleeps until the next due timestamp when that is sooner).
  if (typeof deps.lib.ResqueSchedulerHost?.run !== 'function') throw new Error('dist/index.js lacks ResqueSchedulerHost');
  const scheduler = await deps.lib.ResqueSchedulerHost.run(producerModule(deps, port), { handleSignals: false });
  const app = await deps.NestFactory.createApplicationContext(producerModule(deps, port), { logger: false });
  const queue = app.get(deps.lib.ResqueQueue);
  await sleep(100);

  const dueStart = Date.now() + leadMs;
  const due = dueTimes(n, dueStart, spreadMs);
  const e0 = now();
  // enqueueIn takes seconds from now; php-resque-scheduler keeps whole-second timestamps on the wire.
  await inFlight(n, 100, (i) => queue.enqueueIn((due[i] - Date.now()) / 1000, QUEUE, JOB, { i, due: due[i] }));
  const enqueueMs = now() - e0;
  try {
    await done.wait(timeoutMs);
  } finally {
    await bounded(Promise.all([handle.stop(), scheduler.stop(), app.close()]), 15_000);
    await stopPolling();
  }
  const seconds = (last.done - dueStart) / 1000;
  return { n, count: done.count, seconds, jobs_per_s: n / seconds, enqueue_ms: Math.round(enqueueMs), enqueued_before_due: enqueueMs < leadMs, ...latenessStats(lateness) };
}

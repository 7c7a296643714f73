#!/usr/bin/env node
// npm run bench — nestjs-resque next to BullMQ and node-resque (and two floors) against one private
// redis-server, every measured side in its own pinned child process. See bench/README.md.
//
//   node bench/run.mjs [--quick] [--only <scenario[,…]>] [--systems <id[,…]>] [--json <file>]
//                      [--pin redis=0,bench=1 | --no-pin] [--verbose]
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { cpus as osCpus, loadavg } from 'node:os';
import { spawnSync } from 'node:child_process';
import { startRedis, which } from '../scripts/redis-server.mjs';
import { startRedisCluster } from '../scripts/redis-cluster.mjs';
import { Redis } from 'ioredis';
import { runMeasured, killActive } from './lib/measured.mjs';
import { printTable, jsonLine } from './lib/report.mjs';
import { dashboardPages } from './lib/dashboard-data.mjs';
import { POLICY_VARIANTS } from './lib/policies.mjs';
import { IO_JOB_MS } from './lib/kit.mjs';

const SYSTEMS = ['ours', 'bullmq', 'node-resque', 'raw-floor', 'fork-floor'];

// Sizes: a full run takes a few minutes on a 2-vCPU box, --quick well under one.
const SIZES = {
  full: {
    enqueue: 10_000, process1: 10_000, processMany: 20_000, pool: Number(process.env.BENCH_POOL_JOBS ?? 5_000), poolIo: 8_000, childPerJob: 10, delayed: 5_000, parentRss: Number(process.env.BENCH_RSS_JOBS ?? 1_100_000),
    policy: { rounds: 2, retryRounds: 3, idleSeconds: 5 },
    dashboard: { jobs: 1_000_000, failures: 100_000, delayed: 100_000, runs: 100, warmup: 3 },
  },
  quick: {
    enqueue: 1_000, process1: 2_000, processMany: 3_000, pool: 600, poolIo: 800, childPerJob: 3, delayed: 1_000, parentRss: 110_000,
    policy: { rounds: 2, retryRounds: 3, idleSeconds: 2 },
    dashboard: { jobs: 10_000, failures: 1_000, delayed: 1_000, runs: 20, warmup: 2 },
  },
};

function scenarios(z) {
  return [
    { id: 'enqueue-serial', title: 'enqueue, each awaited before the next', kind: 'enqueue', mode: 'serial', n: z.enqueue },
    { id: 'enqueue-inflight', title: 'enqueue, 100 in flight', kind: 'enqueue', mode: 'inflight', inflight: 100, n: z.enqueue },
    { id: 'enqueue-bulk', title: 'bulk enqueue, batches of 1,000', kind: 'enqueue', mode: 'bulk', chunk: 1000, n: z.enqueue },
    { id: 'process-1', title: 'processing no-op jobs, one slot, in process', kind: 'work', slots: 1, isolation: 'inline', n: z.process1 },
    { id: 'process-many', title: 'processing no-op jobs, one process with 50 slots', kind: 'work', slots: 50, isolation: 'inline', n: z.processMany },
    { id: 'pool-1', title: 'processing in pooled child processes, 1 slot', kind: 'work', slots: 1, isolation: 'pool', n: z.pool },
    { id: 'pool-4', title: 'processing in pooled child processes, 4 slots', kind: 'work', slots: 4, isolation: 'pool', n: z.pool },
    {
      // Ours with every child booted at start-up (the default boots them on demand): what on-demand saves.
      id: 'pool-4-eager',
      title: "processing in pooled child processes, 4 slots, childStart: 'eager'",
      kind: 'work',
      slots: 4,
      isolation: 'pool',
      childStart: 'eager',
      n: z.pool,
      compareTo: 'pool-4',
      systems: ['ours'],
    },
    {
      // Jobs that wait on I/O (a timer) leave the CPU free: here four children are worth their boots.
      id: 'pool-4-io',
      title: `processing jobs that wait ${IO_JOB_MS} ms on I/O, pooled child processes, 4 slots`,
      kind: 'work',
      slots: 4,
      isolation: 'pool',
      jobMs: IO_JOB_MS,
      n: z.poolIo,
      systems: ['ours', 'bullmq'],
    },
    {
      // The cost of Redis Cluster mode: pool-4 again, on a private 3-master cluster (started only when this
      // row runs, pinned like redis-server) with a hash-tagged namespace, so every key is on one master.
      id: 'pool-4-cluster',
      title: 'processing in pooled child processes, 4 slots, on a 3-master Redis Cluster (namespace {resque})',
      kind: 'work',
      slots: 4,
      isolation: 'pool',
      n: z.pool,
      clusterMasters: 3,
      compareTo: 'pool-4',
      systems: ['ours'],
    },
    { id: 'child-per-job', title: 'one child process per job, 1 slot', kind: 'work', slots: 1, isolation: 'pool', maxJobsPerChild: 1, n: z.childPerJob },
    {
      id: 'delayed',
      title: `${z.delayed.toLocaleString('en-US')} delayed jobs due over 1 s (lateness = processed − due), 50 slots`,
      kind: 'delayed',
      slots: 50,
      n: z.delayed,
      // The first job is due this long after enqueueing starts, so enqueueing (≈2.5k jobs/s for the
      // slowest peer here) is over before anything is due; a row says so when it was not.
      leadMs: 1500 + Math.round(z.delayed * 0.6),
      spreadMs: 1000,
    },
    {
      // Server time per page of our dashboard (bench/lib/dashboard-bench.mjs) over big data written by the
      // harness (bench/lib/dashboard-data.mjs); n is the number of measured requests.
      id: 'dashboard',
      title: `dashboard pages, server time: a queue of ${z.dashboard.jobs.toLocaleString('en-US')} jobs, ${z.dashboard.failures.toLocaleString('en-US')} failures, ${z.dashboard.delayed.toLocaleString('en-US')} delayed timestamps, 200 workers; ${z.dashboard.runs} requests per page`,
      kind: 'dashboard',
      ...z.dashboard,
      n: dashboardPages(z.dashboard).length * z.dashboard.runs,
      systems: ['ours'],
      timeoutMs: 600_000,
    },
    ...policyScenarios(z),
    {
      // Opt-in (--only parent-rss, npm run bench:rss): minutes long. The worker parent's RSS and heap are
      // sampled every 1/22 of the run; growth counts from the end of the warm-up (the first 1/11).
      id: 'parent-rss',
      title: `worker parent's RSS over ${z.parentRss.toLocaleString('en-US')} pooled no-op jobs, 2 slots (COUNT=2)`,
      kind: 'work',
      slots: 2,
      isolation: 'pool',
      n: z.parentRss,
      sampleEvery: Math.round(z.parentRss / 22),
      warmup: Math.round(z.parentRss / 11),
      optIn: true,
      systems: ['ours'],
      timeoutMs: 3_600_000,
    },
  ];
}

/**
 * The cost of each job policy (README "Job policies") next to the plain path, ours only: the same no-op
 * job class with and without the policy, in interleaved rounds of the same run (bench/lib/policies.mjs),
 * compared by their medians. Peers are not run: none has all of these, and no one line would compare alike.
 */
function policyScenarios(z) {
  const peers = 'ours only: BullMQ and node-resque have no like-for-like equivalent to put in one row';
  const process1 = { kind: 'work', slots: 1, isolation: 'inline', n: z.process1, systems: ['ours'], note: peers };
  return [
    { id: 'policy-retry', title: 'process-1 with retry declared but never used vs a plain class (must stay within 5 %)', ...process1, policies: ['plain', 'retry'], rounds: z.policy.retryRounds, maxCostPct: 5 },
    { id: 'policy-unique-enqueue', title: 'enqueue, 100 in flight: a unique class (distinct keys) vs a plain class', kind: 'enqueue', mode: 'inflight', inflight: 100, n: z.enqueue, systems: ['ours'], note: peers, policies: ['plain', 'unique'], rounds: z.policy.rounds },
    { id: 'policy-unique', title: "process-1: unique { until: 'finished' } jobs (lock released by each outcome) vs plain jobs", ...process1, policies: ['plain', 'unique'], rounds: z.policy.rounds },
    { id: 'policy-throttle', title: 'process-1: throttle and maxConcurrent that never bind vs a plain class (the cost of the check)', ...process1, policies: ['plain', 'throttle-class', 'throttle-queue'], rounds: z.policy.rounds },
    {
      id: 'policy-throttle-idle',
      title: `a worker (inline, 1 slot, interval 1 s) for ${z.policy.idleSeconds} s: throttled with jobs waiting vs idle on an empty queue (CPU, Redis commands)`,
      kind: 'idle',
      seconds: z.policy.idleSeconds,
      systems: ['ours'],
      note: peers,
      policies: ['idle-blocking', 'idle-polling', 'throttled-queue', 'throttled-class'],
      rounds: 1,
    },
  ];
}

function parseArgs(argv) {
  const args = { quick: false, only: null, systems: null, json: null, pin: 'redis=0,bench=1', verbose: false, cpuProf: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new UsageError(`${a} needs a value`);
      return v;
    };
    if (a === '--quick') args.quick = true;
    else if (a === '--only') args.only = value().split(',').filter(Boolean);
    else if (a === '--systems') args.systems = value().split(',').filter(Boolean);
    else if (a === '--json') args.json = value();
    else if (a === '--pin') args.pin = value();
    else if (a === '--no-pin') args.pin = null;
    else if (a === '--verbose') args.verbose = true;
    else if (a === '--cpu-prof') args.cpuProf = value();
    else if (a === '--help' || a === '-h') {
      process.stdout.write(
        [
          'usage: node bench/run.mjs [options]      (npm run bench -- [options])',
          '  --quick                 small sizes, a smoke run (under a minute on a quiet 2-vCPU box)',
          `  --only <ids>            scenarios, comma-separated; a prefix selects a group (enqueue, process, pool, policy):`,
          `                          ${scenarios(SIZES.full).map((x) => x.id).join(', ')}`,
          `  --systems <ids>         ${SYSTEMS.join(', ')} (default: all)`,
          '  --json <file>           also write the JSON lines to <file> (bench/results/ is git-ignored)',
          '  --pin redis=A,bench=B   CPU lists for taskset (default redis=0,bench=1; env BENCH_PIN, "none" = unpinned)',
          '  --no-pin                run unpinned',
          '  --verbose               stream the measured processes\' output',
          '  --cpu-prof <dir>        write a V8 CPU profile of every measured process (pool children too) into <dir>',
        ].join('\n') + '\n',
      );
      process.exit(0);
    } else throw new UsageError(`unknown argument ${a} (try --help)`);
  }
  if (process.env.BENCH_PIN && args.pin === 'redis=0,bench=1') args.pin = process.env.BENCH_PIN === 'none' ? null : process.env.BENCH_PIN;
  return args;
}

/** CPU layout: redis (and this harness, which mostly sleeps) on one CPU set, every measured process on another. */
function pinLayout(spec) {
  const taskset = which('taskset');
  if (!spec) return { redis: null, bench: null, taskset, text: 'unpinned (--no-pin)', short: 'none' };
  if (!taskset) return { redis: null, bench: null, taskset: null, text: 'unpinned (taskset not found)', short: 'none (no taskset)' };
  const parts = Object.fromEntries(spec.split(',').map((kv) => kv.split('=')));
  if (!parts.redis || !parts.bench) throw new UsageError(`--pin wants redis=<cpus>,bench=<cpus>, got "${spec}"`);
  for (const list of [parts.redis, parts.bench]) {
    for (const cpu of list.split(/[,-]/)) {
      if (!/^\d+$/.test(cpu) || Number(cpu) >= cpuCount()) throw new UsageError(`--pin: CPU "${cpu}" does not exist here (${cpuCount()} CPUs)`);
    }
  }
  if (cpuCount() < 2 && parts.redis === parts.bench) {
    return { redis: null, bench: null, taskset, text: 'unpinned (one CPU)', short: 'none (one CPU)' };
  }
  // Pin the harness itself (all its threads) with redis so the measured CPU only runs the measured tree.
  const self = spawnSync(taskset, ['-a', '-pc', parts.redis, String(process.pid)], { encoding: 'utf8' });
  if (self.status !== 0) throw new Error(`taskset could not pin the harness to CPU ${parts.redis}: ${self.stderr.trim()}`);
  return { redis: parts.redis, bench: parts.bench, taskset, text: `taskset: redis-server + harness on CPU ${parts.redis}, measured processes on CPU ${parts.bench}`, short: `redis+harness=${parts.redis},measured=${parts.bench}` };
}

function version(pkg) {
  try {
    return JSON.parse(readFileSync(new URL(`../node_modules/${pkg}/package.json`, import.meta.url), 'utf8')).version;
  } catch {
    return '?';
  }
}

const cpuCount = () => osCpus().length;
/** Set by SIGINT/SIGTERM: the run stops, the signal handler cleans up and exits. */
let interrupted = null;
/** A mistake in the command line: reported without a stack. */
class UsageError extends Error {}
const mb = (kb) => Math.round((kb / 1024) * 10) / 10;

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const z = args.quick ? SIZES.quick : SIZES.full;
  const all = scenarios(z);
  // Opt-in scenarios run only when named in full.
  const chosen = args.only
    ? all.filter((s) => args.only.some((o) => s.id === o || (!s.optIn && (s.id.startsWith(`${o}-`) || s.id.startsWith(o)))))
    : all.filter((s) => !s.optIn);
  if (!chosen.length) throw new UsageError(`--only ${args.only.join(',')} matches no scenario (${all.map((s) => s.id).join(', ')})`);
  const systemIds = args.systems ?? SYSTEMS;
  for (const id of systemIds) if (!SYSTEMS.includes(id)) throw new UsageError(`unknown system ${id} (${SYSTEMS.join(', ')})`);

  const cpus = cpuCount(); // before pinning: availableParallelism() follows this process's affinity
  const pin = pinLayout(args.pin);
  const systems = [];
  for (const id of systemIds) {
    const mod = await import(`./systems/${id}.mjs`);
    systems.push({ id, mod, availability: await mod.available() });
  }

  const redis = await startRedis({ cpu: pin.redis, taskset: pin.taskset });
  const admin = redis.client(); // the harness's own client (closed by redis.stop())
  // The Redis Cluster of the cluster scenarios, started at the first one that runs: startup nodes and one
  // plain client per master (to flush every master between runs).
  let cluster = null;
  const clusterFor = async (s) => {
    if (!s.clusterMasters) return null;
    if (!cluster) {
      const started = await startRedisCluster(s.clusterMasters, { cpu: pin.redis, taskset: pin.taskset });
      cluster = { started, admins: started.ports.map((port) => new Redis({ port, host: '127.0.0.1' })) };
    }
    return cluster;
  };
  let stopped = null;
  const stopAll = () =>
    (stopped ??= (async () => {
      killActive();
      await Promise.all([
        redis.stop(),
        cluster && (async () => {
          await Promise.all(cluster.admins.map((c) => c.quit().catch(() => c.disconnect())));
          await cluster.started.stop();
        })(),
      ]);
    })());
  for (const sig of ['SIGINT', 'SIGTERM']) {
    process.once(sig, () => {
      interrupted = sig;
      process.stderr.write(`\n${sig}: stopping redis-server and measured children\n`);
      stopAll().finally(() => process.exit(130));
    });
  }

  const meta = {
    mode: args.quick ? 'quick' : 'full',
    node: process.version,
    redis_version: redis.version,
    pin: pin.text,
    load_1m: loadavg()[0],
    cpus,
    versions: { bullmq: version('bullmq'), 'node-resque': version('node-resque'), ioredis: version('ioredis'), '@nestjs/core': version('@nestjs/core') },
  };
  process.stderr.write(`bench: ${meta.mode} run, redis-server ${redis.version} on 127.0.0.1:${redis.port} (pid ${redis.pid}); ${pin.text}\n`);
  if (meta.load_1m > 0.5) process.stderr.write(`bench: load average ${meta.load_1m.toFixed(2)} at start: other work on this machine makes the numbers noisy\n`);

  const results = [];
  const record = (row) => {
    row.pin = pin.short;
    results.push(row);
    if (args.json) appendFileSync(args.json, `${jsonLine(row)}\n`);
  };
  if (args.json) {
    mkdirSync(dirname(args.json), { recursive: true });
    writeFileSync(args.json, '');
  }

  try {
    for (const s of chosen) {
      if (interrupted) break;
      process.stderr.write(`\n[${s.id}] ${s.title}${s.n !== undefined ? ` (n=${s.n})` : ''}\n`);
      for (const sys of systems) {
        if (interrupted) break;
        const planned = s.systems && !s.systems.includes(sys.id) ? { na: 'not applicable' } : sys.mod.plan(s);
        const base = { system: sys.id, scenario: s.id, ...(sys.mod.floor ? { floor: true } : {}) };
        if (!Array.isArray(planned)) {
          if (planned.na !== 'not applicable') record({ ...base, variant: '', na: planned.na });
          continue;
        }
        for (const run of planned) {
          if (interrupted) break;
          const row = { ...base, variant: run.variant, ...(run.policy ? { policy: run.policy, round: run.round } : {}) };
          if (!sys.availability.ok) {
            record({ ...row, skipped: sys.availability.reason });
            process.stderr.write(`  ${sys.id}: skipped (${sys.availability.reason})\n`);
            continue;
          }
          const wall0 = Date.now();
          const onCluster = await clusterFor(s);
          const nodes = onCluster?.started.nodes;
          await Promise.all([admin, ...(onCluster?.admins ?? [])].map((c) => c.flushall()));
          if (run.role === 'work' || run.role === 'idle') {
            const variant = run.policy ? POLICY_VARIANTS[run.policy] : {};
            await sys.mod.prefill({ port: redis.port, n: variant.prefill ?? s.n, cluster: nodes, unique: variant.unique === true });
          }
          if (run.role === 'dashboard') {
            const f0 = Date.now();
            await sys.mod.prefillDashboard({ port: redis.port, ...s });
            process.stderr.write(`  data written in ${((Date.now() - f0) / 1000).toFixed(1)} s\n`);
          }
          const timeoutMs = s.timeoutMs ?? (s.kind === 'delayed' ? 60_000 : 180_000);
          const opts = { ...s, ...run, system: sys.id, port: redis.port, ...(nodes ? { cluster: nodes } : {}), timeoutMs };
          row.load_1m = Math.round(loadavg()[0] * 100) / 100;
          const m = await runMeasured({ opts, cpu: pin.bench, taskset: pin.taskset, timeoutMs: timeoutMs + 30_000, verbose: args.verbose, label: sys.id, cpuProf: args.cpuProf });
          const measured = { peak_rss_mb: mb(m.peakTreeRssKb), main_hwm_mb: mb(m.hwmKb), max_procs: m.maxProcs, leftover_processes: m.leftovers };
          if (m.error) {
            record({ ...row, n: s.n, error: m.error, ...measured });
            process.stderr.write(`  ${sys.id} (${run.variant}): ERROR ${m.error.split('\n')[0]}\n${m.tail ? `${m.tail.replace(/^/gm, '      ')}\n` : ''}`);
            continue;
          }
          const { max_rss_kb, ...result } = m.result;
          void max_rss_kb;
          record({ ...row, ...result, ...measured });
          if (result.pages) {
            const worst = result.pages.reduce((a, b) => (b.p99_ms > a.p99_ms ? b : a));
            process.stderr.write(`  ${sys.id} (${run.variant}): ${result.pages.length} pages × ${result.runs} requests, worst p99 ${worst.p99_ms} ms (${worst.page}) [${((Date.now() - wall0) / 1000).toFixed(1)} s wall]\n`);
            continue;
          }
          if (result.cpu_ms_per_s !== undefined) {
            process.stderr.write(`  ${sys.id} (${run.variant}): worker CPU ${result.cpu_ms_per_s} ms/s, Redis ${result.redis_cmds_per_s} commands/s over ${result.seconds} s [${((Date.now() - wall0) / 1000).toFixed(1)} s wall]\n`);
            continue;
          }
          const late = result.lateness_p99_ms !== undefined ? `, lateness p50 ${result.lateness_p50_ms} ms p99 ${result.lateness_p99_ms} ms` : '';
          const wall = ((Date.now() - wall0) / 1000).toFixed(1);
          process.stderr.write(`  ${sys.id} (${run.variant}): ${Math.round(result.jobs_per_s).toLocaleString('en-US')} jobs/s in ${result.seconds.toFixed(3)} s${late}, ${measured.peak_rss_mb} MB [${wall} s wall]\n`);
          if (result.memory_samples) printMemorySamples(result.memory_samples);
        }
      }
    }
  } finally {
    await stopAll();
  }

  printTable(results, chosen, meta);
  process.stdout.write('\n');
  for (const r of results) process.stdout.write(`${jsonLine(r)}\n`);
  if (args.json) process.stderr.write(`\nJSON lines written to ${args.json}\n`);
  if (results.some((r) => r.error)) process.exitCode = 1;
}

/** The parent-rss series: one line per sample (MB). */
function printMemorySamples(samples) {
  process.stderr.write('           jobs  parent RSS  heap used  heap total  old space  external  children RSS\n');
  for (const x of samples) {
    const cols = [
      x.jobs.toLocaleString('en-US').padStart(13),
      x.rss_mb.toFixed(1).padStart(10),
      x.heap_used_mb.toFixed(1).padStart(9),
      x.heap_total_mb.toFixed(1).padStart(10),
      (x.spaces_mb.old_space ?? 0).toFixed(1).padStart(9),
      x.external_mb.toFixed(1).padStart(8),
      x.children_rss_mb.map((v) => v.toFixed(1)).join(' / '),
    ];
    process.stderr.write(`  ${cols.join('  ')}\n`);
  }
}

main().catch((error) => {
  if (interrupted) return; // the signal handler is stopping redis-server and will exit
  process.stderr.write(`bench failed: ${error instanceof UsageError ? error.message : (error?.stack ?? error)}\n`);
  killActive();
  process.exit(1);
});

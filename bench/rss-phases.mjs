// Where a one-slot worker process's RSS goes, phase by phase (issue 12, "memory"): ours (inline, 1 slot, the
// bench's host options), BullMQ's Worker (concurrency 1), and BullMQ's Worker in a process that has also
// loaded Nest and booted an empty application context (what a BullMQ worker inside a Nest app carries).
//
//   npm run build && nice -n 10 node bench/rss-phases.mjs [--jobs 10000] [--rounds 2] [--systems ours,bullmq,bullmq-nest]
//
// One private redis-server; each (system, round) is its own child process, systems alternating within a
// round, pinned to CPU 1 with redis-server on CPU 0 when taskset and two CPUs are there. Each child records
// process.memoryUsage() and V8's new/old space sizes at each phase and its VmHWM at the end; the table
// shows the median over the rounds. BENCH_OURS_DIST points ours at another build (bench/lib/ours-module.mjs).
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { getHeapSpaceStatistics } from 'node:v8';

const SELF = fileURLToPath(import.meta.url);
const mb = (bytes) => Math.round((bytes / 1048576) * 10) / 10;

function phase(name) {
  const m = process.memoryUsage();
  const space = (id) => mb(getHeapSpaceStatistics().find((s) => s.space_name === id)?.space_size ?? 0);
  return { name, rss: mb(m.rss), heapTotal: mb(m.heapTotal), heapUsed: mb(m.heapUsed), newSpace: space('new_space'), oldSpace: space('old_space') };
}

function vmHwmMb() {
  const kb = Number(/VmHWM:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? 0);
  return Math.round((kb / 1024) * 10) / 10;
}

// ---- child side ------------------------------------------------------------------------------------

async function importNest() {
  await import('reflect-metadata');
  const { Module } = await import('@nestjs/common');
  const { NestFactory } = await import('@nestjs/core');
  await import('rxjs');
  return { Module, NestFactory };
}

async function ours(port, n, phases) {
  const { Module, NestFactory } = await importNest();
  phases.push(phase('Nest + rxjs imported'));
  const { DIST, benchWorkerModule } = await import('./lib/ours-module.mjs');
  const { QUEUE } = await import('./lib/kit.mjs');
  const lib = await import(DIST.href);
  phases.push(phase('library imported'));
  let done = 0;
  let finished;
  const all = new Promise((resolve) => (finished = resolve));
  const module = benchWorkerModule({ lib, Module, NestFactory }, port, () => {
    if (++done === n) finished();
  });
  const handle = await lib.ResqueWorkerHost.run(module, { queues: [QUEUE], concurrency: 1, isolation: 'inline', blocking: true, interval: 1, appOptions: { logger: false } });
  phases.push(phase('worker booted'));
  await all;
  phases.push(phase(`after ${n} jobs`));
  await handle.stop();
}

async function bullmq(port, n, phases, withNest) {
  let app = null;
  if (withNest) {
    const { Module, NestFactory } = await importNest();
    class EmptyModule {}
    Module({})(EmptyModule);
    app = await NestFactory.createApplicationContext(EmptyModule, { logger: false });
    phases.push(phase('Nest + empty context'));
  }
  const { Worker } = await import('bullmq');
  const { QUEUE } = await import('./lib/kit.mjs');
  phases.push(phase('library imported'));
  let done = 0;
  let finished;
  const all = new Promise((resolve) => (finished = resolve));
  const worker = new Worker(QUEUE, async () => {}, { connection: { host: '127.0.0.1', port }, concurrency: 1, autorun: false });
  worker.on('completed', () => {
    if (++done === n) finished();
  });
  await worker.waitUntilReady();
  phases.push(phase('worker booted'));
  worker.run().catch((error) => console.error(`worker.run: ${error?.message}`));
  await all;
  phases.push(phase(`after ${n} jobs`));
  await worker.close();
  await app?.close();
}

async function child({ system, port, n }) {
  const phases = [phase('node started')];
  if (system === 'ours') await ours(port, n, phases);
  else await bullmq(port, n, phases, system === 'bullmq-nest');
  process.send({ phases, hwm: vmHwmMb() }, () => process.exit(0));
}

// ---- harness side ----------------------------------------------------------------------------------

function args(argv) {
  const out = { jobs: 10_000, rounds: 2, systems: ['ours', 'bullmq', 'bullmq-nest'] };
  for (let i = 0; i < argv.length; i += 2) {
    const [key, value] = [argv[i], argv[i + 1]];
    if (key === '--jobs') out.jobs = Number(value);
    else if (key === '--rounds') out.rounds = Number(value);
    else if (key === '--systems') out.systems = value.split(',');
    else throw new Error(`unknown option ${key} (--jobs N, --rounds N, --systems ours,bullmq,bullmq-nest)`);
  }
  return out;
}

function runChild(system, port, n, taskset) {
  const node = [process.execPath, SELF];
  const [cmd, argv] = taskset ? [taskset, ['-c', '1', ...node]] : [node[0], node.slice(1)];
  const proc = spawn(cmd, argv, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], env: { ...process.env, BENCH_RSS_PHASES: JSON.stringify({ system, port, n }) } });
  // Bounded: a stuck run is killed (by its pid) rather than hanging the script.
  const timer = setTimeout(() => proc.kill('SIGKILL'), 120_000);
  return new Promise((resolve, reject) => {
    let result = null;
    proc.on('message', (message) => (result = message));
    proc.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (result) resolve(result);
      else reject(new Error(`${system}: the child ended (${signal ?? code}) without a result`));
    });
  });
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : Math.round(((sorted[mid - 1] + sorted[mid]) / 2) * 10) / 10;
};

function report(system, runs) {
  console.log(`\n${system} (median of ${runs.length}; peak RSS (VmHWM) per run: ${runs.map((r) => r.hwm).join(', ')} MB)`);
  console.log('  phase                      RSS MB  heap total  heap used  new space  old space');
  runs[0].phases.forEach((p, i) => {
    const col = (key) => String(median(runs.map((r) => r.phases[i][key]))).padStart(9);
    console.log(`  ${p.name.padEnd(24)} ${col('rss')} ${col('heapTotal')}  ${col('heapUsed')}  ${col('newSpace')}  ${col('oldSpace')}`);
  });
}

async function harness(argv) {
  // Imported here, not at the top: the measured child starts from a bare node.
  const { startRedis, which } = await import('../scripts/redis-server.mjs');
  const { Redis } = await import('ioredis');
  const { jobs, rounds, systems } = args(argv);
  const taskset = availableParallelism() >= 2 ? which('taskset') : null;
  const redis = await startRedis(taskset ? { cpu: '0', taskset } : {});
  const runs = Object.fromEntries(systems.map((s) => [s, []]));
  try {
    for (let round = 0; round < rounds; round++) {
      for (const system of round % 2 ? [...systems].reverse() : systems) {
        const client = new Redis({ port: redis.port, host: '127.0.0.1' });
        await client.flushall();
        await client.quit();
        const adapter = await import(`./systems/${system === 'ours' ? 'ours' : 'bullmq'}.mjs`);
        await adapter.prefill({ port: redis.port, n: jobs });
        runs[system].push(await runChild(system, redis.port, jobs, taskset));
      }
    }
  } finally {
    await redis.stop();
  }
  console.log(`${jobs} no-op jobs per run, ${taskset ? 'measured process on CPU 1, redis-server on CPU 0' : 'unpinned'}`);
  for (const system of systems) report(system, runs[system]);
}

if (process.env.BENCH_RSS_PHASES) await child(JSON.parse(process.env.BENCH_RSS_PHASES));
else await harness(process.argv.slice(2));

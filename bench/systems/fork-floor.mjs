// The floor for one-child-per-job: per job, a bare child_process.fork that boots a Nest application
// context of the same worker module ours boots (bench/lib/ours-module.mjs), acks over IPC and exits;
// measured as fork → exit, one at a time. Other rows: the same with an empty module (Nest alone), and a
// child that only acks (the process alone).
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { completion, now } from '../lib/kit.mjs';

export const id = 'fork-floor';
export const floor = true;
const NEST_CHILD = fileURLToPath(new URL('../floor/nest-child.mjs', import.meta.url));
const BARE_CHILD = fileURLToPath(new URL('../floor/bare-child.mjs', import.meta.url));

export async function available() {
  return { ok: true };
}

export function plan(s) {
  if (s.kind === 'work' && s.maxJobsPerChild === 1) {
    return [
      { variant: 'fork + createApplicationContext(same worker module)', role: 'work', child: 'nest' },
      { variant: 'fork + createApplicationContext(empty module)', role: 'work', child: 'nest-empty' },
      { variant: 'bare fork (ack + exit)', role: 'work', child: 'bare' },
    ];
  }
  return { na: 'not applicable' };
}

export async function prefill() {}

function once(script, env) {
  return new Promise((resolve, reject) => {
    const child = fork(script, [], { execArgv: [], env: { ...process.env, ...env }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let acked = false;
    child.on('message', (m) => (acked = m === 'ack'));
    child.on('error', reject);
    child.on('exit', (code) => (acked && code === 0 ? resolve() : reject(new Error(`floor child exited ${code} (acked: ${acked})`))));
  });
}

export async function work({ n, child, port }) {
  const script = child === 'bare' ? BARE_CHILD : NEST_CHILD;
  const env = { BENCH_FLOOR_PORT: String(port), BENCH_FLOOR_EMPTY: child === 'nest-empty' ? '1' : '0' };
  const done = completion(n);
  const t0 = now();
  for (let i = 0; i < n; i++) {
    await once(script, env);
    done.tick();
  }
  return done.result(t0, { ms_per_job: Math.round(((now() - t0) / n) * 10) / 10 });
}

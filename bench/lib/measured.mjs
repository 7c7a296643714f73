// Runs one measured child (bench/child.mjs) pinned with taskset, samples the RSS of its whole process
// tree from /proc (workers that fork children are measured with them), and cleans up anything left.
import { spawn } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const CHILD = fileURLToPath(new URL('../child.mjs', import.meta.url));
const SAMPLE_MS = 100;
/** Measured children still running (so an interrupted run can end them by pid). */
const active = new Set();

export function killActive() {
  for (const pid of active) {
    for (const p of tree(pid).reverse()) {
      try {
        process.kill(p, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  }
}

function readStatusKb(pid, field) {
  try {
    const m = readFileSync(`/proc/${pid}/status`, 'utf8').match(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

function cmdline(pid) {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return null;
  }
}

/** Direct children of pid (a child forked by any thread is listed under that thread). */
function childrenOf(pid) {
  const out = [];
  let tasks;
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tasks) {
    try {
      for (const c of readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim().split(/\s+/)) if (c) out.push(Number(c));
    } catch {
      /* thread gone */
    }
  }
  return out;
}

function tree(root) {
  const pids = [];
  const stack = [root];
  while (stack.length) {
    const pid = stack.pop();
    pids.push(pid);
    stack.push(...childrenOf(pid));
  }
  return pids;
}

/**
 * @param {{ opts: object, cpu: string | null, taskset: string | null, timeoutMs: number, verbose: boolean, label: string, cpuProf?: string | null }} p
 * @returns {Promise<{ result?: object, error?: string, peakTreeRssKb: number, hwmKb: number, maxProcs: number, leftovers: number, tail: string }>}
 */
export function runMeasured({ opts, cpu, taskset, timeoutMs, verbose, label, cpuProf = null }) {
  // Node refuses --cpu-prof in NODE_OPTIONS; as a flag of the child it reaches pool children too (execArgv).
  const node = [process.execPath, ...(cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${cpuProf}`] : []), CHILD];
  const [cmd, args] = cpu !== null && taskset ? [taskset, ['-c', cpu, ...node]] : [node[0], node.slice(1)];
  const child = spawn(cmd, args, {
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    env: { ...process.env, BENCH_OPTS: JSON.stringify(opts), BENCH_HARNESS_PID: String(process.pid) },
  });
  active.add(child.pid);
  const tail = [];
  const onData = (chunk) => {
    for (const line of String(chunk).split('\n')) {
      if (!line) continue;
      if (verbose) process.stderr.write(`    [${label}] ${line}\n`);
      tail.push(line);
      if (tail.length > 40) tail.shift();
    }
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);

  const seen = new Map(); // pid -> cmdline, for every descendant ever sampled
  let peakTreeRssKb = 0;
  let hwmKb = 0;
  let maxProcs = 0;
  const sample = () => {
    if (!child.pid) return;
    const pids = tree(child.pid);
    let sum = 0;
    for (const pid of pids) {
      sum += readStatusKb(pid, 'VmRSS');
      if (pid !== child.pid && !seen.has(pid)) seen.set(pid, cmdline(pid));
    }
    hwmKb = Math.max(hwmKb, readStatusKb(child.pid, 'VmHWM'));
    peakTreeRssKb = Math.max(peakTreeRssKb, sum);
    maxProcs = Math.max(maxProcs, pids.length);
  };
  const sampler = setInterval(sample, SAMPLE_MS);

  return new Promise((resolve) => {
    let result;
    let error;
    const timer = setTimeout(() => {
      error = `timed out after ${Math.round(timeoutMs / 1000)} s`;
      killTree(child.pid);
    }, timeoutMs);
    child.on('message', (msg) => {
      if (msg?.type === 'result') {
        sample();
        result = msg.result;
      } else if (msg?.type === 'error') {
        sample();
        error = msg.error;
      }
    });
    child.on('exit', async (code, signal) => {
      active.delete(child.pid);
      clearTimeout(timer);
      clearInterval(sampler);
      if (!result && !error) error = `child exited (${signal ?? code}) without a result`;
      const leftovers = await reapLeftovers(seen);
      if (result) hwmKb = Math.max(hwmKb, result.max_rss_kb ?? 0);
      peakTreeRssKb = Math.max(peakTreeRssKb, hwmKb);
      resolve({ result, error, peakTreeRssKb, hwmKb, maxProcs, leftovers, tail: tail.join('\n') });
    });
  });

  function killTree(root) {
    if (!root) return;
    for (const pid of tree(root).reverse()) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
  }
}

/** Descendants that outlived the measured child: give them 2 s to exit, then end them by pid. */
async function reapLeftovers(seen) {
  const alive = () => [...seen].filter(([pid, cmd]) => cmd !== null && cmdline(pid) === cmd).map(([pid]) => pid);
  const deadline = Date.now() + 2000;
  let pids = alive();
  while (pids.length && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    pids = alive();
  }
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone meanwhile */
    }
  }
  return pids.length;
}

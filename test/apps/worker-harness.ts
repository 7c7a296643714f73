// Helpers for the worker tests: start test/apps/worker-main.ts as a real process, wait on Redis state.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';

export interface WorkerProcess {
  readonly proc: ChildProcess;
  readonly pid: number;
  /** Resolves with the worker ids once the host printed `ready`. */
  readonly ready: Promise<string[]>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output(): { stdout: string; stderr: string };
  signal(signal: NodeJS.Signals): void;
}

const started: WorkerProcess[] = [];

/** Starts the worker entrypoint with php-style env (QUEUE, COUNT, INTERVAL, ...) and WORKER_OPTIONS JSON. */
export function spawnWorker(
  redisUrl: string,
  env: Record<string, string>,
  options: Record<string, unknown> = {},
  entry = 'test/apps/worker-main.ts',
): WorkerProcess {
  const proc = spawn(process.execPath, ['--import', './test/support/ts-register.mjs', entry], {
    env: { ...process.env, REDIS_URL: redisUrl, WORKER_OPTIONS: JSON.stringify(options), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  proc.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const ready = new Promise<string[]>((resolve, reject) => {
    proc.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
      const m = /ready (\[.*\])\n/.exec(stdout);
      if (m) resolve(JSON.parse(m[1]!) as string[]);
    });
    void exited.then(({ code, signal }) => reject(new Error(`worker exited before ready (code ${code}, signal ${signal}):\n${stderr}`)));
  });
  ready.catch(() => undefined);
  const handle: WorkerProcess = {
    proc,
    pid: proc.pid!,
    ready,
    exited,
    output: () => ({ stdout, stderr }),
    signal: (signal) => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
    },
  };
  started.push(handle);
  return handle;
}

/** Kills every worker this file started that is still running (and waits for it). */
export async function killAllWorkers(): Promise<void> {
  await Promise.all(
    started.splice(0).map(async (w) => {
      if (w.proc.exitCode === null && w.proc.signalCode === null) {
        w.proc.kill('SIGKILL');
        await w.exited;
      }
    }),
  );
}

/** Polls `probe` until it returns something truthy; fails with `what` after `timeoutMs`. */
export async function waitFor<T>(what: string, probe: () => Promise<T | null | undefined | false> | T | null | undefined | false, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? ` (last error: ${last instanceof Error ? last.message : JSON.stringify(last)})` : ''}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** The process title as ps shows it (argv area, NUL-separated, padded). */
export function cmdlineOf(pid: number): string {
  return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

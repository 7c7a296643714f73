// Simulated machines on one box: each "host" is a process tree in its own UTS + PID namespace
// (`unshare --uts --pid --fork --mount-proc`), with its own hostname and pid range, sharing the box's
// network (and so one Redis). A host can be killed whole (SIGKILL of its pid 1 takes every process of
// the namespace with it, like a machine losing power) or frozen whole (SIGSTOP of each of its processes).
// Needs root (or a kernel allowing unprivileged namespaces): `namespacesUnavailable()` says why not.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

const UNSHARE = ['--uts', '--pid', '--fork', '--mount-proc', '--kill-child'];

let probed: string | null | undefined;

/** Null when hosts can be started here; otherwise why not (for a clear skip message). Probed once. */
export function namespacesUnavailable(): string | null {
  if (probed !== undefined) return probed;
  if (process.platform !== 'linux') return (probed = `namespaces need Linux (this is ${process.platform})`);
  const run = spawnSync('unshare', [...UNSHARE, 'sh', '-c', 'hostname nsprobe && test "$(hostname)" = nsprobe && test $$ = 1'], {
    encoding: 'utf8',
    timeout: 10_000,
  });
  if (run.error) return (probed = `unshare could not run: ${run.error.message}`);
  if (run.status !== 0) return (probed = `unshare ${UNSHARE.join(' ')} is not permitted here (exit ${run.status}): ${run.stderr.trim()}`);
  return (probed = null);
}

export interface Host {
  readonly hostname: string;
  /** The `unshare` process (outside the namespace). */
  readonly proc: ChildProcess;
  /** Resolves when the whole host is gone. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output(): { stdout: string; stderr: string };
  /** Resolves with the first match of `pattern` in stdout (rejects if the host exits first). */
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
  /** The host's pid 1 as the box sees it (the command given to startHost). */
  initPid(): number;
  /** Every process of the host, as box pids. */
  processes(): number[];
  /** Sends `signal` to pid 1 of the host only (QUIT/TERM reach a worker host this way). */
  signal(signal: NodeJS.Signals): void;
  /** SIGKILL of the host's pid 1: the kernel kills every process of the namespace with it. Waits for it. */
  kill(): Promise<void>;
  /** SIGSTOP every process of the host (a machine frozen: VM paused, swap storm). */
  freeze(): void;
  /** SIGCONT every process of the host. */
  thaw(): void;
}

const started: Host[] = [];

/**
 * Starts `argv` (argv[0] is the program) as pid 1 of a new host named `hostname`, in `cwd`, with `env`
 * (the namespaces share the box's filesystem and network, so relative paths and 127.0.0.1 work).
 */
export function startHost(hostname: string, argv: readonly string[], env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): Host {
  if (!/^[a-z0-9-]+$/.test(hostname)) throw new TypeError(`a host name of letters, digits and '-' please, got ${hostname}`);
  const proc = spawn('unshare', [...UNSHARE, 'sh', '-c', 'hostname "$0" && exec "$@"', hostname, ...argv], {
    env,
    cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const waiters = new Set<() => void>();
  proc.stdout.on('data', (c: Buffer) => {
    stdout += c.toString();
    for (const w of waiters) w();
  });
  proc.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.once('exit', (code, signal) => resolve({ code, signal })),
  );
  let gone = false;
  void exited.then(() => {
    gone = true;
    for (const w of waiters) w();
  });

  const initPid = (): number => {
    // unshare --fork: its only child is the namespace's pid 1.
    const children = readFileSync(`/proc/${proc.pid}/task/${proc.pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
    if (children.length !== 1) throw new Error(`host ${hostname}: expected one child of unshare, found [${children.join(' ')}]`);
    return Number(children[0]);
  };
  const processes = (): number[] => {
    const ns = readlinkSync(`/proc/${initPid()}/ns/pid`);
    const pids: number[] = [];
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        if (readlinkSync(`/proc/${entry}/ns/pid`) === ns) pids.push(Number(entry));
      } catch {
        // exited meanwhile
      }
    }
    return pids;
  };
  const signalEach = (signal: NodeJS.Signals): void => {
    for (const pid of processes()) {
      try {
        process.kill(pid, signal);
      } catch {
        // exited meanwhile
      }
    }
  };

  const host: Host = {
    hostname,
    proc,
    exited,
    output: () => ({ stdout, stderr }),
    waitForOutput: (pattern, timeoutMs = 60_000) =>
      new Promise((resolve, reject) => {
        const check = () => {
          const match = pattern.exec(stdout);
          if (match) done(() => resolve(match));
          else if (gone) done(() => reject(new Error(`host ${hostname} exited before printing ${pattern}:\n${stderr.slice(-4000)}`)));
        };
        const timer = setTimeout(() => done(() => reject(new Error(`host ${hostname} did not print ${pattern} within ${timeoutMs} ms:\n${stderr.slice(-4000)}`))), timeoutMs);
        const done = (settle: () => void) => {
          clearTimeout(timer);
          waiters.delete(check);
          settle();
        };
        waiters.add(check);
        check();
      }),
    initPid,
    processes,
    signal: (signal) => {
      if (!gone) process.kill(initPid(), signal);
    },
    kill: async () => {
      if (!gone) {
        try {
          process.kill(initPid(), 'SIGKILL');
        } catch {
          proc.kill('SIGKILL');
        }
      }
      await exited;
    },
    freeze: () => signalEach('SIGSTOP'),
    thaw: () => signalEach('SIGCONT'),
  };
  started.push(host);
  return host;
}

/** Kills every host started by this file that is still up (thawed first), and waits for them. */
export async function killAllHosts(): Promise<void> {
  await Promise.all(
    started.splice(0).map(async (host) => {
      if (host.proc.exitCode === null && host.proc.signalCode === null) {
        try {
          host.thaw();
        } catch {
          // already gone
        }
        await host.kill().catch(() => undefined);
      }
    }),
  );
}

// Processes of one chaos scenario, found through /proc: every process a scenario starts carries
// CHAOS_RUN=<token> in its environment and passes it on to its children (the worker host forks with
// process.env), so a child whose parent was SIGKILLed — reparented to init, out of reach of a ppid walk — is
// still found by its environment.
import { readdirSync, readFileSync } from 'node:fs';

export interface ProcInfo {
  pid: number;
  ppid: number;
  /** /proc state letter (R, S, T stopped, Z zombie, ...). */
  state: string;
  cmdline: string;
}

function readStat(pid: number): { ppid: number; state: string } | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // comm may hold spaces and parentheses: the fields after it start at the last ')'.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { state: rest[0]!, ppid: Number(rest[1]) };
  } catch {
    return null;
  }
}

function allPids(): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .map(Number);
}

/** The live (non-zombie) processes whose environment holds CHAOS_RUN=<token>. */
export function processesOfRun(token: string): ProcInfo[] {
  const marker = `\0CHAOS_RUN=${token}\0`;
  const found: ProcInfo[] = [];
  for (const pid of allPids()) {
    if (pid === process.pid) continue;
    let environ: string;
    try {
      environ = `\0${readFileSync(`/proc/${pid}/environ`, 'latin1')}`;
    } catch {
      continue; // gone, or not ours
    }
    if (!environ.includes(marker)) continue;
    const stat = readStat(pid);
    if (!stat || stat.state === 'Z') continue;
    found.push({ pid, ...stat, cmdline: cmdline(pid) });
  }
  return found;
}

/** Every live descendant (children, grandchildren, ...) of any of `roots`, by ppid, from one read of /proc. */
export function descendantsOf(...roots: number[]): number[] {
  const children = new Map<number, number[]>();
  for (const pid of allPids()) {
    const stat = readStat(pid);
    if (!stat || stat.state === 'Z') continue;
    const list = children.get(stat.ppid) ?? [];
    list.push(pid);
    children.set(stat.ppid, list);
  }
  const out: number[] = [];
  const todo = roots.flatMap((root) => children.get(root) ?? []);
  while (todo.length > 0) {
    const pid = todo.pop()!;
    out.push(pid);
    todo.push(...(children.get(pid) ?? []));
  }
  return out;
}

export function isRunning(pid: number): boolean {
  const stat = readStat(pid);
  return stat !== null && stat.state !== 'Z';
}

export function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim().slice(0, 120);
  } catch {
    return '?';
  }
}

/** Sends a signal to a process of ours, ignoring one that is already gone. */
export function signal(pid: number, sig: NodeJS.Signals): boolean {
  try {
    process.kill(pid, sig);
    return true;
  } catch {
    return false;
  }
}

/**
 * Waits (bounded) for every process of the run to be gone; returns the ones still there. The caller SIGKILLs
 * them afterwards, so an orphan is reported once and never outlives the scenario.
 */
export async function leftovers(token: string, graceMs: number): Promise<ProcInfo[]> {
  const deadline = Date.now() + graceMs;
  for (;;) {
    const alive = processesOfRun(token);
    if (alive.length === 0 || Date.now() > deadline) return alive;
    await new Promise((r) => setTimeout(r, 100));
  }
}

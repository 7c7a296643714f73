import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { performance } from 'node:perf_hooks';

/** How often the pool looks at its children, and the window it judges them on. */
export const GROWTH_WINDOW_MS = 250;
/** The running children's mean occupancy (share of the window spent in jobs) from which one more may help. */
const BUSY_SHARE = 0.75;
/** A CPU's share the tree must leave unused for another child to get a CPU of its own. */
const CPU_HEADROOM = 0.5;
/** Linux's USER_HZ: /proc/<pid>/stat counts CPU time in these ticks. */
const CLOCK_TICKS_PER_SECOND = 100;

/** One window of a pool: what decides whether another child adds throughput. */
export interface GrowthSample {
  /** Mean share of the window the running children spent performing jobs (0..1). */
  busy: number;
  /** A running slot has claimed jobs it has not started yet: work is waiting. */
  waiting: boolean;
  /** CPUs the worker's process tree used over the window (parent and children). */
  cpusUsed: number;
  /** CPUs this process may run on (`availableParallelism()`). */
  cpus: number;
}

/**
 * Another child is worth its boot (hundreds of ms of CPU, ~100 MB) only if it gets work and a CPU: the
 * running children are busy (when they are not, the parent's claims are the limit, not the children), jobs
 * wait, and the tree leaves a CPU mostly free (no-op or CPU-bound jobs on a full CPU only queue behind
 * each other; jobs waiting on I/O leave it free, so they get their children).
 */
export function worthGrowing(sample: GrowthSample): boolean {
  return sample.waiting && sample.busy >= BUSY_SHARE && sample.cpusUsed <= sample.cpus - CPU_HEADROOM;
}

/** A running pool slot as the growth sees it. */
export interface GrowthMember {
  /** ms its children spent in jobs so far (see ChildHandle#occupiedMs). */
  occupiedMs(now: number): number;
  /** The pid of its child, if one is up. */
  readonly childPid: number | null;
  /** It has claimed jobs waiting to start. */
  readonly waiting: boolean;
}

export interface PoolGrowthDeps {
  /** The slots whose children are up. */
  running(): readonly GrowthMember[];
  /** Slots not started yet. */
  remaining(): number;
  /** Starts the next slot (its child boots, then it registers and runs); settles either way. */
  startNext(): Promise<void>;
  isStopping(): boolean;
}

/**
 * Boots pool children after the first one at a time, each once a window says it is worth it
 * (`worthGrowing`), until every slot runs. The window restarts after each boot, so a boot's own CPU never
 * counts against (or for) the next one.
 */
export class PoolGrowth {
  private timer: NodeJS.Timeout | null = null;
  private growing: Promise<void> | null = null;
  private readonly cpu = new TreeCpu();
  private mark = { at: 0, occupied: 0 };

  constructor(private readonly deps: PoolGrowthDeps) {}

  start(): void {
    this.rebase();
    this.timer = setInterval(() => this.tick(), GROWTH_WINDOW_MS);
    this.timer.unref();
  }

  /** Stops looking; resolves once a boot in progress settled (its slot then sees the worker stopping). */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.growing;
  }

  private tick(): void {
    if (this.growing) return;
    if (this.deps.isStopping() || this.deps.remaining() === 0) {
      void this.stop();
      return;
    }
    // Right after a boot the window restarted: a sliver of it says nothing yet.
    if (performance.now() - this.mark.at < GROWTH_WINDOW_MS * 0.8) return;
    const sample = this.sample();
    this.rebase();
    if (!worthGrowing(sample)) return;
    this.growing = this.deps
      .startNext()
      .catch(() => undefined)
      .finally(() => {
        this.growing = null;
        this.rebase();
      });
  }

  private sample(): GrowthSample {
    const members = this.deps.running();
    const now = performance.now();
    const elapsed = Math.max(1, now - this.mark.at);
    const occupied = sumOccupied(members, now);
    const busy = members.length === 0 ? 0 : Math.min(1, (occupied - this.mark.occupied) / (elapsed * members.length));
    // Without /proc (not Linux), a busy child counts as a busy CPU: the cautious guess.
    const cpusUsed = this.cpu.used(childPids(members), elapsed) ?? busy * members.length;
    return { busy, waiting: members.some((m) => m.waiting), cpusUsed, cpus: Math.max(1, availableParallelism()) };
  }

  private rebase(): void {
    const members = this.deps.running();
    const now = performance.now();
    this.mark = { at: now, occupied: sumOccupied(members, now) };
    this.cpu.rebase(childPids(members));
  }
}

function childPids(members: readonly GrowthMember[]): number[] {
  return members.map((m) => m.childPid).filter((pid): pid is number => pid !== null);
}

function sumOccupied(members: readonly GrowthMember[], now: number): number {
  let total = 0;
  for (const m of members) total += m.occupiedMs(now);
  return total;
}

/** CPU time of this process and its children, from process.cpuUsage() and /proc/<pid>/stat. */
export class TreeCpu {
  private parentUs = 0;
  private readonly childTicks = new Map<number, number>();

  rebase(pids: readonly number[]): void {
    this.parentUs = parentCpuUs();
    this.childTicks.clear();
    for (const pid of pids) {
      const ticks = procCpuTicks(pid);
      if (ticks !== null) this.childTicks.set(pid, ticks);
    }
  }

  /** CPUs used since the last rebase (`elapsedMs` ago); null when a child's CPU cannot be read. */
  used(pids: readonly number[], elapsedMs: number): number | null {
    let ms = (parentCpuUs() - this.parentUs) / 1000;
    for (const pid of pids) {
      const ticks = procCpuTicks(pid);
      if (ticks === null) return null;
      // A child that appeared during the window (recycled) counts from its start.
      ms += ((ticks - (this.childTicks.get(pid) ?? 0)) * 1000) / CLOCK_TICKS_PER_SECOND;
    }
    return ms / elapsedMs;
  }
}

function parentCpuUs(): number {
  const { user, system } = process.cpuUsage();
  return user + system;
}

/** utime + stime of a process, in clock ticks; null without /proc or once it is gone. */
export function procCpuTicks(pid: number): number | null {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return null;
  }
  // The command name (field 2) may hold spaces and parentheses: fields are counted after its last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return Number.isFinite(utime) && Number.isFinite(stime) ? utime + stime : null;
}

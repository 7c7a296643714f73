// The parts every chaos scenario shares: a run (token, private redis-server, perform log), a supervised fleet
// of worker hosts (test/apps/worker-main.ts with WORKER_APP=chaos), an enqueuer that knows which jobs were
// accepted, draining, and the end-of-scenario checks (lost jobs, orphan processes, failures without a cause).
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { ResqueConnection } from '../../lib/connection/connection.service.js';
import { ResqueQueue } from '../../lib/queue/queue.service.js';
import { spawnWorker, type WorkerProcess } from '../apps/worker-harness.js';
import { startRedis, type StartRedisOptions, type TestRedis } from '../support/redis-server.js';
import { account, pending, placeJobs, readRuns, type Figures } from './chaos.accounting.js';
import { descendantsOf, leftovers, signal } from './chaos.processes.js';

export const NS = 'resque';
export const QUEUE = 'chaos';

export interface ScenarioResult {
  name: string;
  figures: Figures;
  /** Scenario-specific counts (kills, restarts, ...), printed after the figures. */
  notes: string;
  seconds: number;
  /** One line per failed assertion; empty when the scenario passed. */
  failures: string[];
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
export const between = (min: number, max: number): number => min + Math.floor(Math.random() * (max - min + 1));

/** One scenario's private world: its token (in every process it starts), redis-server and perform log. */
export class ChaosRun {
  readonly token = randomBytes(6).toString('hex');
  readonly dir = mkdtempSync(join(tmpdir(), 'nestjs-resque-chaos-'));
  readonly log = join(this.dir, 'performs.log');
  readonly failures: string[] = [];
  readonly started = Date.now();
  redis!: TestRedis;
  client!: Redis;

  constructor(readonly name: string) {}

  async start(options: StartRedisOptions = {}): Promise<void> {
    this.redis = await startRedis({ ...options, env: { ...options.env, CHAOS_RUN: this.token } });
    this.client = this.redis.client();
    // A client that never gives up: the scenario restarts and fills this server on purpose.
    this.client.on('error', () => undefined);
  }

  /** CHAOS_DEBUG=1: where the time goes, on stderr. */
  phase(what: string): void {
    if (process.env['CHAOS_DEBUG']) process.stderr.write(`[chaos ${this.name} +${((Date.now() - this.started) / 1000).toFixed(1)} s] ${what}\n`);
  }

  fail(line: string): void {
    this.failures.push(`${this.name}: ${line}`);
  }

  /** Env every process of the run gets (and hands down to its children). */
  get env(): Record<string, string> {
    return { CHAOS_RUN: this.token, CHAOS_LOG: this.log };
  }

  /** Polls Redis until no job waits in a queue, claim list, worker key or delayed list (twice in a row). */
  async drain(timeoutMs: number): Promise<boolean> {
    this.phase('draining');
    const deadline = Date.now() + timeoutMs;
    let calm = 0;
    while (Date.now() < deadline) {
      const left = await placeJobs(this.client, NS).then(pending, () => -1);
      calm = left === 0 ? calm + 1 : 0;
      if (calm >= 2) return true;
      await sleep(300);
    }
    this.fail(`jobs still waiting after ${Math.round(timeoutMs / 1000)} s of draining`);
    return false;
  }

  /**
   * What is still registered once every host has exited: worker ids in `workers`, `worker:*` keys and
   * heartbeat entries (ours and Ruby's). Empty after a clean run: dead hosts were pruned, live ones unregistered.
   * One exception: a worker the scenario SIGKILLed that holds no job (no `worker:<id>`, no claim list) may
   * still await the next prune when the run ends (its pid reused by then, its heartbeat not yet stale), as
   * with any Resque worker killed just before its peers stop.
   */
  async noRegistrationsLeft(killedPids: ReadonlySet<number> = new Set()): Promise<void> {
    const [ids, keys, beats, claimBeats] = await Promise.all([
      this.client.smembers(`${NS}:workers`),
      this.client.keys(`${NS}:worker:*`),
      this.client.hkeys(`${NS}:workers:heartbeat`),
      this.client.hkeys(`${NS}:workers:claim_heartbeat`),
    ]);
    const awaitingPrune = (id: string) =>
      killedPids.has(Number.parseInt(id.split(':')[1] ?? '', 10)) && !keys.includes(`${NS}:worker:${id}`) && !keys.includes(`${NS}:worker:${id}:claim`);
    const registration = (key: string) => awaitingPrune(key.replace(`${NS}:worker:`, '').replace(/:started$/, ''));
    const left = [
      ...ids.filter((id) => !awaitingPrune(id)).map((id) => `workers ${id}`),
      ...keys.filter((key) => !registration(key)),
      ...beats.filter((id) => !awaitingPrune(id)).map((id) => `heartbeat ${id}`),
      ...claimBeats.filter((id) => !awaitingPrune(id)).map((id) => `claim heartbeat ${id}`),
    ];
    if (left.length > 0) this.fail(`${left.length} registration(s) left after every host exited: ${left.slice(0, 5).join(', ')}`);
  }

  /**
   * Figures for the jobs (an enqueuer's, or ids) from the perform log and Redis, with the lost-job and
   * failure-cause assertions.
   */
  async account(jobs: Enqueuer | Iterable<string>, runs = readRuns(this.log)): Promise<Figures> {
    const placement = await placeJobs(this.client, NS);
    const ids =
      jobs instanceof Enqueuer
        ? jobs.jobs((id) => runs.has(id) || placement.failed.has(id) || placement.queued.has(id) || placement.inFlight.has(id))
        : jobs;
    const figures = account(ids, runs, placement);
    if (figures.lost > 0) {
      this.fail(`${figures.lost} job(s) lost: ran 0 times and are in no queue, claim list, worker key, delayed list or failed (e.g. ${figures.lostIds.join(', ')})`);
    }
    if (figures.failedWithoutCause > 0) this.fail(`${figures.failedWithoutCause} failed entr(y/ies) do not name their cause (empty exception or error)`);
    return figures;
  }

  /**
   * The end: stops redis-server, then every process that carried the token must be gone (children of killed
   * parents included); any still there is reported as an orphan and SIGKILLed.
   */
  async finish(figures: Figures, notes: string): Promise<ScenarioResult> {
    this.phase('finishing');
    await this.redis.stop();
    const orphans = await leftovers(this.token, 5_000);
    for (const orphan of orphans) {
      this.fail(`orphan process ${orphan.pid} (parent ${orphan.ppid}, state ${orphan.state}): ${orphan.cmdline}`);
      signal(orphan.pid, 'SIGCONT');
      signal(orphan.pid, 'SIGKILL');
    }
    rmSync(this.dir, { recursive: true, force: true });
    this.phase('done');
    return { name: this.name, figures, notes, seconds: (Date.now() - this.started) / 1000, failures: this.failures };
  }

  /** After an unexpected error: kill whatever is left of the run, by pid, and stop Redis. */
  async abort(): Promise<void> {
    for (const p of await leftovers(this.token, 0)) {
      signal(p.pid, 'SIGCONT');
      signal(p.pid, 'SIGKILL');
    }
    await this.redis?.stop().catch(() => undefined);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export interface FleetOptions {
  parents: number;
  concurrency: number;
  /** WORKER_OPTIONS of every host. */
  options: Record<string, unknown>;
  /** Extra env (e.g. RESQUE_PRE_SHUTDOWN_TIMEOUT). */
  env?: Record<string, string>;
}

/** A worker host of the fleet: its process, when it was started and when it printed ready. */
export interface Member {
  readonly index: number;
  worker: WorkerProcess;
  spawnedAt: number;
  readyAt: number | null;
  ids: string[];
}

/**
 * N worker hosts, each restarted when it exits while `supervise` is on (as systemd or a container runtime
 * would), with `onSpawn` called for every start (the kill scenario uses it to kill parents mid-boot).
 */
export class Fleet {
  readonly members: Member[] = [];
  supervise = true;
  /** Exits we did not cause (a crash, or death by another's hand). */
  restarts = 0;
  /** How each of those ended: `code 1: <last stderr line>` (for the report). */
  readonly crashes: string[] = [];
  onSpawn: ((member: Member) => void) | null = null;
  /** Every pid the scenario SIGKILLed: the hosts and the children they had at that moment. */
  readonly killedPids = new Set<number>();
  private readonly expected = new Set<number>();

  constructor(
    private readonly run: ChaosRun,
    private readonly fleet: FleetOptions,
  ) {}

  start(): void {
    for (let index = 0; index < this.fleet.parents; index++) {
      const member = { index } as Member;
      this.members.push(member);
      this.spawn(member);
    }
  }

  private spawn(member: Member): void {
    const worker = spawnWorker(
      this.run.redis.url,
      { QUEUE, COUNT: String(this.fleet.concurrency), INTERVAL: '0.1', WORKER_APP: 'chaos', ...this.run.env, ...this.fleet.env },
      // CHAOS_CHILD_START=on-demand runs the fleet with children on demand (the test entry's default is eager).
      { ...(process.env['CHAOS_CHILD_START'] ? { childStart: process.env['CHAOS_CHILD_START'] } : {}), ...this.fleet.options },
    );
    member.worker = worker;
    member.spawnedAt = Date.now();
    member.readyAt = null;
    member.ids = [];
    worker.ready.then(
      (ids) => {
        if (member.worker === worker) {
          member.readyAt = Date.now();
          member.ids = ids;
        }
      },
      () => undefined,
    );
    void worker.exited.then(async ({ code, signal: sig }) => {
      if (member.worker !== worker) return;
      if (!this.expected.delete(worker.pid)) {
        this.restarts++;
        // The error line of a crash, not Node's trailing version banner.
        const tail = worker.output().stderr.trim().split('\n').slice(-40);
        const line = tail.find((l) => /^\w*(Error|Exception)\b|^Error:|Unhandled|uncaught/i.test(l.trim())) ?? tail.at(-1) ?? '';
        this.crashes.push(`${sig ?? `code ${code}`}: ${line.trim().slice(0, 200)}`);
        this.run.phase(`host ${worker.pid} exited on its own (${this.crashes.at(-1)})`);
      }
      if (!this.supervise) return;
      await sleep(between(0, 300));
      if (this.supervise && member.worker === worker) this.spawn(member);
    });
    this.onSpawn?.(member);
  }

  /** SIGKILL (or another signal) from the scenario: not counted as a crash; supervision restarts it. */
  kill(member: Member, sig: NodeJS.Signals = 'SIGKILL'): void {
    this.expected.add(member.worker.pid);
    if (sig === 'SIGKILL') for (const pid of [member.worker.pid, ...descendantsOf(member.worker.pid)]) this.killedPids.add(pid);
    member.worker.signal(sig);
  }

  /** Replaces a host by hand (rolling restart): signal, wait for the exit (bounded), start the new one. */
  async replace(member: Member, sig: NodeJS.Signals, exitWithinMs: number): Promise<number> {
    const old = member.worker;
    const began = Date.now();
    this.expected.add(old.pid);
    old.signal(sig);
    const exited = await Promise.race([old.exited.then(() => true), sleep(exitWithinMs).then(() => false)]);
    if (!exited) {
      this.run.fail(`worker host ${old.pid} did not exit within ${exitWithinMs / 1000} s of ${sig}`);
      old.signal('SIGKILL');
      await old.exited;
    }
    const took = Date.now() - began;
    if (!this.supervise) this.spawn(member);
    return took;
  }

  live(): Member[] {
    return this.members.filter((m) => m.worker.proc.exitCode === null && m.worker.proc.signalCode === null);
  }

  /** Every host printed ready (bounded). */
  async ready(timeoutMs: number): Promise<boolean> {
    this.run.phase('waiting for the worker hosts');
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.members.every((m) => m.readyAt !== null)) return true;
      await sleep(100);
    }
    this.run.fail(`worker hosts not ready within ${timeoutMs / 1000} s`);
    return false;
  }

  /** Supervision off, QUIT to every host (finish the current job, exit), bounded; SIGKILL after it. */
  async stop(timeoutMs = 15_000): Promise<void> {
    this.run.phase('stopping the worker hosts');
    this.supervise = false;
    await Promise.all(
      this.live().map(async (m) => {
        const { worker } = m;
        this.expected.add(worker.pid);
        worker.signal('SIGCONT');
        worker.signal('SIGQUIT');
        const exited = await Promise.race([worker.exited.then(() => true), sleep(timeoutMs).then(() => false)]);
        if (!exited) {
          this.run.fail(`worker host ${worker.pid} did not exit within ${timeoutMs / 1000} s of QUIT`);
          worker.signal('SIGKILL');
          await worker.exited;
        }
      }),
    );
  }
}

/**
 * Enqueues chaos jobs (`{ id, ms }`, ids `<prefix>-<n>`) at a steady rate through ResqueQueue, one at a time,
 * remembering which ones Redis accepted. An enqueue that throws after its command may have run is kept as
 * `uncertain`: such a job counts when it shows up.
 */
export class Enqueuer {
  readonly accepted: string[] = [];
  readonly uncertain: string[] = [];
  refused = 0;
  lastError = '';
  private running = false;
  private loop: Promise<void> | null = null;
  private readonly connection: ResqueConnection;
  private readonly queue: ResqueQueue;
  private n = 0;

  constructor(
    run: ChaosRun,
    private readonly prefix: string,
    private readonly job: () => { ms: number; pad?: string },
  ) {
    this.connection = ResqueConnection.create(run.redis.url, NS, { logger: false });
    this.queue = new ResqueQueue(this.connection);
  }

  /** One job now; true when Redis accepted it. */
  async one(): Promise<boolean> {
    const id = `${this.prefix}-${this.n++}`;
    try {
      await this.queue.enqueue(QUEUE, 'Chaos', { id, ...this.job() });
      this.accepted.push(id);
      return true;
    } catch (error) {
      this.lastError = (error as Error).message;
      // OOM and other error replies mean the script did not run; a dropped connection leaves it unknown.
      if (/^(OOM|ERR|MISCONF|READONLY|LOADING)/.test(this.lastError)) this.refused++;
      else this.uncertain.push(id);
      return false;
    }
  }

  /** Enqueues `perSecond` jobs a second until stop(), or until the first refusal when `untilRefused`. */
  start(perSecond: number, untilRefused = false): void {
    this.running = true;
    this.loop = (async () => {
      const began = Date.now();
      let sent = 0;
      while (this.running) {
        const ok = await this.one();
        sent++;
        if (!ok && untilRefused && this.refused > 0) break;
        const ahead = (sent * 1000) / perSecond - (Date.now() - began);
        if (ahead > 0) await sleep(ahead);
      }
      this.running = false;
    })();
  }

  get isRunning(): boolean {
    return this.running;
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }

  async close(): Promise<void> {
    await this.stop();
    await this.connection.close();
  }

  /** Accepted jobs, plus uncertain ones that did land (they ran or Redis holds them). */
  jobs(landed: (id: string) => boolean): string[] {
    return [...this.accepted, ...this.uncertain.filter(landed)];
  }
}

/** One line of figures for a scenario. */
export function formatResult(result: ScenarioResult): string {
  const f = result.figures;
  const causes = Object.entries(f.failedBy)
    .map(([exception, count]) => `${exception.replace(/^Resque::/, '')}:${count}`)
    .join(',');
  return (
    `${result.name.padEnd(20)} jobs=${f.jobs} once=${f.once} more=${f.more} failed=${f.failed}${causes ? `[${causes}]` : ''} ran+failed=${f.ranAndFailed} ` +
    `queued=${f.queued} lost=${f.lost} | ${result.notes} | ${result.seconds.toFixed(1)} s ${result.failures.length === 0 ? 'ok' : 'FAIL'}`
  );
}

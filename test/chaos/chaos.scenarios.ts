// The fault-injection scenarios of issue 8 (and 13). Each one builds its private world, injects its fault,
// lets the workers drain, accounts for every job and checks for orphans; sizes are parameters so
// `npm run chaos` runs them long and test/chaos.*.spec.ts runs them short.
import { pushDueItems, startSchedulerProcess, type SchedulerProcess } from '../apps/scheduler-helpers.js';
import { type DeadWorkerPolicy } from '../../lib/worker/worker.options.js';
import { account, type Figures } from './chaos.accounting.js';
import { between, ChaosRun, Enqueuer, Fleet, NS, sleep, type Member, type ScenarioResult } from './chaos.kit.js';
import { cmdline, descendantsOf, isRunning, signal } from './chaos.processes.js';

/** Pruner settings short enough for a scenario to drain in seconds (dead pids on this host are found at once). */
const FAST_PRUNE = { heartbeatIntervalSeconds: 1, pruneIntervalSeconds: 1, pruneAfterSeconds: 10 };

async function scenario(name: string, body: (run: ChaosRun) => Promise<ScenarioResult>): Promise<ScenarioResult> {
  const run = new ChaosRun(name);
  try {
    return await body(run);
  } catch (error) {
    await run.abort();
    const empty: Figures = account([], new Map(), { queued: new Map(), inFlight: new Map(), delayed: new Map(), failed: new Map() });
    return { name, figures: empty, notes: 'aborted', seconds: (Date.now() - run.started) / 1000, failures: [...run.failures, `${name}: aborted: ${(error as Error).stack ?? String(error)}`] };
  }
}

export interface KillOptions {
  mode: DeadWorkerPolicy;
  parents: number;
  concurrency: number;
  /** How long kills go on. */
  seconds: number;
  /** Jobs enqueued per second while kills go on. */
  rate: number;
  /** Job length range (ms). */
  jobMs: [number, number];
  /** Pause between kills (ms). */
  pauseMs: [number, number];
  drainMs: number;
}

/**
 * SIGKILLs of worker hosts and of their children — children mid-job, children still booting, hosts mid-job
 * and mid-boot (each kind once on purpose, then at random for `seconds`) — with the hosts restarted, while
 * jobs are enqueued.
 */
export function killScenario(o: KillOptions): Promise<ScenarioResult> {
  return scenario(`kill/${o.mode}`, async (run) => {
    await run.start();
    const fleet = new Fleet(run, { parents: o.parents, concurrency: o.concurrency, options: { ...FAST_PRUNE, onDeadWorker: o.mode } });
    const kills = { parent: 0, bootingParent: 0, child: 0, bootingChild: 0 };
    const firstSeen = new Map<number, number>();
    let killNextBoot = false;
    fleet.onSpawn = (member) => {
      if (!killNextBoot) return;
      killNextBoot = false;
      const worker = member.worker;
      setTimeout(() => {
        if (member.worker === worker && member.readyAt === null && isRunning(worker.pid)) {
          kills.bootingParent++;
          fleet.kill(member);
        }
      }, between(50, 1500));
    };
    fleet.start();
    await fleet.ready(120_000);
    const enqueuer = new Enqueuer(run, 'k', () => ({ ms: between(...o.jobMs) }));
    enqueuer.start(o.rate);

    run.phase('kills begin');
    const children = (): number[] => descendantsOf(...fleet.live().map((m) => m.worker.pid));
    const loading = (pid: number): boolean => !cmdline(pid).startsWith('resque-');
    const processing = (pid: number): boolean => cmdline(pid).includes(': Processing ');
    /** Polls (bounded) for a process to kill; a miss is a failure: that fault was not injected. */
    const aim = async <T>(what: string, find: () => T | undefined): Promise<T | undefined> => {
      const deadline = Date.now() + 60_000;
      while (Date.now() < deadline) {
        const found = find();
        if (found !== undefined) return found;
        await sleep(10);
      }
      run.fail(`found no ${what} to SIGKILL within 60 s: that fault was not injected`);
      return undefined;
    };
    // First every kind of kill once, on purpose; then random ones.
    const busyChild = await aim('child in the middle of a job', () => children().find(processing));
    if (busyChild !== undefined && signal(busyChild, 'SIGKILL')) kills.child++;
    const busyHost = await aim('host in the middle of a job', () => fleet.live().find((m) => m.readyAt !== null && processing(m.worker.pid)));
    if (busyHost) {
      fleet.kill(busyHost);
      kills.parent++;
    }
    // Its replacement, killed while it boots and its children are still loading code.
    const bootingHost = await aim('booting host with children still loading', () =>
      fleet.live().find((m) => m.readyAt === null && descendantsOf(m.worker.pid).some(loading)),
    );
    if (bootingHost) {
      fleet.kill(bootingHost);
      kills.bootingParent++;
    }
    const loadingChild = await aim('child still loading code', () => children().find(loading));
    if (loadingChild !== undefined && signal(loadingChild, 'SIGKILL')) kills.bootingChild++;
    const until = Date.now() + o.seconds * 1000;
    while (Date.now() < until) {
      // Children are sampled every 100 ms while waiting, to know when each was first seen.
      const next = Date.now() + between(...o.pauseMs);
      while (Date.now() < next) {
        const now = Date.now();
        for (const pid of children()) if (!firstSeen.has(pid)) firstSeen.set(pid, now);
        await sleep(100);
      }
      const roll = Math.random();
      const all = children();
      // Booting: still loading code (no resque title yet), or seen for the first time under a second ago.
      const booting = all.filter((pid) => !cmdline(pid).startsWith('resque-') || Date.now() - (firstSeen.get(pid) ?? 0) < 1000);
      if (roll < 0.4 && all.length > 0) {
        signal(all[between(0, all.length - 1)]!, 'SIGKILL');
        kills.child++;
      } else if (roll < 0.6 && booting.length > 0) {
        signal(booting[between(0, booting.length - 1)]!, 'SIGKILL');
        kills.bootingChild++;
      } else if (roll < 0.85) {
        const live = fleet.live();
        if (live.length > 0) {
          const member: Member = live[between(0, live.length - 1)]!;
          if (member.readyAt === null) kills.bootingParent++;
          else kills.parent++;
          fleet.kill(member);
        }
      } else {
        killNextBoot = true;
        const live = fleet.live().filter((m) => m.readyAt !== null);
        if (live.length > 0) {
          kills.parent++;
          fleet.kill(live[between(0, live.length - 1)]!);
        }
      }
    }
    killNextBoot = false;
    run.phase('kills over');
    await enqueuer.close();
    await fleet.ready(120_000);
    await run.drain(o.drainMs);
    await fleet.stop();
    await run.noRegistrationsLeft(fleet.killedPids);
    const figures = await run.account(enqueuer);
    return run.finish(
      figures,
      `killed hosts=${kills.parent} hosts-booting=${kills.bootingParent} children=${kills.child} children-booting=${kills.bootingChild} other-exits=${fleet.restarts}`,
    );
  });
}

export interface RedisRestartOptions {
  parents: number;
  concurrency: number;
  /** Seconds of work before, between and after the two restarts. */
  phaseSeconds: number;
  /** How long Redis stays down each time. */
  downMs: number;
  rate: number;
  jobMs: [number, number];
  drainMs: number;
}

/** Redis (AOF, fsync always) shut down and restarted twice while an enqueuer and the workers run. */
export function redisRestartScenario(o: RedisRestartOptions): Promise<ScenarioResult> {
  return scenario('redis-restart', async (run) => {
    await run.start({ args: ['--appendonly', 'yes', '--appendfsync', 'always'] });
    const fleet = new Fleet(run, { parents: o.parents, concurrency: o.concurrency, options: { ...FAST_PRUNE, onDeadWorker: 'fail' } });
    fleet.start();
    await fleet.ready(120_000);
    const enqueuer = new Enqueuer(run, 'r', () => ({ ms: between(...o.jobMs) }));
    enqueuer.start(o.rate);
    for (let restart = 0; restart < 2; restart++) {
      await sleep(o.phaseSeconds * 1000);
      await run.redis.restart(o.downMs);
    }
    await sleep(o.phaseSeconds * 1000);
    await enqueuer.close();
    await run.drain(o.drainMs);
    await fleet.stop();
    await run.noRegistrationsLeft();
    const figures = await run.account(enqueuer);
    return run.finish(figures, `redis restarts=2 (down ${o.downMs} ms each) host exits=${fleet.restarts} enqueue unknown=${enqueuer.uncertain.length}`);
  });
}

export interface OomOptions {
  parents: number;
  concurrency: number;
  /** Headroom (MiB) above the used memory once the ballast is in. */
  headroomMb: number;
  /** The ballast freed at the end (MiB). */
  ballastMb: number;
  /** Bytes of padding per job, so the queue fills memory quickly. */
  padBytes: number;
  /** How long Redis stays full after the first refused enqueue. */
  holdMs: number;
  jobMs: [number, number];
  drainMs: number;
}

/** maxmemory + noeviction: enqueue until Redis refuses, stay full a while, free the ballast, drain. */
export function oomScenario(o: OomOptions): Promise<ScenarioResult> {
  return scenario('oom', async (run) => {
    await run.start();
    const fleet = new Fleet(run, { parents: o.parents, concurrency: o.concurrency, options: { ...FAST_PRUNE, onDeadWorker: 'fail' } });
    fleet.start();
    await fleet.ready(120_000);
    await run.client.set('chaos:ballast', 'x'.repeat(o.ballastMb * 1024 * 1024));
    const used = Number(/used_memory:(\d+)/.exec(await run.client.info('memory'))?.[1] ?? 0);
    await run.client.config('SET', 'maxmemory-policy', 'noeviction');
    await run.client.config('SET', 'maxmemory', String(used + o.headroomMb * 1024 * 1024));
    const pad = 'p'.repeat(o.padBytes);
    const enqueuer = new Enqueuer(run, 'm', () => ({ ms: between(...o.jobMs), pad }));
    enqueuer.start(100_000, true);
    const deadline = Date.now() + 60_000;
    while (enqueuer.isRunning && Date.now() < deadline) await sleep(50);
    await enqueuer.stop();
    const refusedAt = enqueuer.accepted.length;
    if (enqueuer.refused === 0) run.fail(`enqueue was never refused (last error: ${enqueuer.lastError || 'none'}): the fault was not injected`);
    await sleep(o.holdMs);
    await run.client.del('chaos:ballast');
    // Producers work again once memory is freed.
    let after = 0;
    for (let i = 0; i < 10; i++) if (await enqueuer.one()) after++;
    if (after < 10) run.fail(`only ${after}/10 enqueues succeeded after the ballast was freed (${enqueuer.lastError})`);
    await enqueuer.close();
    await run.drain(o.drainMs);
    await fleet.stop();
    await run.noRegistrationsLeft();
    const figures = await run.account(enqueuer);
    return run.finish(figures, `accepted before refusal=${refusedAt} refused=${enqueuer.refused} enqueue unknown=${enqueuer.uncertain.length} host exits=${fleet.restarts}`);
  });
}

export interface SchedulerOptions {
  /** Due delayed jobs (the issue asks for 20,000). */
  total: number;
  batchSize: number;
  /** Bound for each wait (take-over, completion). */
  waitMs: number;
}

/**
 * Two schedulers (lock TTL 1 s) promoting `total` due jobs: the master is SIGKILLed mid-promotion and a
 * scheduler started in its place; the next master is SIGSTOPped mid-promotion until another took over, then
 * SIGCONTed. Every job must end up queued exactly once.
 */
export function schedulerScenario(o: SchedulerOptions): Promise<ScenarioResult> {
  return scenario('scheduler', async (run) => {
    await run.start();
    const prefix = NS;
    const lockKey = `${prefix}:${prefix}:resque_scheduler_master_lock`;
    const queueKey = `${prefix}:queue:bulk`;
    await pushDueItems(run.client, prefix, o.total, Math.floor(Date.now() / 1000) - 60);
    const env = {
      ...run.env,
      REDIS_BACKEND: `127.0.0.1:${run.redis.port}`,
      PREFIX: prefix,
      INTERVAL: '0.1',
      TEST_BATCH_SIZE: String(o.batchSize),
      TEST_LOCK_TTL: '1',
    };
    const schedulers: SchedulerProcess[] = [startSchedulerProcess(env), startSchedulerProcess(env)];
    const masterPid = async (): Promise<number | null> => {
      const holder = await run.client.get(lockKey);
      const pid = holder === null ? NaN : Number(holder.slice(holder.lastIndexOf(':') + 1));
      return Number.isSafeInteger(pid) ? pid : null;
    };
    const until = async (what: string, check: () => Promise<boolean>): Promise<boolean> => {
      const deadline = Date.now() + o.waitMs;
      while (Date.now() < deadline) {
        if (await check()) return true;
        await sleep(5);
      }
      run.fail(`timed out (${o.waitMs / 1000} s) waiting for ${what}`);
      return false;
    };
    const notes: string[] = [];
    const schedule = `${prefix}:delayed_queue_schedule`;
    // 1. SIGKILL the master as soon as it has promoted something; a new scheduler is started in its place.
    await until('promotion to begin', async () => (await run.client.llen(queueKey)) > 0);
    const killed = await masterPid();
    const atKill = await run.client.llen(queueKey);
    if (killed === null || (await run.client.exists(schedule)) === 0) {
      run.fail(`promotion finished before the master was SIGKILLed (${atKill}/${o.total} queued): the fault was not injected`);
    } else {
      signal(killed, 'SIGKILL');
      notes.push(`SIGKILL master at ${atKill}`);
      schedulers.push(startSchedulerProcess(env));
    }
    // 2. SIGSTOP the next master once it promotes; SIGCONT it after another one took over (lock TTL 1 s).
    await until('a new master to promote', async () => {
      const pid = await masterPid();
      return pid !== null && pid !== killed && (await run.client.llen(queueKey)) > atKill;
    });
    const stopped = await masterPid();
    const atStop = await run.client.llen(queueKey);
    if (stopped === null || stopped === killed || (await run.client.exists(schedule)) === 0) {
      run.fail(`promotion finished before the master was SIGSTOPped (${atStop}/${o.total} queued): the fault was not injected`);
    } else {
      signal(stopped, 'SIGSTOP');
      notes.push(`SIGSTOP master at ${atStop}`);
      const tookOver = await until('another scheduler to take over from the stopped one', async () => {
        const pid = await masterPid();
        return pid !== null && pid !== stopped && (await run.client.llen(queueKey)) > atStop;
      });
      if (tookOver) notes.push(`taken over at ${await run.client.llen(queueKey)}`);
      signal(stopped, 'SIGCONT');
    }
    await until('every due job to be promoted', async () => (await run.client.exists(`${prefix}:delayed_queue_schedule`)) === 0);
    for (const s of schedulers) {
      if (s.child.exitCode !== null || s.child.signalCode !== null) continue;
      s.child.kill('SIGCONT');
      s.child.kill('SIGINT');
      const exited = await Promise.race([s.exited.then(() => true), sleep(15_000).then(() => false)]);
      if (!exited) {
        run.fail(`scheduler ${s.child.pid} did not exit within 15 s of INT`);
        s.child.kill('SIGKILL');
      }
    }
    // "Ran" here means promoted: how often each item is in the queue.
    const promoted = new Map<string, number>();
    for (const raw of await run.client.lrange(queueKey, 0, -1)) {
      const n = (JSON.parse(raw) as { args: Array<{ n: number }> }).args[0]!.n;
      promoted.set(String(n), (promoted.get(String(n)) ?? 0) + 1);
    }
    const ids = Array.from({ length: o.total }, (_, n) => String(n));
    // Queued jobs are the promoted ones here: accounting counts them as runs, not as waiting.
    await run.client.del(queueKey);
    const figures = await run.account(ids, promoted);
    if (figures.more > 0) run.fail(`${figures.more} job(s) promoted more than once`);
    return run.finish(figures, `${notes.join(', ')}; schedulers started=${schedulers.length}`);
  });
}

export interface RollingOptions {
  /** Each round replaces both hosts in turn. */
  rounds: number;
  /** Job length (ms), shorter than the pre-shutdown grace. */
  jobMs: number;
  rate: number;
  preShutdownSeconds: number;
  termSeconds: number;
  drainMs: number;
}

/**
 * A rolling restart: two hosts running long jobs, each in turn sent TERM with RESQUE_PRE_SHUTDOWN_TIMEOUT
 * longer than a job and replaced. With that grace, a job in progress finishes: no job may fail.
 */
export function rollingScenario(o: RollingOptions): Promise<ScenarioResult> {
  return scenario('rolling-restart', async (run) => {
    await run.start();
    const fleet = new Fleet(run, {
      parents: 2,
      concurrency: 2,
      options: { ...FAST_PRUNE, onDeadWorker: 'fail' },
      env: { RESQUE_PRE_SHUTDOWN_TIMEOUT: String(o.preShutdownSeconds), RESQUE_TERM_TIMEOUT: String(o.termSeconds) },
    });
    fleet.supervise = false;
    fleet.start();
    await fleet.ready(120_000);
    const enqueuer = new Enqueuer(run, 'g', () => ({ ms: o.jobMs }));
    enqueuer.start(o.rate);
    const exits: number[] = [];
    const bound = (o.preShutdownSeconds + o.termSeconds + 15) * 1000;
    for (let round = 0; round < o.rounds; round++) {
      for (const member of fleet.members) {
        // TERM while it is busy: one of its slots names a job in worker:<id>.
        const deadline = Date.now() + 20_000;
        while (Date.now() < deadline) {
          const busy = await Promise.all(member.ids.map((id) => run.client.exists(`${NS}:worker:${id}`)));
          if (busy.some((b) => b === 1)) break;
          await sleep(50);
        }
        exits.push(await fleet.replace(member, 'SIGTERM', bound));
        await fleet.ready(120_000);
      }
    }
    await enqueuer.close();
    await run.drain(o.drainMs);
    await fleet.stop();
    await run.noRegistrationsLeft();
    const figures = await run.account(enqueuer);
    if (figures.failed > 0) {
      run.fail(`${figures.failed} job(s) failed although RESQUE_PRE_SHUTDOWN_TIMEOUT (${o.preShutdownSeconds} s) is longer than a job (${o.jobMs} ms)`);
    }
    return run.finish(figures, `TERMs=${exits.length} exit after TERM=${exits.map((ms) => (ms / 1000).toFixed(1)).join('/')} s`);
  });
}

export interface PausedOptions {
  mode: DeadWorkerPolicy;
  /** Jobs per second while it runs. */
  rate: number;
  jobMs: number;
  /** Seconds of work after SIGCONT. */
  afterSeconds: number;
  drainMs: number;
}

/**
 * Issue 13, a paused host: host A (and its children) SIGSTOPped mid-job past its heartbeat's expiry, while
 * host B with short prune settings runs and prunes it; then A is SIGCONTed and both run on.
 */
export function pausedScenario(o: PausedOptions): Promise<ScenarioResult> {
  return scenario(`paused-host/${o.mode}`, async (run) => {
    await run.start();
    const options = { heartbeatIntervalSeconds: 1, pruneIntervalSeconds: 1, pruneAfterSeconds: 3, onDeadWorker: o.mode };
    const fleet = new Fleet(run, { parents: 2, concurrency: 1, options });
    fleet.start();
    await fleet.ready(120_000);
    const enqueuer = new Enqueuer(run, 'p', () => ({ ms: o.jobMs }));
    enqueuer.start(o.rate);
    const paused = fleet.members[0]!;
    const [pausedId] = paused.ids;
    const busyDeadline = Date.now() + 20_000;
    while (Date.now() < busyDeadline && (await run.client.exists(`${NS}:worker:${pausedId}`)) === 0) await sleep(20);
    const stopped = [paused.worker.pid, ...descendantsOf(paused.worker.pid)];
    for (const pid of stopped) signal(pid, 'SIGSTOP');
    const stoppedAt = Date.now();
    let pruned = false;
    while (!pruned && Date.now() - stoppedAt < 30_000) {
      pruned = (await run.client.sismember(`${NS}:workers`, pausedId!)) === 0;
      if (!pruned) await sleep(100);
    }
    if (!pruned) run.fail(`host ${pausedId} was not pruned within 30 s of SIGSTOP: the fault was not injected`);
    await sleep(1000);
    for (const pid of stopped.reverse()) signal(pid, 'SIGCONT');
    const pausedFor = Date.now() - stoppedAt;
    await sleep(o.afterSeconds * 1000);
    await enqueuer.close();
    await run.drain(o.drainMs);
    await fleet.stop();
    await run.noRegistrationsLeft();
    const figures = await run.account(enqueuer);
    return run.finish(figures, `paused ${(pausedFor / 1000).toFixed(1)} s, pruned=${pruned} host exits=${fleet.restarts}`);
  });
}

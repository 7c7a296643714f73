import { availableParallelism } from 'node:os';
import { performance } from 'node:perf_hooks';
import type { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ResqueConnection } from '../connection/connection.service.js';
import { writePidFile } from '../env/env.pidfile.js';
import { ResqueEvents } from '../events/events.service.js';
import { ThrottlePlan } from '../policies/policy.throttle.js';
import { errorMessage } from '../protocol/index.js';
import type { ResqueAppModule } from '../resque.host-types.js';
import { moduleLoggerEnabled, ResqueLogger } from '../resque.logger.js';
import { InlineExecutor, PoolExecutor, type SlotExecutor } from './worker.executor.js';
import type { ResqueWorkerHandle, WorkerStopReason } from './worker.handle.js';
import { JobRunner } from './worker.job-runner.js';
import { pruneRetryOf } from './worker.slot.retry.js';
import { workerLogger } from './worker.logger.js';
import type { ResolvedWorkerOptions, WorkerMetricsOptions } from './worker.options.js';
import { PoolGrowth, type GrowthMember } from './worker.pool-growth.js';
import { WorkerPruner } from './worker.pruner.js';
import { QueueSelection } from './worker.queues.js';
import { installSignalHandlers } from './worker.signals.js';
import { WorkerSlot, type SlotDeps } from './worker.slot.js';
import { WorkerStore } from './worker.store.js';
import { setTitle } from './worker.title.js';

/** Exit code of a host that stopped because a slot was pruned with `onPruned: 'exit'` (EX_TEMPFAIL). */
export const EXIT_PRUNED = 75;

/** The parent process of a worker host: Nest context, slots, timers, signals and shutdown. */
export class WorkerRuntime {
  /** Shared with slots and executors; the module's `logger: false` switches it off once the module is up. */
  private readonly logger = new ResqueLogger('ResqueWorker');
  private app: INestApplicationContext | null = null;
  private ownConnection: ResqueConnection | null = null;
  private slots: WorkerSlot[] = [];
  /** Slots registered so far (they register one by one as their children come up). */
  private readonly registered = new Set<WorkerSlot>();
  private executors: SlotExecutor[] = [];
  private timers: NodeJS.Timeout[] = [];
  private removeSignals: (() => void) | null = null;
  private removePidFile: (() => void) | null = null;
  private closeMetrics: (() => Promise<void>) | null = null;
  private stopping = false;
  /** Aborted by stop(): pool children still booting are killed rather than awaited. */
  private readonly stopped = new AbortController();
  private signalled = false;
  /** Pool children on demand: boots the slots after the first (null when all start at start-up). */
  private growth: PoolGrowth | null = null;
  /** Slots whose start has begun (the first `started` of `slots`). */
  private started = 0;
  /** Failed on-demand starts in a row: after MAX_GROWTH_FAILURES the pool stops growing. */
  private growthFailures = 0;
  /** Runs of the slots started on demand. */
  private readonly lateRuns: Array<Promise<void>> = [];
  private resolveClosed!: () => void;
  readonly closed = new Promise<void>((resolve) => (this.resolveClosed = resolve));

  constructor(
    private readonly module: ResqueAppModule,
    private readonly options: ResolvedWorkerOptions,
  ) {}

  get handle(): ResqueWorkerHandle {
    const slots = () => this.slots;
    return {
      get workerIds() {
        return slots()
          .filter((s) => s.id !== '')
          .map((s) => s.id);
      },
      stop: (reason?: WorkerStopReason) => this.stop(reason ?? 'quit'),
      closed: this.closed,
    };
  }

  async start(): Promise<void> {
    const { options } = this;
    if (options.pidFile) this.removePidFile = writePidFile(options.pidFile);
    try {
      await this.boot();
    } catch (error) {
      await this.teardown().catch(() => undefined);
      this.resolveClosed();
      throw error;
    }
  }

  private async boot(): Promise<void> {
    const { options } = this;
    // Pool children are forked first, so their boot overlaps the parent's (a Nest context each).
    if (options.isolation === 'pool') this.createPoolExecutors();
    // Each child boot is a full Nest context of the user's module: booting more at once than there are CPUs
    // only makes every one of them late. At most that many boot together, in slot order, and each slot
    // starts working as soon as its own child is up. On demand, only slot 0's child boots now.
    const onDemand = options.isolation === 'pool' && options.childStart === 'on-demand';
    const childrenUp = startLimited(onDemand ? this.executors.slice(0, 1) : this.executors, Math.max(1, availableParallelism()));
    for (const up of childrenUp) up.catch(() => undefined); // awaited in startSlots
    const { connection, events, runner } = await this.openContext();
    const throttle = ThrottlePlan.of(connection.keys, runner.jobs(), options.throttle);
    const store = new WorkerStore(connection.client, connection.keys, options.heartbeatIntervalSeconds, throttle);
    const selection = new QueueSelection(options.queues);
    if (options.isolation === 'inline') {
      for (let index = 0; index < options.concurrency; index++) this.executors.push(new InlineExecutor(runner, index, options));
    }
    for (const executor of this.executors) if (executor instanceof PoolExecutor) executor.attach(runner, events);
    const first = this.createSlots({ connection, store, selection, runner, events });
    // Slot 0's id is the host's pid in both modes, so the pruner knows it before any child is up.
    first.computeId();
    const pruner = new WorkerPruner(connection.client, connection.keys, {
      selfId: first.id,
      ownIds: () => this.registeredIds(),
      hostname: options.hostname,
      pruneAfterSeconds: options.pruneAfterSeconds,
      onDeadWorker: options.onDeadWorker,
      retryOf: (raw, queue, error) => pruneRetryOf((decoded) => runner.retryPolicyOf(decoded), connection.keys, raw, queue, error),
      throttleRunningKeys: throttle?.runningKeysJson,
    });
    await this.prune(pruner);
    this.startTimers(store, pruner);
    this.installSignals();
    const begin: SlotStart = { store, events, selection };
    const runs = await this.startSlots(onDemand ? this.slots.slice(0, 1) : this.slots, childrenUp, begin);
    const later = this.slots.length - this.started;
    this.logger.log(
      `started ${this.handle.workerIds.join(', ')}: queues ${selection.configured.join(',')}, ${options.concurrency} slot(s)` +
        `${later > 0 ? ` (${later} start their child on demand)` : ''}, isolation ${options.isolation}, pid ${process.pid}`,
    );
    if (later > 0) this.growOnDemand(begin);
    void Promise.all(runs)
      .then(() => this.growth?.stop())
      .then(() => Promise.all(this.lateRuns))
      .then(() => this.shutdown());
  }

  /** Boots the remaining slots' children one at a time, as PoolGrowth finds them worth it. */
  private growOnDemand(begin: SlotStart): void {
    const prefetchless = this.options.prefetch === 0;
    const member = (index: number): GrowthMember => {
      const executor = this.executors[index] as PoolExecutor;
      const slot = this.slots[index] as WorkerSlot;
      return {
        occupiedMs: (now) => executor.occupiedMs(now),
        get childPid() {
          return executor.childPid;
        },
        // Without prefetch no job is claimed ahead: the children's occupancy alone tells.
        get waiting() {
          return prefetchless || slot.hasClaimedAhead;
        },
      };
    };
    this.growth = new PoolGrowth({
      running: () => this.slots.flatMap((slot, index) => (this.registered.has(slot) ? [member(index)] : [])),
      remaining: () => this.slots.length - this.started,
      startNext: () => this.startNextSlot(begin),
      isStopping: () => this.stopping,
    });
    this.growth.start();
  }

  private async startNextSlot(begin: SlotStart): Promise<void> {
    const index = this.started;
    const slot = this.slots[index];
    const executor = this.executors[index] as PoolExecutor | undefined;
    if (!slot || !executor) return;
    this.started += 1;
    try {
      // A child already up (its slot's registration failed last time) is used again, not booted twice.
      if (executor.childPid === null) await executor.start();
      // Up while the worker stops: it takes no work (the executor's close() ends its child).
      if (this.stopping) return;
      await this.startSlot(slot, Promise.resolve(), begin, this.lateRuns);
      this.growthFailures = 0;
      this.logger.log(`started ${slot.id} on demand (slot ${index}: its child is up)`);
    } catch (error) {
      if (this.stopping) return;
      this.started -= 1;
      this.growthFailures += 1;
      const giveUp = this.growthFailures >= MAX_GROWTH_FAILURES;
      this.logger.error(
        `slot ${index}'s child could not start: ${errorMessage(error)}; ` +
          (giveUp ? `the worker goes on with ${this.started} slot(s)` : 'trying again when the pool is busy'),
      );
      if (giveUp) void this.growth?.stop();
    }
  }

  private createPoolExecutors(): void {
    const { options } = this;
    for (let index = 0; index < options.concurrency; index++) {
      this.executors.push(
        new PoolExecutor({
          slot: index,
          maxJobsPerChild: options.maxJobsPerChild,
          maxChildMemoryMb: options.maxChildMemoryMb,
          stderrLines: options.childStderrLines,
          logger: this.logger,
          isStopping: () => this.stopping,
          timeouts: options,
          stopped: this.stopped.signal,
        }),
      );
    }
  }

  /** The parent's Nest context of the user's module, and the connection the worker keeps its books on. */
  private async openContext(): Promise<{ connection: ResqueConnection; events: ResqueEvents; runner: JobRunner }> {
    const { options } = this;
    const app = await NestFactory.createApplicationContext(this.module, {
      ...options.appOptions,
      ...(options.appOptions.logger === undefined ? { logger: workerLogger(options.logLevel, 'parent') } : {}),
    });
    this.app = app;
    this.logger.enabled = moduleLoggerEnabled(app);
    const moduleConnection = app.get(ResqueConnection, { strict: false });
    if (options.connection !== undefined || options.namespace !== undefined) {
      this.ownConnection = ResqueConnection.create(options.connection ?? moduleConnection.client, options.namespace ?? moduleConnection.keys.namespace, {
        logger: this.logger.enabled,
      });
    }
    const connection = this.ownConnection ?? moduleConnection;
    await connection.connect();
    const events = app.get(ResqueEvents, { strict: false });
    if (options.metrics) await this.startMetrics(events, options.metrics);
    return { connection, events, runner: JobRunner.fromContext(app) };
  }

  /** One slot per executor; returns slot 0. */
  private createSlots(parts: Pick<SlotDeps, 'store' | 'selection' | 'runner' | 'events'> & { connection: ResqueConnection }): WorkerSlot {
    const { options } = this;
    const { connection, selection } = parts;
    const blockingCapable = options.blocking && selection.isLiteral && selection.configured.length === 1;
    for (const [index, executor] of this.executors.entries()) {
      this.slots.push(
        new WorkerSlot({
          index,
          options,
          store: parts.store,
          selection,
          executor,
          runner: parts.runner,
          events: parts.events,
          logger: this.logger,
          blockingClient: blockingCapable ? () => connection.duplicate(`resque-worker-${index}`) : null,
          title: index === 0 ? setTitle : null,
          exitPruned: () => this.exitPruned(),
        }),
      );
    }
    const [first] = this.slots;
    if (!first) throw new Error('a worker runs at least one slot');
    return first;
  }

  private startTimers(store: WorkerStore, pruner: WorkerPruner): void {
    const { options } = this;
    // ioredis sends a command whose reply a dropped connection lost again on reconnect: slots resync.
    store.redis.on('close', () => {
      for (const slot of this.slots) slot.noteConnectionLost();
    });
    this.every(options.heartbeatIntervalSeconds, async () => {
      // Slots learn both ways: confirmed (their lease) or no longer registered (pruned).
      // The ids as sent: a slot may re-register while the call is out.
      const sent = this.slots.filter((s) => this.registered.has(s)).map((slot) => ({ slot, id: slot.id }));
      const sentAt = performance.now();
      const gone = await store.heartbeat(
        sent.map((s) => s.id),
        await store.serverTime(),
      );
      for (const { slot, id } of sent) slot.heartbeatDone(id, sentAt, gone);
    });
    this.every(options.pruneIntervalSeconds, () => this.prune(pruner));
  }

  private installSignals(): void {
    this.removeSignals = installSignalHandlers({
      received: (signal, meaning) => this.logger.log(`received ${signal}: ${meaning}`),
      quit: (signal) => void this.stop('quit', signal),
      terminate: (signal) => void this.stop('term', signal),
      killChildren: () => {
        if (this.options.isolation === 'inline') this.logger.warn('USR1 ignored: inline jobs run in this process and cannot be killed');
        for (const e of this.executors) e.killCurrent();
      },
      pause: () => this.slots.forEach((s) => s.pause()),
      resume: () => this.slots.forEach((s) => s.resume()),
    });
  }

  /**
   * Per slot: its child up → beforeFirstFork → register → run; slots do not wait for each other. Returns
   * the slots' runs once all are registered; throws when a child could not boot (after stopping the rest).
   */
  private async startSlots(slots: readonly WorkerSlot[], childrenUp: ReadonlyArray<Promise<void>>, begin: SlotStart): Promise<Array<Promise<void>>> {
    const runs: Array<Promise<void>> = [];
    this.started = slots.length;
    const registered = slots.map((slot, index) => this.startSlot(slot, childrenUp[index] ?? Promise.resolve(), begin, runs));
    try {
      await Promise.all(registered);
    } catch (error) {
      // Stopped (a signal) while children still booted: not a failure, the worker shuts down as usual.
      const stopRequested = this.stopping;
      // A child could not boot: stop the slots already working, then start() tears everything down.
      this.stopping = true;
      for (const slot of this.slots) slot.stop();
      await Promise.allSettled(registered);
      await Promise.all(runs);
      if (!stopRequested) throw error;
    }
    return runs;
  }

  /** One slot: once its child is `up`, beforeFirstFork, register, and its run goes into `runs`. */
  private async startSlot(slot: WorkerSlot, up: Promise<void>, { store, events, selection }: SlotStart, runs: Array<Promise<void>>): Promise<void> {
    await up;
    slot.computeId();
    await events.emitAsync('beforeFirstFork', { workerId: slot.id, queues: [...selection.configured], pid: process.pid });
    await slot.register(await store.serverTime());
    this.registered.add(slot);
    runs.push(slot.run().catch((error: unknown) => this.logger.error(`worker ${slot.id} stopped on an error: ${errorMessage(error)}`)));
  }

  /** QUIT semantics for 'quit'; TERM semantics for 'term' (may escalate a running 'quit'). */
  stop(reason: WorkerStopReason, signal?: NodeJS.Signals): Promise<void> {
    if (signal) this.signalled = true;
    const escalate = reason === 'term';
    if (!this.stopping) {
      this.stopping = true;
      this.stopped.abort();
      for (const slot of this.slots) slot.stop();
    }
    // TERM/INT: each running job goes through Ruby's TERM sequence (see SlotExecutor#terminate).
    if (escalate) for (const e of this.executors) e.terminate(signal ?? 'SIGTERM');
    return this.closed;
  }

  /** `onPruned: 'exit'`: stop like QUIT, then leave with EXIT_PRUNED for a supervisor to restart us. */
  private exitPruned(): void {
    process.exitCode = EXIT_PRUNED;
    this.signalled = true; // exit even if user code keeps handles open
    void this.stop('quit');
  }

  private async shutdown(): Promise<void> {
    const ids = this.slots.map((slot) => slot.id).join(', ');
    this.logger.log(`shutting down ${ids}`);
    try {
      await this.teardown();
      this.logger.log(`stopped ${ids}: unregistered`);
    } finally {
      this.resolveClosed();
      // A signal ended the worker: exit even if user code keeps handles open (an abandoned inline job).
      if (this.signalled) setTimeout(() => process.exit(process.exitCode ?? 0), 500).unref();
    }
  }

  private async teardown(): Promise<void> {
    for (const timer of this.timers) clearInterval(timer);
    this.timers = [];
    this.removeSignals?.();
    this.removeSignals = null;
    await Promise.all(
      this.slots.map((slot) => slot.unregister().catch((e: unknown) => this.logger.error(`unregister ${slot.id}: ${errorMessage(e)}`))),
    );
    await Promise.all(this.executors.map((e) => e.close(5_000).catch(() => undefined)));
    const app = this.app;
    this.app = null;
    if (app) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        app.close().catch((e: unknown) => this.logger.error(`closing the Nest context failed: ${errorMessage(e)}`)),
        new Promise<void>((resolve) => {
          timer = setTimeout(() => {
            this.logger.error(`the Nest context did not close within ${this.options.shutdownTimeoutMs} ms`);
            resolve();
          }, this.options.shutdownTimeoutMs);
        }),
      ]);
      clearTimeout(timer);
    }
    await this.ownConnection?.close();
    await this.closeMetrics?.();
    this.removePidFile?.();
  }

  /** Loaded only when asked for, so the core never imports prom-client (an optional peer). */
  private async startMetrics(events: ResqueEvents, metricsOptions: WorkerMetricsOptions): Promise<void> {
    const { startWorkerMetrics } = await import('../metrics/metrics.worker.js').catch((error: unknown) => {
      throw new Error(`the metrics option needs prom-client (npm install prom-client): ${errorMessage(error)}`);
    });
    const metrics = await startWorkerMetrics(events, metricsOptions);
    this.closeMetrics = () => metrics.close();
    if (metrics.url) this.logger.log(`metrics on ${metrics.url}`);
  }

  private async prune(pruner: WorkerPruner): Promise<void> {
    try {
      const pruned = await pruner.pruneDeadWorkers();
      for (const p of pruned) {
        this.logger.warn(`pruned dead worker ${p.workerId} (${p.reason}); ${p.jobs.length} in-flight job(s) ${p.action === 'fail' ? 'failed' : 're-enqueued'}`);
      }
    } catch (error) {
      this.logger.error(`pruning dead workers failed: ${errorMessage(error)}`);
    }
  }

  private registeredIds(): string[] {
    return this.slots.filter((s) => this.registered.has(s)).map((s) => s.id);
  }

  private every(seconds: number, fn: () => Promise<void>): void {
    const timer = setInterval(() => {
      fn().catch((error: unknown) => this.logger.error(errorMessage(error)));
    }, seconds * 1000);
    timer.unref();
    this.timers.push(timer);
  }
}

/** What every slot's start needs from the host. */
interface SlotStart {
  store: WorkerStore;
  events: ResqueEvents;
  selection: QueueSelection;
}

/** On-demand child starts that fail in a row before the pool stops growing (the slots already up go on). */
const MAX_GROWTH_FAILURES = 3;

/**
 * Starts executors in slot order, at most `limit` at a time; one promise per executor. Executor i starts
 * once executor i - limit is up; if that one failed, i is not started (the worker's start fails anyway).
 */
function startLimited(executors: readonly SlotExecutor[], limit: number): Array<Promise<void>> {
  const ups: Array<Promise<void>> = [];
  for (const [index, executor] of executors.entries()) {
    const gate = ups[index - limit] ?? Promise.resolve();
    ups.push(gate.then(() => executor.start()));
  }
  return ups;
}

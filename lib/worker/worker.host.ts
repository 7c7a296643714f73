import { hostname } from 'node:os';
import { envLogLevel, importAppInclude } from '../env/env.common.js';
import { runWithHostEnv, useHostEnvForProcess } from '../env/env.host-scope.js';
import { failStartup } from '../env/env.startup.js';
import { workerOptionsFromEnv } from '../env/env.worker.js';
import type { ResqueAppModule } from '../resque.host-types.js';
import { runChild } from './worker.child.js';
import type { ResqueWorkerHandle } from './worker.handle.js';
import { CHILD_ENV } from './worker.ipc.js';
import { resolveWorkerOptions, type ResqueWorkerHostOptions, type WorkerLogLevel } from './worker.options.js';

/**
 * Runs Resque workers from a standalone entrypoint (a plain `worker.ts`/`.js`, also the CLI's target):
 *
 *     await ResqueWorkerHost.run(WorkerModule, { queues: ['critical', 'default'], concurrency: 3 });
 *
 * Options merge as explicit > php-resque's environment variables (QUEUE, COUNT, INTERVAL, BLOCKING, PREFIX,
 * REDIS_BACKEND, PIDFILE, LOGGING/VERBOSE/VVERBOSE) > defaults.
 *
 * How it runs
 * - The host (parent) boots `WorkerModule` as a Nest application context, reserves jobs and does every Redis
 *   write. Jobs run in children: the same entrypoint re-executed by `child_process.fork` with the parent's
 *   execArgv (a TS loader keeps working) and NESTJS_RESQUE_CHILD=<slot>. There `run()` turns the process into
 *   a child: one Nest context, jobs performed one at a time, outcomes sent back over IPC. Nothing after
 *   `await ResqueWorkerHost.run(...)` in the entrypoint should do work of its own: it runs in children too.
 * - `concurrency` (COUNT) = N slots, each its own Resque worker. Worker ids are `host:pid:queues` (queues as
 *   configured, `*` kept). Slot 0 uses the host's pid; slots ≥ 1 use their current child's pid, and
 *   re-register under the new pid when the child is recycled. So `id.split(':')[1]` is always a live process
 *   on this host, which php's and Ruby's pruners check. Inline mode with several slots shares one process:
 *   slots ≥ 1 are `host:pid+n:queues` (node-resque's convention; Ruby's `to_i` and our pruner read the live
 *   pid, but php's process-table pruner and a Ruby worker on the same host and queues would unregister
 *   them — use pool mode when such workers share the host).
 * - isolation 'pool' (default): children are reused; recycled after `maxJobsPerChild` jobs or once their RSS
 *   passes `maxChildMemoryMb` (the successor is started while the last job runs). `maxJobsPerChild: 1` is
 *   php-resque's fork per job. isolation 'inline': jobs run in the host process (tests, maximum speed).
 * - A job past its timeout has its `ctx.signal` aborted and fails with JobTimeoutError; a pool child that
 *   does not report within `termTimeoutMs` is SIGKILLed. A child that exits (any code) or is killed while
 *   performing fails its job as `Resque::DirtyExit`; the error names the code/signal/timeout and the backtrace holds the
 *   child's last stderr lines. The slot gets a fresh child.
 * - Reserving, pipelined: each slot claims up to `prefetch` jobs (default 2) ahead of the one it performs
 *   into its claim list `worker:<id>:claim` (ours; `:claim:queues` records their queues for several-queue
 *   workers). When a claimed job starts, one Lua script — sent without waiting, so the round trip overlaps
 *   with performing — finishes the previous job (processed +1, status COMPLETE), moves the job to
 *   `worker:<id>` (RUNNING) and claims the next one (priority order, `pause-all-workers` honoured). A job is
 *   always in a queue, a claim list or `worker:<id>`; `worker:<id>` may be written a round trip after its
 *   perform began. A claimed job was first in priority order when claimed, so a job pushed later to a
 *   higher-priority queue may run after up to `prefetch` jobs (`prefetch: 0`: strict, slower). USR2, QUIT
 *   and stop put claimed jobs back at the head of their queues; the pruner fails (or requeues) a dead
 *   worker's claimed jobs with its in-flight one. Globs re-read `SMEMBERS queues` (in the background while
 *   busy: a new queue is seen one job later). BLOCKING with one literal queue waits with BLMOVE into the
 *   claim list when nothing could be claimed; with several queues or globs, blocking mode polls every
 *   min(INTERVAL, 0.5 s) instead (BLMOVE takes a single source). A job BLMOVEd while USR2 pauses the
 *   worker goes back to its queue.
 * - Start-up failure (bad option, Redis unreachable, a child that cannot boot): one log line naming the
 *   cause (stack at 'debug'), then exit 1, as NestFactory does; `appOptions.abortOnError: false` rejects
 *   instead. A child killed from outside while it boots is replaced, at start-up as later.
 * - Pruning at start-up and every `pruneIntervalSeconds` (see WorkerPruner); heartbeats every
 *   `heartbeatIntervalSeconds` (Redis TIME, Ruby's format).
 *
 * Signals (php/Ruby): QUIT finish the running jobs, then exit. TERM/INT: Ruby's TERM sequence for each
 * running job — it may go on for `preShutdownTimeoutMs` (RESQUE_PRE_SHUTDOWN_TIMEOUT), then its `ctx.signal`
 * is aborted with a TermException, then after `termTimeoutMs` (RESQUE_TERM_TIMEOUT, default 4 s) its child
 * is SIGKILLed (inline: it is abandoned); unless it completed, it is failed as `Resque::TermException` or,
 * with `onInterrupted: 'requeue'`, put back at the head of its queue; then exit. USR1 kill the running
 * children, keep working. USR2/CONT pause/resume. Shutdown closes children, unregisters, then
 * `app.close(signal)` (your beforeApplicationShutdown/onApplicationShutdown hooks run) bounded by
 * `shutdownTimeoutMs`.
 *
 * Events and where pooled children move php's timing
 * - beforeFirstFork: parent, per slot, right after that slot's child is up and before the slot registers.
 *   Slot 0's child boots at start-up; the others on demand (PoolGrowth: busy children, jobs waiting, a CPU
 *   with room) or, with `childStart: 'eager'`, at start-up at most `availableParallelism()` at a time. Each
 *   slot starts working as soon as its own child is ready.
 * - beforeFork: parent, when a claimed job starts (as its `worker:<id>` write is sent; php fires it before
 *   writing `worker:<id>`), before the job is handed to an already-running child — no fork happens per job
 *   unless `maxJobsPerChild: 1`, and even then the child was forked ahead of time. Listeners of both kinds
 *   (`beforeFork$` and `listen('beforeFork')`) are awaited; nothing is built when there are none.
 * - afterFork: in the child, right before beforePerform, once per job (not once per fork); inline mode
 *   fires it too (php fires it in its perform, forked or not). A listener's error fails the job.
 * - beforePerform / afterPerform / onFailure: in the child; they reach the child's own ResqueEvents first
 *   (listeners there can veto by throwing DoNotPerformError), then the parent's ResqueEvents over IPC.
 *   For a dirty exit, onFailure is emitted by the parent (the child is gone).
 */
export class ResqueWorkerHost {
  static async run(module: ResqueAppModule, options: ResqueWorkerHostOptions = {}): Promise<ResqueWorkerHandle> {
    const inChild = process.env[CHILD_ENV] !== undefined;
    try {
      // The module booted here (parent and children) takes PREFIX/REDIS_BACKEND for what it leaves unset.
      if (!inChild) return await runWithHostEnv(process.env, () => ResqueWorkerHost.start(module, options));
      useHostEnvForProcess(process.env);
      return await ResqueWorkerHost.start(module, options);
    } catch (error) {
      // A child is ours: it always ends (the parent names the failure). The parent follows abortOnError.
      return failStartup('ResqueWorker', error, {
        abortOnError: inChild ? true : options.appOptions?.abortOnError,
        logLevel: options.logLevel ?? envLogLevel(process.env),
      });
    }
  }

  private static async start(module: ResqueAppModule, options: ResqueWorkerHostOptions): Promise<ResqueWorkerHandle> {
    const fromEnv = workerOptionsFromEnv(process.env);
    // php-resque's APP_INCLUDE: loaded first, in the parent and in every child (ESM caches a second import).
    await importAppInclude(process.env);
    const slotEnv = process.env[CHILD_ENV];
    if (slotEnv !== undefined) {
      const logLevel: WorkerLogLevel | undefined = options.logLevel ?? fromEnv.logLevel;
      return runChild(module, { slot: Number(slotEnv) || 0, appOptions: options.appOptions ?? {}, logLevel });
    }
    const resolved = resolveWorkerOptions(options, fromEnv, hostname());
    // Loaded here, not at the top: a pool child (the same entry, returned above) never reserves, so it
    // does not load the runtime, slots, store, executor and node:child_process.
    const { WorkerRuntime } = await import('./worker.runtime.js');
    const runtime = new WorkerRuntime(module, resolved);
    await runtime.start();
    return runtime.handle;
  }
}

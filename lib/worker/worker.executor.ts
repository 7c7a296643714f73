import { performance } from 'node:perf_hooks';
import type { Logger } from '@nestjs/common';
import { DIRTY_EXIT_EXCEPTION, errorMessage, type DecodedJob } from '../protocol/index.js';
import { ChildHandle, ChildStartError, type ChildResult } from './worker.child-process.js';
import { JobTimeoutError, TermException } from './worker.errors.js';
import { fromWirePayload, type WireEventPayload } from './worker.ipc.js';
import { failed, type BridgedEventName, type JobRunner } from './worker.job-runner.js';
import { givenUpOutcome, interruptedOutcome, TermSequence, type TermSteps, type TermTimeouts } from './worker.termination.js';
import type { JobOutcome, RunnableJob } from './worker.types.js';
import type { ResqueEvents } from '../events/events.service.js';
import { JobAbort } from './worker.abort.js';

const BRIDGED_EVENTS: BridgedEventName[] = ['afterFork', 'beforePerform', 'afterPerform', 'onFailure', 'onProgress'];

/** Where a slot's jobs run: a pool child, or the host process itself. */
export interface SlotExecutor {
  /** The pid that goes into the slot's worker id (a live process on this host). */
  readonly idPid: number;
  /** Appended to the pid in the id: '' except for inline slots after the first (`host:pid+n:queues`). */
  readonly idSuffix: string;
  start(): Promise<void>;
  /**
   * Performs one job; a dead child or a timeout comes back as a failed outcome (never throws). `cancel`
   * aborted (the worker was pruned): the job's `ctx.signal` is aborted with the same reason.
   */
  perform(job: RunnableJob, decoded: DecodedJob, timeoutMs: number | null, cancel?: JobAbort): Promise<JobOutcome>;
  /** USR1: kill the running job's child now (no-op inline). */
  killCurrent(): void;
  /**
   * TERM/INT: the running job (and one started later) goes through the TERM sequence: it may run on for
   * `preShutdownTimeoutMs`, then its `ctx.signal` is aborted, then `termTimeoutMs` later its child is
   * SIGKILLed (inline: it is abandoned). Unless it completed, it comes back as an `interrupted` failure.
   */
  terminate(signal: NodeJS.Signals): void;
  /** Recycles the child if it is due; true when idPid changed (the slot re-registers). False at once inline (nothing to await per job). */
  afterJob(): boolean | Promise<boolean>;
  close(graceMs: number): Promise<void>;
}

/**
 * Inline mode: the job runs in this process. A timeout aborts its `ctx.signal` and fails it at once; TERM
 * aborts it and waits up to `termTimeoutMs`. Neither can stop a job that ignores its signal: it is left
 * running (and recorded) while the slot moves on or the process exits.
 */
export class InlineExecutor implements SlotExecutor {
  readonly idPid = process.pid;
  readonly idSuffix: string;
  private readonly term: TermSequence;

  /**
   * Inline slots share one process, so slots after the first are `host:pid+n:queues` (node-resque's
   * convention): Ruby reads the pid with to_i and our pruner with parseInt, both as the live host pid.
   */
  constructor(
    private readonly runner: JobRunner,
    slot: number,
    private readonly timeouts: TermTimeouts,
  ) {
    this.idSuffix = slot === 0 ? '' : `+${slot}`;
    this.term = new TermSequence(timeouts);
  }

  async start(): Promise<void> {}

  async perform(job: RunnableJob, decoded: DecodedJob, timeoutMs: number | null, cancel?: JobAbort): Promise<JobOutcome> {
    // The slot's abort (a prune notice) is the job's own: timeout and TERM abort the same one.
    const abort = cancel ?? new JobAbort();
    const run = this.runner.run(job, { decoded, abort });
    const stops = new InlineStops(abort, this.term, decoded.className, this.timeouts.termTimeoutMs);
    const unwatch = this.term.watch(stops);
    try {
      const outcome = await stops.first(run, timeoutMs);
      return stops.terminated ? interruptedOutcome(outcome, this.term.signal, decoded.className, 'the job was stopped') : outcome;
    } finally {
      stops.end();
      unwatch();
    }
  }

  killCurrent(): void {}

  terminate(signal: NodeJS.Signals): void {
    this.term.begin(signal);
  }

  afterJob(): false {
    return false;
  }

  async close(): Promise<void> {}
}

/**
 * What can end an inline job's wait before the job returns: its timeout (the signal is aborted and the job
 * fails at once) and the TERM sequence (aborted, then given up on). One object per job, its steps as methods:
 * a no-op job's wait is a measurable share of its cost.
 */
class InlineStops implements TermSteps {
  /** The TERM sequence aborted the job. */
  terminated = false;
  private timer: NodeJS.Timeout | undefined;
  private cut: ((outcome: JobOutcome) => void) | null = null;

  constructor(
    private readonly job: JobAbort,
    private readonly term: TermSequence,
    private readonly className: string,
    private readonly termTimeoutMs: number,
  ) {}

  /** The job's outcome, or the stop's if one comes first. */
  first(run: Promise<JobOutcome>, timeoutMs: number | null): Promise<JobOutcome> {
    return new Promise<JobOutcome>((resolve, reject) => {
      this.cut = resolve;
      run.then(resolve, reject);
      if (timeoutMs !== null) this.timer = setTimeout(() => this.timedOut(timeoutMs), timeoutMs);
    });
  }

  abort(): void {
    this.terminated = true;
    this.job.abort(new TermException(this.term.signal));
  }

  giveUp(): void {
    this.cut?.(givenUpOutcome(this.term.signal, this.className, `it did not stop within ${this.termTimeoutMs} ms and was abandoned`, []));
  }

  end(): void {
    clearTimeout(this.timer);
  }

  private timedOut(timeoutMs: number): void {
    const error = new JobTimeoutError(timeoutMs);
    this.job.abort(error);
    this.cut?.(failed(error));
  }
}

export interface PoolExecutorOptions {
  slot: number;
  maxJobsPerChild: number;
  maxChildMemoryMb: number;
  stderrLines: number;
  logger: Logger;
  isStopping: () => boolean;
  /** The TERM sequence's timeouts (`termTimeoutMs` also bounds a timed-out job's stop). */
  timeouts: TermTimeouts;
  /** Aborted when the worker stops: a child still booting is killed (it holds no job) instead of awaited. */
  stopped?: AbortSignal;
}

/**
 * Pool mode: one reusable child per slot. Slot 0's id carries the host's pid, other slots' ids carry
 * their child's pid (so every id names a live process, as php's and Ruby's pruners require). A child due
 * for recycling after its next job gets its successor started while that job runs.
 */
export class PoolExecutor implements SlotExecutor {
  readonly idSuffix = '';
  private child: ChildHandle | null = null;
  private spare: Promise<ChildHandle> | null = null;
  private runner: JobRunner | null = null;
  private events: ResqueEvents | null = null;
  /** The first child, while it boots (close() must not leave it behind). */
  private starting: Promise<ChildHandle> | null = null;
  private closing = false;
  private readonly term: TermSequence;
  /** Aborted by close() or the worker's stop: children still booting are killed, so neither waits on a boot. */
  private readonly abortBoots = new AbortController();
  /** ms of jobs in this slot's earlier children, and ms its jobs waited for a child to boot (pool growth). */
  private pastOccupiedMs = 0;
  /** A started job waits for its child's boot (see childForJob). */
  private jobWaiting = false;

  constructor(private readonly options: PoolExecutorOptions) {
    this.term = new TermSequence(options.timeouts);
    // The worker's stop spares the boot a started job waits for: QUIT lets that job run, and TERM's
    // sequence applies to it once it is handed over. close() still kills every boot.
    options.stopped?.addEventListener('abort', () => !this.jobWaiting && this.abortBoots.abort(), { once: true });
  }

  /**
   * The parent's runner and events, once its Nest context is up: children are forked before that, so the
   * parent's and the children's boots overlap.
   */
  attach(runner: JobRunner, events: ResqueEvents): void {
    this.runner = runner;
    this.events = events;
  }

  get idPid(): number {
    return this.options.slot === 0 ? process.pid : (this.child?.pid ?? process.pid);
  }

  get childPid(): number | null {
    return this.child?.pid ?? null;
  }

  /** ms this slot spent in jobs, or waiting for a child to run one on (PoolGrowth). */
  occupiedMs(now: number): number {
    return this.pastOccupiedMs + (this.child?.occupiedMs(now) ?? 0);
  }

  /**
   * Starts the first child. One killed from outside while it boots is replaced (with back-off), as after
   * start-up; one that fails for a reason of its own (the module throws, Redis is unreachable) fails the start.
   */
  async start(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      if (this.closing) throw new Error(`worker slot ${this.options.slot} closed before its child started`);
      const starting = this.spawn();
      this.starting = starting;
      try {
        this.child = await starting;
        break;
      } catch (error) {
        const replace = error instanceof ChildStartError && error.killedFromOutside;
        if (!replace || this.closing || this.options.isStopping()) throw error;
        this.options.logger.warn(`${error.message}; starting another`);
        await backOff(attempt);
      } finally {
        this.starting = null;
      }
    }
    if (this.closing) {
      // close() ran while the child booted: it waited for this start and shuts the child down.
      this.child = null;
      throw new Error(`worker slot ${this.options.slot} closed while its child started`);
    }
  }

  async perform(job: RunnableJob, decoded: DecodedJob, timeoutMs: number | null, cancel?: JobAbort): Promise<JobOutcome> {
    const className = decoded.className;
    const waitFrom = performance.now();
    const child = await this.childForJob();
    this.pastOccupiedMs += performance.now() - waitFrom;
    if (!child) return givenUpOutcome(this.term.signal, className, 'it had not started: its child was stopped while booting', []);
    const successorDue = child.jobsDone + 1 >= this.options.maxJobsPerChild;
    const events = this.events;
    const bridge = events ? BRIDGED_EVENTS.filter((name) => events.hasListeners(name)) : [];
    const { logger, slot, timeouts } = this.options;
    const unwatch = this.term.watch({
      abort: () => {
        logger.debug(`slot ${slot}: aborting ${className} in child ${child.pid} (${this.term.signal})`);
        child.interrupt(this.term.signal);
      },
      giveUp: () => {
        logger.warn(`slot ${slot}: ${className} did not stop within ${timeouts.termTimeoutMs} ms; killing child ${child.pid} (SIGKILL)`);
        child.kill('SIGKILL');
      },
    });
    const unlink = cancel?.onAbort(() => child.cancel(job.workerId));
    let result: ChildResult;
    try {
      const running = child.perform(job, timeoutMs, bridge, Number.isFinite(this.options.maxChildMemoryMb));
      // The successor is forked once the job is on its way: the fork's few ms are not on the job's path.
      if (successorDue && !this.spare && !this.options.isStopping()) {
        this.spare = this.spawn();
        this.spare.catch(() => undefined); // awaited (and reported) by afterJob or the next perform
      }
      result = await running;
    } finally {
      unwatch();
      unlink?.();
    }
    return this.outcomeOf(job, className, result);
  }

  /** What the child reported, or how it died, as the job's outcome (interrupted, timed out, dirty exit). */
  private async outcomeOf(job: RunnableJob, className: string, result: ChildResult): Promise<JobOutcome> {
    const { timeouts } = this.options;
    const signal = this.term.signal;
    if (result.kind === 'outcome') {
      if (result.terminated) return interruptedOutcome(result.outcome, signal, className, 'the job was stopped');
      // Past its timeout, whatever it did afterwards: failed, as inline mode records it.
      if (result.timedOutMs !== null) {
        const timedOut = failed(new JobTimeoutError(result.timedOutMs));
        return result.outcome.kind === 'failed' ? { ...timedOut, backtrace: result.outcome.backtrace } : timedOut;
      }
      return result.outcome;
    }
    const error = result.terminated ? new TermException(signal) : dirtyExitError(result, className);
    const record = await this.runner?.notifyFailure(job, error).catch((e: unknown) => {
      this.options.logger.error(`onFailure after a dirty exit threw: ${errorMessage(e)}`);
      return true;
    });
    if (result.terminated) {
      const how =
        result.signal === 'SIGKILL'
          ? `it did not stop within ${timeouts.termTimeoutMs} ms and its child was killed (SIGKILL)`
          : `its child died (${result.signal ?? `code ${result.code}`})`;
      return givenUpOutcome(signal, className, how, result.stderr);
    }
    const dirty: JobOutcome = { kind: 'failed', exception: DIRTY_EXIT_EXCEPTION, error: error.message, backtrace: result.stderr };
    // An onFailure listener here threw DoNotRecordFailureError: as in the child, no failure record.
    return record === false ? { ...dirty, stopRecord: true } : dirty;
  }

  killCurrent(): void {
    if (this.child?.busy) this.child.kill('SIGKILL');
  }

  terminate(signal: NodeJS.Signals): void {
    this.term.begin(signal);
  }

  /**
   * Slot 0's id carries the host's pid, so its successor child is not waited for here: the slot records the
   * finished job and starts the next one while the successor boots, and perform() waits for it. Other
   * slots' ids name their child: they wait, then re-register under the new pid.
   */
  async afterJob(): Promise<boolean> {
    const child = this.child;
    const due =
      !child ||
      !child.alive ||
      child.jobsDone >= this.options.maxJobsPerChild ||
      child.rssMb > this.options.maxChildMemoryMb;
    if (!due) return false;
    const before = this.idPid;
    if (child?.alive) void child.shutdown(5_000);
    this.retire();
    if (this.options.isStopping()) {
      await this.dropSpare();
      return false;
    }
    if (this.options.slot === 0) {
      // The successor boots now (not at the next job), as it would have here.
      this.spare ??= this.spawn();
      this.spare.catch(() => undefined); // awaited (and reported) by the next perform's ensureChild
      return false;
    }
    this.child = await this.ensureChild();
    return this.idPid !== before;
  }

  async close(graceMs: number): Promise<void> {
    this.closing = true;
    this.abortBoots.abort();
    const starting = this.starting?.then(
      (c) => c.shutdown(graceMs),
      () => undefined,
    );
    const child = this.child;
    this.child = null;
    await Promise.all([child?.shutdown(graceMs), starting, this.dropSpare()]);
  }

  /**
   * The child a started job runs in. While it boots (slot 0's successor, or a child that died idle), the
   * worker's stop does not kill it (QUIT lets the job run), but TERM's sequence does: its abort step kills
   * the boot, and then null comes back (the job never ran).
   */
  private async childForJob(): Promise<ChildHandle | null> {
    if (this.child?.alive) return this.child;
    let stoppedBoot = false;
    this.jobWaiting = true;
    const unwatch = this.term.watch({
      abort: () => {
        stoppedBoot = true;
        this.abortBoots.abort(); // the only boot in flight is this job's child
      },
      giveUp: () => undefined,
    });
    try {
      return await this.ensureChild();
    } catch (error) {
      if (stoppedBoot) return null;
      throw error;
    } finally {
      this.jobWaiting = false;
      unwatch();
    }
  }

  /** The current child, or a new one (the spare if one is starting); retries a failing boot with backoff. */
  private async ensureChild(): Promise<ChildHandle> {
    if (this.child?.alive) return this.child;
    this.retire();
    for (let attempt = 1; ; attempt++) {
      const next = this.spare ?? this.spawn();
      this.spare = null;
      try {
        this.child = await next;
        return this.child;
      } catch (error) {
        if (this.options.isStopping() || this.closing) throw error;
        this.options.logger.error(errorMessage(error));
        await backOff(attempt);
      }
    }
  }

  /** The current child is done with (recycled or dead): its job time stays in the slot's occupancy. */
  private retire(): void {
    if (this.child) this.pastOccupiedMs += this.child.occupiedMs(performance.now());
    this.child = null;
  }

  private async dropSpare(): Promise<void> {
    const spare = this.spare;
    this.spare = null;
    if (!spare) return;
    try {
      await (await spare).shutdown(5_000);
    } catch {
      // it never started
    }
  }

  private spawn(): Promise<ChildHandle> {
    return ChildHandle.start({
      slot: this.options.slot,
      stderrLines: this.options.stderrLines,
      termTimeoutMs: this.options.timeouts.termTimeoutMs,
      onEvent: (name, payload) => this.bridge(name, payload),
      abort: this.abortBoots.signal,
    });
  }

  /** Re-emits a child's event on the parent's ResqueEvents (the child's own listeners already ran). */
  private bridge(name: BridgedEventName, payload: WireEventPayload): void {
    void this.events?.emitAsync(name, fromWirePayload(name, payload)).catch(() => undefined);
  }
}

/** Between attempts to start a child: 250 ms more each time, at most 5 s. */
function backOff(attempt: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.min(5_000, 250 * attempt)));
}

export function dirtyExitError(result: ChildResult & { kind: 'died' }, className: string): Error {
  let message: string;
  if (result.timedOutMs !== null) {
    message = `Job ${className} exceeded its timeout of ${result.timedOutMs} ms; the child process was killed (SIGKILL)`;
  } else if (result.signal) {
    message = `Child process was killed by signal ${result.signal} while performing ${className}`;
  } else {
    message = `Child process exited with code ${result.code ?? 'unknown'} while performing ${className}`;
  }
  const error = new Error(message);
  error.name = DIRTY_EXIT_EXCEPTION;
  return error;
}

import { TERM_EXCEPTION } from '../protocol/index.js';
import type { JobOutcome } from './worker.types.js';

export interface TermTimeouts {
  preShutdownTimeoutMs: number;
  termTimeoutMs: number;
}

/** What an executor does to its running job at each step of the TERM sequence. */
export interface TermSteps {
  /** Abort the job's `ctx.signal` (pool: over IPC). */
  abort(): void;
  /** `termTimeoutMs` later, still running: SIGKILL the child (pool) or stop waiting for it (inline). */
  giveUp(): void;
}

/**
 * Ruby's TERM sequence (worker.rb `new_kill_child`) for one slot's running job: the job may go on for
 * `preShutdownTimeoutMs` (RESQUE_PRE_SHUTDOWN_TIMEOUT), then it is asked to stop (Ruby: TERM to the child,
 * which raises TermException in the job; we abort `ctx.signal` with a TermException), then after
 * `termTimeoutMs` (RESQUE_TERM_TIMEOUT) it is given up on (Ruby: KILL). Times count from the signal, so a
 * job that starts after it (already claimed) only gets what is left.
 */
export class TermSequence {
  private since: number | null = null;
  private signalName: NodeJS.Signals = 'SIGTERM';
  private job: { steps: TermSteps; timers: NodeJS.Timeout[] } | null = null;

  constructor(private readonly timeouts: TermTimeouts) {}

  /** The TERM/INT that started the sequence. */
  get signal(): NodeJS.Signals {
    return this.signalName;
  }

  /** TERM/INT received: starts the sequence for the running job (a repeated signal changes nothing). */
  begin(signal: NodeJS.Signals): void {
    if (this.since !== null) return;
    this.since = Date.now();
    this.signalName = signal;
    if (this.job) this.arm(this.job, this.since);
  }

  /** A job starts; the returned function ends its watch (call it once the job settled). */
  watch(steps: TermSteps): () => void {
    const job = { steps, timers: [] as NodeJS.Timeout[] };
    this.job = job;
    if (this.since !== null) this.arm(job, this.since);
    return () => {
      for (const timer of job.timers) clearTimeout(timer);
      if (this.job === job) this.job = null;
    };
  }

  private arm(job: { steps: TermSteps; timers: NodeJS.Timeout[] }, since: number): void {
    const left = Math.max(0, this.timeouts.preShutdownTimeoutMs - (Date.now() - since));
    job.timers.push(
      setTimeout(() => {
        job.steps.abort();
        job.timers.push(setTimeout(() => job.steps.giveUp(), this.timeouts.termTimeoutMs));
      }, left),
    );
  }
}

/**
 * The outcome of a job the TERM sequence stopped: a completed (or skipped) job, or one already marked
 * interrupted, keeps its outcome; anything else is a `Resque::TermException` failure marked `interrupted` (the slot fails or requeues it).
 * `how`: what became of the job, for the error message.
 */
export function interruptedOutcome(outcome: JobOutcome, signal: NodeJS.Signals, className: string, how: string): JobOutcome {
  if (outcome.kind !== 'failed' || outcome.interrupted) return outcome;
  const stopped = outcome.exception === TERM_EXCEPTION ? '' : ` (${outcome.exception}: ${outcome.error})`;
  return {
    kind: 'failed',
    exception: TERM_EXCEPTION,
    error: `Worker received ${signal} while performing ${className}; ${how}${stopped}`,
    backtrace: outcome.backtrace,
    interrupted: true,
  };
}

/** The failure of a job given up on after `termTimeoutMs` (its own outcome never came). */
export function givenUpOutcome(signal: NodeJS.Signals, className: string, how: string, backtrace: string[]): JobOutcome {
  return interruptedOutcome({ kind: 'failed', exception: TERM_EXCEPTION, error: '', backtrace }, signal, className, how);
}

import { fork, type ChildProcess } from 'node:child_process';
import { CHILD_ENV, isChildMessage, type ChildMessage, type ParentMessage, type WireEventPayload } from './worker.ipc.js';
import type { BridgedEventName } from './worker.job-runner.js';
import { childLogEnv } from './worker.logger.js';
import type { JobOutcome, RunnableJob } from './worker.types.js';

/** How a job handed to a child ended: the child's own report, or the child's death. */

/** How long a dead child's stderr pipe may take to drain before its exit is reported. */
const STDERR_DRAIN_MS = 250;
/**
 * `timedOutMs`: the job passed its timeout (its `ctx.signal` was aborted). `terminated`: TERM/INT aborted it
 * (see `interrupt`).
 */
export type ChildResult =
  | { kind: 'outcome'; outcome: JobOutcome; timedOutMs: number | null; terminated: boolean }
  | { kind: 'died'; code: number | null; signal: NodeJS.Signals | null; timedOutMs: number | null; terminated: boolean; stderr: string[] };

export interface ChildSpawnOptions {
  slot: number;
  stderrLines: number;
  /** After a job's timeout aborted its `ctx.signal`: how long it may take to stop before SIGKILL. */
  termTimeoutMs: number;
  onEvent: (name: BridgedEventName, payload: WireEventPayload) => void;
  /** Aborted (the worker is closing): a child still booting is SIGKILLed (it holds no job yet). */
  abort?: AbortSignal;
}

/** Signals a process gets from its own fault (a crash, an abort), not from someone else. */
const SELF_INFLICTED_SIGNALS: ReadonlySet<NodeJS.Signals> = new Set(['SIGABRT', 'SIGSEGV', 'SIGBUS', 'SIGILL', 'SIGFPE', 'SIGTRAP', 'SIGSYS']);

/** A child that ended before its Nest context was up: how it ended, and its own reason when it sent one. */
export class ChildStartError extends Error {
  override readonly name = 'ChildStartError';
  constructor(
    readonly slot: number,
    readonly code: number | null,
    readonly signal: NodeJS.Signals | null,
    readonly reason: string | null,
    stderr: readonly string[],
  ) {
    const how = signal ? `signal ${signal}` : `code ${code}`;
    super(
      reason !== null
        ? `worker child (slot ${slot}) failed to boot: ${reason}`
        : `worker child (slot ${slot}) exited during start-up with ${how}${stderr.length > 0 ? `:\n${stderr.join('\n')}` : ''}`,
    );
  }

  /**
   * Killed by a signal from outside (an operator, the OOM killer) while it booted: nothing wrong with the
   * module, so the child is replaced. An exit code, a reason sent, or a crash signal is the child's own.
   */
  get killedFromOutside(): boolean {
    return this.reason === null && this.signal !== null && !SELF_INFLICTED_SIGNALS.has(this.signal);
  }
}

/**
 * The parent's side of one pool child: the same entrypoint re-executed with the parent's execArgv (so a
 * TypeScript loader keeps working) and NESTJS_RESQUE_CHILD=<slot>. Its stderr is piped: forwarded to ours
 * and kept in a ring buffer that becomes a dead child's backtrace.
 */
export class ChildHandle {
  jobsDone = 0;
  rssMb = 0;
  /** The jobs' run time so far, as the child measured it (ms). */
  private runMs = 0;
  /** When the running job was handed over (performance.now()). */
  private sentAt = 0;
  /** The bridge list the child has (sent again only when it changes). */
  private bridgeSent = '';
  private readonly stderrTail: string[] = [];
  private partialLine = '';
  private exited = false;
  /** Set at 'exit', while the stderr pipe drains: no new job goes to this child. */
  private dying = false;
  private exitInfo: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  private readonly exitWaiters: Array<() => void> = [];
  private pending: {
    resolve: (r: ChildResult) => void;
    /** The timeout, then the SIGKILL `termTimeoutMs` after it. */
    timer: NodeJS.Timeout | null;
    timedOutMs: number | null;
    terminated: boolean;
  } | null = null;

  private constructor(
    private readonly proc: ChildProcess,
    private readonly options: ChildSpawnOptions,
  ) {}

  get pid(): number {
    return this.proc.pid ?? -1;
  }

  get alive(): boolean {
    return !this.exited && !this.dying;
  }

  get busy(): boolean {
    return this.pending !== null;
  }

  /** ms this child spent running jobs: the finished ones as it measured them, plus the running one so far. */
  occupiedMs(now: number): number {
    return this.runMs + (this.pending ? now - this.sentAt : 0);
  }

  /** Forks a child and resolves once its Nest context is up; rejects (with its stderr) if it dies first. */
  static start(options: ChildSpawnOptions): Promise<ChildHandle> {
    const entry = process.argv[1];
    if (!entry) return Promise.reject(new Error('cannot fork a worker child: process.argv[1] (the entrypoint) is empty'));
    const proc = fork(entry, process.argv.slice(2), {
      execArgv: process.execArgv,
      env: { ...process.env, ...childLogEnv(), [CHILD_ENV]: String(options.slot) },
      stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
      serialization: 'json',
    });
    const handle = new ChildHandle(proc, options);
    handle.wire();
    return new Promise<ChildHandle>((resolve, reject) => {
      let reason: string | null = null;
      const onMessage = (message: unknown) => {
        if (!isChildMessage(message)) return;
        if (message.type === 'failed') reason = message.message; // its exit follows
        if (message.type === 'ready') {
          cleanup();
          resolve(handle);
        }
      };
      const onExit = () => {
        cleanup();
        const { code = null, signal = null } = handle.exitInfo ?? {};
        reject(new ChildStartError(options.slot, code, signal, reason, handle.stderrTail));
      };
      const onAbort = () => handle.kill('SIGKILL');
      const cleanup = () => {
        proc.off('message', onMessage);
        options.abort?.removeEventListener('abort', onAbort);
        const i = handle.exitWaiters.indexOf(onExit);
        if (i >= 0) handle.exitWaiters.splice(i, 1);
      };
      proc.on('message', onMessage);
      handle.exitWaiters.push(onExit);
      if (options.abort?.aborted) onAbort();
      else options.abort?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /**
   * Hands one job over; resolves with its outcome, or with how the child died. At the timeout the job's
   * `ctx.signal` is aborted, and the child SIGKILLed if it has not reported `termTimeoutMs` later.
   * `rss`: ask for the child's RSS with the outcome.
   */
  perform(job: RunnableJob, timeoutMs: number | null, bridge: BridgedEventName[] = [], rss = false): Promise<ChildResult> {
    if (this.exited) return Promise.resolve(this.diedResult(null, false));
    if (this.pending) return Promise.reject(new Error('worker child is already performing a job'));
    return new Promise<ChildResult>((resolve) => {
      const pending: NonNullable<ChildHandle['pending']> = { resolve, timer: null, timedOutMs: null, terminated: false };
      if (timeoutMs !== null) {
        pending.timer = setTimeout(() => {
          pending.timedOutMs = timeoutMs;
          this.send({ type: 'abort', reason: 'timeout', timeoutMs });
          pending.timer = setTimeout(() => this.kill('SIGKILL'), this.options.termTimeoutMs);
        }, timeoutMs);
      }
      this.pending = pending;
      this.sentAt = performance.now();
      const bridgeKey = bridge.join(',');
      const message: ParentMessage = { type: 'perform', job };
      if (bridgeKey !== this.bridgeSent) {
        message.bridge = bridge;
        this.bridgeSent = bridgeKey;
      }
      if (rss) message.rss = true;
      this.send(message);
    });
  }

  /** TERM/INT: aborts the running job's `ctx.signal`; its outcome still comes (marked `terminated`). */
  interrupt(signal: NodeJS.Signals): void {
    if (!this.pending || this.pending.terminated) return;
    this.pending.terminated = true;
    this.send({ type: 'abort', reason: 'term', signal });
  }

  /** The worker was pruned: aborts the running job's `ctx.signal` (its outcome will be fenced). */
  cancel(workerId: string): void {
    if (this.pending) this.send({ type: 'abort', reason: 'pruned', workerId });
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    if (!this.exited) this.proc.kill(signal);
  }

  /** Asks the child to exit between jobs; SIGKILL after `graceMs`. */
  async shutdown(graceMs: number): Promise<void> {
    if (this.exited) return;
    this.send({ type: 'shutdown' });
    const timer = setTimeout(() => this.kill('SIGKILL'), graceMs);
    await this.waitExit();
    clearTimeout(timer);
  }

  waitExit(): Promise<void> {
    if (this.exited) return Promise.resolve();
    return new Promise((resolve) => this.exitWaiters.push(resolve));
  }

  private send(message: ParentMessage): void {
    if (!this.proc.connected) return;
    try {
      this.proc.send(message);
    } catch {
      // the exit handler reports the death
    }
  }

  private wire(): void {
    this.proc.stderr?.on('data', (chunk: Buffer) => {
      process.stderr.write(chunk);
      this.remember(chunk.toString('utf8'));
    });
    this.proc.on('message', (message: unknown) => this.onMessage(message));
    this.proc.on('error', () => undefined); // a failed send or kill; 'exit' follows when the child is gone
    this.proc.on('exit', (code, signal) => {
      this.dying = true;
      // 'exit' can come before the last stderr chunks are read: let the pipe drain (bounded) first, so the
      // dirty-exit backtrace holds the child's final lines.
      const stderr = this.proc.stderr;
      if (stderr && !stderr.readableEnded && !stderr.destroyed) {
        let finished = false;
        const finish = () => {
          if (finished) return;
          finished = true;
          clearTimeout(timer);
          this.onExit(code, signal);
        };
        const timer = setTimeout(finish, STDERR_DRAIN_MS);
        stderr.once('end', finish);
        stderr.once('close', finish);
      } else {
        this.onExit(code, signal);
      }
    });
  }

  private onExit(code: number | null, signal: NodeJS.Signals | null): void {
    this.exited = true;
    this.exitInfo = { code, signal };
    if (this.partialLine) this.pushLine(this.partialLine);
    this.partialLine = '';
    const pending = this.pending;
    this.pending = null;
    if (pending) {
      if (pending.timer) clearTimeout(pending.timer);
      pending.resolve(this.diedResult(pending.timedOutMs, pending.terminated));
    }
    for (const waiter of this.exitWaiters.splice(0)) waiter();
  }

  private onMessage(message: unknown): void {
    if (!isChildMessage(message)) return;
    const m: ChildMessage = message;
    if (m.type === 'event') this.options.onEvent(m.name, m.payload);
    else if (m.type === 'done') {
      if (m.rssMb !== undefined) this.rssMb = m.rssMb;
      this.jobsDone += 1;
      this.runMs += m.ms;
      const pending = this.pending;
      this.pending = null;
      if (pending) {
        if (pending.timer) clearTimeout(pending.timer);
        pending.resolve({ kind: 'outcome', outcome: m.outcome, timedOutMs: pending.timedOutMs, terminated: pending.terminated });
      }
    }
  }

  private diedResult(timedOutMs: number | null, terminated: boolean): ChildResult {
    return {
      kind: 'died',
      code: this.exitInfo?.code ?? null,
      signal: this.exitInfo?.signal ?? null,
      timedOutMs,
      terminated,
      stderr: [...this.stderrTail],
    };
  }

  private remember(text: string): void {
    const lines = (this.partialLine + text).split('\n');
    this.partialLine = lines.pop() ?? '';
    for (const line of lines) this.pushLine(line);
  }

  private pushLine(line: string): void {
    const trimmed = line.replace(/\r$/, '');
    if (trimmed === '') return;
    this.stderrTail.push(trimmed);
    if (this.stderrTail.length > this.options.stderrLines) this.stderrTail.shift();
  }
}

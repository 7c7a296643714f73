import { Logger, type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { decodePayload, errorMessage, type DecodedJob } from '../protocol/index.js';
import type { ResqueAppModule, ResqueAppOptions } from '../resque.host-types.js';
import { JobTimeoutError, TermException, WorkerPrunedError } from './worker.errors.js';
import { isParentMessage, toWirePayload, type ChildMessage, type ParentMessage } from './worker.ipc.js';
import { guardParent } from './worker.parent-guard.js';
import { JobRunner, type EventForwarder } from './worker.job-runner.js';
import { workerLogger } from './worker.logger.js';
import type { WorkerLogLevel } from './worker.options.js';
import { childTitle, processingTitle, setTitle } from './worker.title.js';
import type { ResqueWorkerHandle } from './worker.handle.js';
import { JobAbort } from './worker.abort.js';

export interface ChildRunOptions {
  slot: number;
  appOptions: ResqueAppOptions;
  logLevel: WorkerLogLevel | undefined;
}

/**
 * The child side: boot the worker module's Nest context once, then perform jobs one at a time as the
 * parent sends them, reporting each outcome. Exits on `shutdown`, or at once if the parent goes away
 * (its pruner-visible `worker:<id>` then records the job).
 */
export async function runChild(module: ResqueAppModule, options: ChildRunOptions): Promise<ResqueWorkerHandle> {
  setTitle(childTitle(options.slot));
  const send = (message: ChildMessage): void => {
    if (process.connected) process.send?.(message);
  };
  guardParent(); // parent watch and ignored signals: installed when the library loaded, a no-op here

  let app: INestApplicationContext;
  try {
    app = await NestFactory.createApplicationContext(module, {
      ...options.appOptions,
      logger: options.appOptions.logger ?? workerLogger(options.logLevel, 'child'),
    });
  } catch (error) {
    return bootFailed(error, options.logLevel);
  }
  // Only events the parent listens to cross the channel (each is an IPC message).
  let bridged: ReadonlySet<string> = new Set();
  const forward: EventForwarder = {
    wants: (name) => bridged.has(name),
    send: (name, payload) => send({ type: 'event', name, payload: toWirePayload(name, payload) }),
  };
  const runner = JobRunner.fromContext(app, forward);

  let resolveClosed!: () => void;
  const closed = new Promise<void>((resolve) => (resolveClosed = resolve));
  let busy: Promise<void> = Promise.resolve();
  /** The running job's ctx.signal controller (the parent's `abort` aborts it). */
  let running: JobAbort | null = null;
  const close = async (): Promise<void> => {
    await busy;
    await app.close();
    resolveClosed();
    process.exit(0);
  };

  process.on('message', (message: unknown) => {
    if (!isParentMessage(message)) return;
    if (message.type === 'shutdown') {
      void close();
      return;
    }
    if (message.type === 'abort') {
      running?.abort(abortReason(message));
      return;
    }
    const { job } = message;
    if (message.bridge) bridged = new Set(message.bridge); // sent when it changed
    busy = (async () => {
      const decoded = tryDecode(job.raw);
      setTitle(processingTitle(job.queue, decoded?.className ?? '?'));
      const controller = new JobAbort();
      running = controller;
      const started = performance.now();
      const outcome = await runner.run(job, { decoded, abort: controller });
      const ms = performance.now() - started;
      running = null;
      setTitle(childTitle(options.slot));
      // RSS costs a /proc read: only when the parent recycles by memory.
      send(message.rss ? { type: 'done', outcome, ms, rssMb: process.memoryUsage.rss() / (1024 * 1024) } : { type: 'done', outcome, ms });
    })();
  });
  send({ type: 'ready', pid: process.pid });
  return { workerIds: [], stop: close, closed };
}

/** The error a parent's `abort` message puts on the running job's `ctx.signal`. */
function abortReason(message: ParentMessage & { type: 'abort' }): Error {
  if (message.reason === 'term') return new TermException(message.signal);
  if (message.reason === 'pruned') return new WorkerPrunedError(message.workerId);
  return new JobTimeoutError(message.timeoutMs);
}

/**
 * The boot failed (the module threw, Redis is unreachable, ...): the reason goes to the parent, which names
 * it in one line (a stack here would be printed once per child); the stack only at debug level. Then exit 1:
 * the IPC channel would keep this process alive, doing nothing.
 */
async function bootFailed(error: unknown, logLevel: WorkerLogLevel | undefined): Promise<never> {
  if (logLevel === 'debug' && error instanceof Error) new Logger('ResqueWorker').debug(error.stack);
  if (process.connected) {
    const message: ChildMessage = { type: 'failed', message: errorMessage(error) };
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 1_000);
      process.send?.(message, undefined, {}, () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
  process.exit(1);
}

/** Decoded for the title and the runner, or undefined: the runner then reports the decode error as the job's failure. */
function tryDecode(raw: string): DecodedJob | undefined {
  try {
    return decodePayload(raw);
  } catch {
    return undefined;
  }
}

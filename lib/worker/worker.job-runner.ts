import { Logger, type INestApplicationContext } from '@nestjs/common';
import { ContextIdFactory, ModuleRef } from '@nestjs/core';
import type { JobHookRef, JobOptions } from '../decorators/decorators.types.js';
import { DoNotPerformError } from '../events/events.errors.js';
import { ResqueConnection } from '../connection/connection.service.js';
import { ResqueEvents } from '../events/events.service.js';
import type { FailureEvent, JobEvent, ResqueEventMap } from '../events/events.types.js';
import { ResqueJobRegistry, type RegisteredJob } from '../jobs/job.registry.js';
import { backtraceOf, decodePayload, encodeProgress, errorMessage, exceptionName, PayloadDecodeError, type DecodedJob, type ResqueProgress } from '../protocol/index.js';
import { attemptOf, retryPolicyIn, retryVerdict } from '../policies/policy.retry.js';
import type { RetryPolicy } from '../policies/policy.retry.types.js';
import { moduleLoggerEnabled, ResqueLogger } from '../resque.logger.js';
import { AfterForkVetoError, UnknownJobError } from './worker.errors.js';
import { RedisProgressSink, type ProgressSink, type ProgressTarget } from './worker.progress.js';
import type { JobOutcome, ResqueJobContext, RunnableJob } from './worker.types.js';
import { JobAbort } from './worker.abort.js';

/** Events a child re-emits on the parent's ResqueEvents (after its own listeners had their say). */
export type BridgedEventName = 'afterFork' | 'beforePerform' | 'afterPerform' | 'onFailure' | 'onProgress';
/** Sends events on (a child: over IPC to the parent), only those `wants` says someone listens to. */
export interface EventForwarder {
  wants(name: BridgedEventName): boolean;
  send<K extends BridgedEventName>(name: K, payload: ResqueEventMap[K]): void;
}

export interface JobRunnerDeps {
  moduleRef: ModuleRef;
  registry: ResqueJobRegistry;
  events: ResqueEvents;
  /** Called after each local emission (children forward over IPC). */
  forward?: EventForwarder;
  /** Where `ctx.progress()` values are written (the status packet in Redis; memory in the testing module). */
  progress?: ProgressSink;
  logger?: Logger;
}

export interface JobRunOptions {
  /** Emit afterFork before beforePerform (php fires it in the worker's perform, forked or not). Default true. */
  afterFork?: boolean;
  /** The payload already decoded from `job.raw` (inline mode: saves a parse). */
  decoded?: DecodedJob;
  /** Becomes `ctx.signal` (aborted on TERM/INT or timeout); a signal that never aborts when omitted. */
  abort?: JobAbort;
}

/**
 * Performs one decoded job inside a Nest application context (used by pool children, inline workers and
 * the testing module): afterFork → beforePerform (event, then the class's `@BeforePerform()` hooks) →
 * resolve the provider (a fresh DI context per job for request/transient scope) → SetUp → Perform(params,
 * ctx) → TearDown (also after a throwing perform) → `@AfterPerform()` hooks → afterPerform. A
 * DoNotPerformError (thrown by a listener or hook) or a `false` from a `@BeforePerform()` hook skips the job.
 * Any other error runs the `@OnFailure()` hooks and onFailure, and comes back as a failed outcome. Never throws.
 *
 * Hook arguments: `@BeforePerform()`/`@AfterPerform()` get `(params, ctx)` (after-hooks also get the
 * result as a third argument); `@OnFailure()` gets `(error, params, ctx)` like Ruby's on_failure(e, *args).
 */
export class JobRunner {
  private readonly logger: Logger;
  /** Singleton job providers, resolved once. */
  private readonly instances = new Map<Function, object>();

  constructor(private readonly deps: JobRunnerDeps) {
    this.logger = deps.logger ?? new Logger('ResqueWorker');
  }

  static fromContext(app: INestApplicationContext, forward?: EventForwarder): JobRunner {
    const logger = new ResqueLogger('ResqueWorker', moduleLoggerEnabled(app));
    return new JobRunner({
      moduleRef: app.get(ModuleRef),
      registry: app.get(ResqueJobRegistry, { strict: false }),
      events: app.get(ResqueEvents, { strict: false }),
      forward,
      // The process that runs the job writes its progress (a pool child on its own module's connection).
      progress: progressSinkOf(app, logger),
      logger,
    });
  }

  /** Every registered job class's name and options (the host compiles their throttles). */
  jobs(): ReadonlyArray<{ name: string; options: JobOptions }> {
    return this.deps.registry.all();
  }

  /** The job class's `@Job({ timeout })` in ms, if any (the host enforces it). */
  timeoutOf(className: string): number | undefined {
    const t = this.deps.registry.get(className)?.options.timeout;
    return typeof t === 'number' && t > 0 ? t : undefined;
  }

  async run(job: RunnableJob, options: JobRunOptions = {}): Promise<JobOutcome> {
    let decoded: DecodedJob;
    try {
      decoded = options.decoded ?? decodePayload(job.raw);
    } catch (error) {
      return failed(error instanceof PayloadDecodeError ? error : new PayloadDecodeError(errorMessage(error), job.raw));
    }
    let event: JobEvent | null = null;
    const eventOf = (): JobEvent => (event ??= jobEvent(job, decoded));
    // Opened on the first ctx.progress() call: jobs that never report cost nothing here.
    const progress: ProgressState = { target: undefined };
    const ctx = jobContext(job, decoded, options.abort ?? new JobAbort(), (value) => this.progress(value, decoded, progress, eventOf));
    const registered = this.deps.registry.get(decoded.className);
    try {
      if (!registered) throw new UnknownJobError(decoded.className, this.deps.registry.all().map((r) => r.name).sort());
      return await this.perform(registered, decoded.params, ctx, eventOf, options.afterFork !== false);
    } catch (error) {
      if (error instanceof DoNotPerformError) return skipped(error.message);
      const record = await this.failureHooks(registered, decoded, eventOf(), error, ctx);
      return this.failedOutcome(error, decoded, record);
    } finally {
      // Before the outcome is recorded: the last value lands while the packet still reads RUNNING.
      if (progress.target) await progress.target.flush();
    }
  }

  /** The class's retry policy with the payload's per-enqueue override, if either applies. */
  retryPolicyOf(decoded: DecodedJob): RetryPolicy | undefined {
    return retryPolicyIn(this.deps.registry, decoded.className, decoded.payload);
  }

  /**
   * A failed outcome; with a retry policy, the verdict is taken here where the real error is (a pool child
   * sends it with the outcome); `record` false when an onFailure listener stopped the failure record.
   */
  private failedOutcome(error: unknown, decoded: DecodedJob, record: boolean): JobOutcome {
    const outcome = failed(error);
    const policy = this.retryPolicyOf(decoded);
    if (policy) outcome.retry = retryVerdict(policy, attemptOf(decoded.payload), error instanceof Error ? error : new Error(String(error)));
    if (!record) outcome.stopRecord = true;
    return outcome;
  }

  /** `ctx.progress(value)`: checked (throws, writing nothing), handed to the job's target, then emitted. */
  private progress(value: ResqueProgress, decoded: DecodedJob, state: ProgressState, eventOf: () => JobEvent): void {
    const json = encodeProgress(value);
    // Listeners and the packet see the JSON view, as they would across IPC.
    const progress = JSON.parse(json) as ResqueProgress;
    if (state.target === undefined) state.target = this.deps.progress?.open(decoded) ?? null;
    state.target?.report(progress, json);
    if (this.wanted('onProgress')) void this.emit('onProgress', { ...eventOf(), progress }, false).catch(() => undefined);
  }

  /** A known job's events, hooks and SetUp/Perform/TearDown; throws what the job (or a listener) threw. */
  private async perform(
    registered: RegisteredJob,
    params: unknown,
    ctx: ResqueJobContext,
    eventOf: () => JobEvent,
    afterFork: boolean,
  ): Promise<JobOutcome> {
    // Events nobody listens to (here or in the parent) are skipped: no payload, no await.
    if (afterFork && this.wanted('afterFork') && !(await this.emit('afterFork', eventOf()))) throw new AfterForkVetoError();
    if (this.wanted('beforePerform') && !(await this.emit('beforePerform', eventOf()))) return skipped('a beforePerform listener vetoed the job');
    const instance = this.cachedInstance(registered) ?? (await this.instantiate(registered, ctx));
    const hooks = registered.hooks;
    if (hooks.beforePerform.length > 0 && !(await this.callHooks(registered, instance, hooks.beforePerform, [params, ctx]))) {
      return skipped('a @BeforePerform() hook vetoed the job');
    }
    const result = await this.performBody(registered, instance, params, ctx);
    if (hooks.afterPerform.length > 0) await this.callHooks(registered, instance, hooks.afterPerform, [params, ctx, result]);
    const json = resultJson(result);
    // Listeners see the JSON view of the result, as they would across IPC.
    if (this.wanted('afterPerform')) await this.emit('afterPerform', { ...eventOf(), result: JSON.parse(json) as unknown });
    return { kind: 'complete', resultJson: json };
  }

  /**
   * For a job whose child died (the parent records a DirtyExit): the class's `@OnFailure()` hooks (static
   * ones only: the instance died with the child) and the onFailure event.
   */
  async notifyFailure(job: RunnableJob, error: Error): Promise<boolean> {
    let decoded: DecodedJob;
    try {
      decoded = decodePayload(job.raw);
    } catch {
      return true;
    }
    const registered = this.deps.registry.get(decoded.className);
    // The job is over: its signal reads as aborted, with the error as the reason.
    const over = new JobAbort();
    over.abort(error);
    const ctx = jobContext(job, decoded, over, (value) => void encodeProgress(value));
    if (registered) {
      const staticHooks = registered.hooks.onFailure.filter((h) => h.isStatic);
      await this.callHooks(registered, null, staticHooks, [error, decoded.params, ctx]).catch((e: unknown) =>
        this.logger.error(`@OnFailure() hook of ${decoded.className} threw: ${errorMessage(e)}`),
      );
    }
    const payload: FailureEvent = { ...jobEvent(job, decoded), error };
    // False when a listener threw DoNotRecordFailureError (the failure is then not recorded).
    return this.deps.events.emitAsync('onFailure', payload);
  }

  private async performBody(registered: RegisteredJob, instance: object, params: unknown, ctx: ResqueJobContext): Promise<unknown> {
    if (!registered.setUp && !registered.tearDown) return callMethod(instance, registered.perform, [params, ctx]);
    if (registered.setUp) await callMethod(instance, registered.setUp, [params, ctx]);
    try {
      return await callMethod(instance, registered.perform, [params, ctx]);
    } finally {
      if (registered.tearDown) await callMethod(instance, registered.tearDown, [params, ctx]);
    }
  }

  /** A singleton provider already resolved (no await on the hot path). */
  private cachedInstance(registered: RegisteredJob): object | undefined {
    return registered.isStatic ? this.instances.get(registered.classRef) : undefined;
  }

  private async instantiate(registered: RegisteredJob, ctx: ResqueJobContext): Promise<object> {
    const { moduleRef } = this.deps;
    const classRef = registered.classRef as new (...args: never[]) => object;
    if (registered.isStatic) {
      const cached = this.instances.get(classRef);
      if (cached) return cached;
      const instance: object = moduleRef.get(classRef, { strict: false });
      this.instances.set(classRef, instance);
      return instance;
    }
    // Request/transient scope: a fresh DI sub-tree per job; REQUEST resolves to the job context.
    const contextId = ContextIdFactory.create();
    moduleRef.registerRequestByContextId(ctx, contextId);
    return moduleRef.resolve(classRef, contextId, { strict: false });
  }

  /** Runs hooks in order; false when one returned false (a veto for before-hooks). */
  private async callHooks(registered: RegisteredJob, instance: object | null, hooks: readonly JobHookRef[], args: unknown[]): Promise<boolean> {
    for (const hook of hooks) {
      const target: object | null = hook.isStatic ? registered.classRef : instance;
      if (!target) continue;
      if ((await callMethod(target, hook.method, args)) === false) return false;
    }
    return true;
  }

  private async failureHooks(
    registered: RegisteredJob | undefined,
    decoded: DecodedJob,
    event: JobEvent,
    error: unknown,
    ctx: ResqueJobContext,
  ): Promise<boolean> {
    if (registered && registered.hooks.onFailure.length > 0) {
      let instance: object | null = null;
      try {
        instance = await this.instantiate(registered, ctx);
      } catch {
        // static hooks still run below
      }
      try {
        await this.callHooks(registered, instance, registered.hooks.onFailure, [error, decoded.params, ctx]);
      } catch (hookError) {
        this.logger.error(`@OnFailure() hook of ${decoded.className} threw: ${errorMessage(hookError)}`);
      }
    }
    // False when a listener threw DoNotRecordFailureError (php's onFailure stop).
    return this.emit('onFailure', { ...event, error }, false);
  }

  /** Someone listens to this event here, or it is forwarded to listeners elsewhere. */
  private wanted(name: BridgedEventName): boolean {
    return this.deps.events.hasListeners(name) || (this.deps.forward?.wants(name) ?? false);
  }

  /** Local emission first (in-process listeners may veto or throw), then forward. */
  private async emit<K extends BridgedEventName>(name: K, payload: ResqueEventMap[K], rethrow = true): Promise<boolean> {
    const ok = await this.deps.events.emitAsync(name, payload, { rethrow });
    const forward = this.deps.forward;
    if (forward?.wants(name)) forward.send(name, payload);
    return ok;
  }
}

/** The status-packet writer on the context's ResqueConnection; none (events only) without one. */
function progressSinkOf(app: INestApplicationContext, logger: Logger): ProgressSink | undefined {
  let connection: ResqueConnection;
  try {
    connection = app.get(ResqueConnection, { strict: false });
  } catch {
    return undefined;
  }
  return new RedisProgressSink(connection, logger);
}

/** A job's progress target: undefined until its first ctx.progress(), null when it has none. */
interface ProgressState {
  target: ProgressTarget | null | undefined;
}

/**
 * What perform and the hooks get as their job context (and REQUEST for scoped jobs). A class, not an object
 * literal: a literal with a getter is built through V8's slow path (about 1 µs, a few per cent of a no-op
 * job); `signal` is a getter on the prototype, made on first read (see JobAbort).
 */
class JobContext implements ResqueJobContext {
  readonly id: string | null;
  readonly queue: string;
  readonly args: unknown[];
  readonly payload: DecodedJob['payload'];
  readonly className: string;
  readonly workerId: string;
  readonly attempt: number;
  readonly #abort: JobAbort;

  constructor(
    job: RunnableJob,
    decoded: DecodedJob,
    abort: JobAbort,
    /** An own property: `const { progress } = ctx` keeps working. */
    readonly progress: (value: ResqueProgress) => void,
  ) {
    this.#abort = abort;
    this.id = decoded.id;
    this.queue = job.queue;
    this.args = decoded.args;
    this.payload = decoded.payload;
    this.className = decoded.className;
    this.workerId = job.workerId;
    this.attempt = attemptOf(decoded.payload);
  }

  get signal(): AbortSignal {
    return this.#abort.signal;
  }
}

function jobContext(job: RunnableJob, decoded: DecodedJob, abort: JobAbort, progress: (value: ResqueProgress) => void): ResqueJobContext {
  return new JobContext(job, decoded, abort, progress);
}

/** The fields every job event carries. */
export function jobEvent(job: RunnableJob, decoded: DecodedJob): JobEvent {
  return {
    workerId: job.workerId,
    queue: job.queue,
    className: decoded.className,
    args: decoded.args,
    params: decoded.params,
    id: decoded.id,
    job: decoded,
  };
}

function skipped(reason: string): JobOutcome {
  return { kind: 'skipped', reason };
}

export function failed(error: unknown): JobOutcome & { kind: 'failed' } {
  return { kind: 'failed', exception: exceptionName(error), error: errorMessage(error), backtrace: backtraceOf(error) };
}

/** perform's return value as JSON (`null` when undefined or not serialisable): the status's `result`. */
function resultJson(result: unknown): string {
  if (result === undefined || result === null) return 'null';
  try {
    return JSON.stringify(result) ?? 'null';
  } catch {
    return 'null';
  }
}

/** Calls `target[method](...args)`; the method was found by discovery, so a missing one is a changed class. */
function callMethod(target: object, method: string, args: unknown[]): unknown {
  const fn: unknown = (target as Record<string, unknown>)[method];
  if (typeof fn !== 'function') throw new TypeError(`${method} is not a method of ${target.constructor.name}`);
  return (fn as (...a: unknown[]) => unknown).apply(target, args);
}

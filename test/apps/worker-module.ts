// The worker module the worker tests run as real processes (test/apps/worker-main.ts): jobs that record
// what they got in Redis under `t:*` keys, so the tests can see what happened in the children.
import { Inject, Injectable, Module, Scope, type BeforeApplicationShutdown, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { Redis } from 'ioredis';
import { REQUEST } from '@nestjs/core';
import {
  AfterPerform,
  BeforePerform,
  DoNotPerformError,
  Job,
  OnFailure,
  OnResqueEvent,
  Perform,
  ResqueConnection,
  ResqueEvents,
  ResqueModule,
  SetUp,
  TearDown,
  type FailureEvent,
  type JobEvent,
} from '../../lib/index.js';
import type { ResqueJobContext } from '../../lib/worker/worker.types.js';

const inChild = process.env['NESTJS_RESQUE_CHILD'] !== undefined;

/** An injected service: jobs record through it. */
@Injectable()
export class Recorder {
  constructor(private readonly connection: ResqueConnection) {}

  get redis() {
    return this.connection.client;
  }

  async seen(job: string, params: unknown, ctx: ResqueJobContext): Promise<void> {
    await this.redis.rpush(
      't:seen',
      JSON.stringify({ job, params, id: ctx.id, queue: ctx.queue, workerId: ctx.workerId, className: ctx.className, args: ctx.args, pid: process.pid }),
    );
  }
}

@Job('Echo')
@Injectable()
export class EchoJob {
  constructor(private readonly recorder: Recorder) {}

  @Perform()
  async perform(params: Record<string, unknown>, ctx: ResqueJobContext): Promise<unknown> {
    await this.recorder.seen('Echo', params, ctx);
    return { echoed: params };
  }
}

/** The class name php-resque fixtures use. */
@Job('PhpEcho')
@Injectable()
export class PhpEchoJob {
  constructor(private readonly recorder: Recorder) {}

  @Perform()
  async perform(params: Record<string, unknown>, ctx: ResqueJobContext): Promise<string> {
    await this.recorder.seen('PhpEcho', params, ctx);
    return 'php ok';
  }
}

/** Counts performs per job id (exactly-once checks). */
@Job('Count')
@Injectable()
export class CountJob {
  constructor(private readonly recorder: Recorder) {}

  @Perform()
  async perform(params: { n: number }, ctx: ResqueJobContext): Promise<void> {
    await this.recorder.redis.multi().hincrby('t:count', String(params.n), 1).sadd('t:pids', String(process.pid)).exec();
    void ctx;
  }
}

@Job('Fail')
@Injectable()
export class FailJob {
  @Perform()
  perform(params: { name?: string }): never {
    throw new RangeError(`boom ${params.name ?? ''}`);
  }
}

/** Ends its child process in the middle of the job. */
@Job('Exit')
@Injectable()
export class ExitJob {
  @Perform()
  perform(params: { code?: number }): void {
    process.stderr.write('exit job: about to leave\n');
    process.exit(params.code ?? 3);
  }
}

/** Does nothing: the pool's no-op load (the parent's claims, not the child, set the pace). */
@Job('Noop')
@Injectable()
export class NoopJob {
  @Perform()
  perform(): void {}
}

/** Marks `t:running:<tag>` then sleeps `ms`, then pushes its tag to `t:finished`. */
@Job('Sleep', { queue: 'default' })
@Injectable()
export class SleepJob {
  constructor(private readonly recorder: Recorder) {}

  @Perform()
  async perform(params: { ms: number; tag: string }): Promise<string> {
    // stderr first: once a test sees t:running it may kill this child, and the line must already be out.
    process.stderr.write(`sleep job ${params.tag}: started\n`);
    await this.recorder.redis.set(`t:running:${params.tag}`, String(process.pid));
    await new Promise((r) => setTimeout(r, params.ms));
    await this.recorder.redis.rpush('t:finished', params.tag);
    return params.tag;
  }
}

/**
 * Records each perform's start in `t:starts` (`{n, workerId}`, Redis-ordered), sleeps `ms`, then `t:ends`; throws
 * when `fail`. Writes nothing when `quiet` (for tests where Redis refuses writes).
 */
@Job('Tally')
@Injectable()
export class TallyJob {
  constructor(private readonly recorder: Recorder) {}

  @Perform()
  async perform(params: { n: number; ms?: number; fail?: boolean; quiet?: boolean }, ctx: ResqueJobContext): Promise<number> {
    const record = JSON.stringify({ n: params.n, workerId: ctx.workerId });
    if (!params.quiet) await this.recorder.redis.rpush('t:starts', record);
    await new Promise((r) => setTimeout(r, params.ms ?? 0));
    if (params.fail) throw new Error(`tally ${params.n} fails`);
    if (!params.quiet) await this.recorder.redis.rpush('t:ends', record);
    return params.n;
  }
}

/**
 * Marks `t:running:<tag>`, then waits up to `ms` for ctx.signal. Aborted: records the reason's name in
 * `t:aborted:<tag>` and throws the reason (or, with `finish`, completes anyway). Not aborted: returns its tag.
 */
@Job('Abortable')
@Injectable()
export class AbortableJob {
  constructor(private readonly recorder: Recorder) {}

  @Perform()
  async perform(params: { tag: string; ms?: number; finish?: boolean }, ctx: ResqueJobContext): Promise<string> {
    await this.recorder.redis.set(`t:running:${params.tag}`, String(process.pid));
    const reason = await new Promise<unknown>((resolve) => {
      if (ctx.signal.aborted) return resolve(ctx.signal.reason);
      const timer = setTimeout(() => resolve(null), params.ms ?? 30_000);
      ctx.signal.addEventListener('abort', () => (clearTimeout(timer), resolve(ctx.signal.reason)), { once: true });
    });
    if (reason === null) return params.tag;
    await this.recorder.redis.set(`t:aborted:${params.tag}`, (reason as Error).name);
    if (params.finish) return `${params.tag} finished after abort`;
    throw reason instanceof Error ? reason : new Error(JSON.stringify(reason));
  }
}

/** A job with its own timeout (ms) in @Job options. */
@Job('Slow', { timeout: 300 })
@Injectable()
export class SlowJob {
  @Perform()
  async perform(): Promise<void> {
    await new Promise((r) => setTimeout(r, 10_000));
  }
}

/** Per-job hooks, setUp and tearDown; `skip` vetoes in @BeforePerform, `fail` throws in perform. */
@Job('Hooked')
@Injectable()
export class HookedJob {
  constructor(private readonly recorder: Recorder) {}

  @BeforePerform()
  static async before(params: { skip?: boolean }): Promise<boolean> {
    return !params.skip;
  }

  @SetUp()
  async setUp(): Promise<void> {
    await this.recorder.redis.rpush('t:hooks', 'setUp');
  }

  @Perform()
  async perform(params: { fail?: boolean }): Promise<string> {
    await this.recorder.redis.rpush('t:hooks', 'perform');
    if (params.fail) throw new Error('hooked failure');
    return 'hooked';
  }

  @TearDown()
  async tearDown(): Promise<void> {
    await this.recorder.redis.rpush('t:hooks', 'tearDown');
  }

  @AfterPerform()
  async after(): Promise<void> {
    await this.recorder.redis.rpush('t:hooks', 'afterPerform');
  }

  @OnFailure()
  async failure(error: Error): Promise<void> {
    await this.recorder.redis.rpush('t:hooks', `onFailure:${error.message}`);
  }
}

/** Vetoed by the in-child beforePerform listener below. */
@Job('Vetoed')
@Injectable()
export class VetoedJob {
  constructor(private readonly recorder: Recorder) {}

  @Perform()
  async perform(): Promise<void> {
    await this.recorder.redis.rpush('t:hooks', 'vetoed job ran');
  }
}

/** Transient scope: a fresh instance per job, with the job context as REQUEST. */
@Job('Scoped')
@Injectable({ scope: Scope.TRANSIENT })
export class ScopedJob {
  static instances = 0;
  readonly serial = ++ScopedJob.instances;

  constructor(
    private readonly recorder: Recorder,
    @Inject(REQUEST) private readonly request: ResqueJobContext,
  ) {}

  @Perform()
  async perform(): Promise<void> {
    await this.recorder.redis.rpush('t:scoped', JSON.stringify({ serial: this.serial, requestId: this.request?.id ?? null }));
  }
}

/**
 * Reports progress: `first` at once; then, once the Redis key `gate` exists (when given), `steps` values in a
 * tight loop and `{ done, total }` last. `invalid` is reported first instead (the job then fails).
 */
@Job('Progress')
@Injectable()
export class ProgressJob {
  constructor(private readonly recorder: Recorder) {}

  @Perform()
  async perform(params: { first: number; steps: number; gate?: string; invalid?: unknown }, ctx: ResqueJobContext): Promise<unknown> {
    if ('invalid' in params) ctx.progress(params.invalid as number);
    ctx.progress(params.first);
    while (params.gate !== undefined && (await this.recorder.redis.exists(params.gate)) === 0 && !ctx.signal.aborted) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    for (let i = 1; i <= params.steps; i++) ctx.progress((i * 100) / params.steps);
    ctx.progress({ done: params.steps, total: params.steps });
    return { steps: params.steps };
  }
}

/** Vetoes `Vetoed` jobs in beforePerform and records every event in `t:events` as `<parent|child>:<event>:<class>`. */
@Injectable()
export class EventsProbe implements OnModuleInit {
  constructor(
    private readonly events: ResqueEvents,
    private readonly recorder: Recorder,
  ) {}

  /** A decorated listener: only the child's own Nest context can veto its job. */
  @OnResqueEvent('beforePerform')
  async vetoVetoed(e: JobEvent): Promise<void> {
    if (e.className === 'Vetoed') throw new DoNotPerformError();
  }

  /** Runs in the child, then in the parent for the bridged event. */
  @OnResqueEvent('onFailure')
  async recordFailure(e: FailureEvent): Promise<void> {
    await this.recorder.redis.rpush('t:events', `${inChild ? 'child' : 'parent'}:decorated:onFailure:${e.className}`);
  }

  onModuleInit(): void {
    const where = inChild ? 'child' : 'parent';
    // A child's listen() listener is awaited before the event is forwarded, so this write lands before the
    // parent's record of the same event (fire-and-forget writes from two processes have no order).
    if (inChild) {
      this.events.listen('beforePerform', async (e) => {
        await this.recorder.redis.rpush('t:events', `child:awaited:beforePerform:${e.className}`).catch(() => undefined);
      });
    }
    // php-style listen() listeners run through emitAsync: the worker must reach them too.
    // Records are best effort (.catch): a test may make Redis refuse writes (OOM), which must not crash the worker.
    this.events.listen('beforeFork', (e) => void this.recorder.redis.rpush('t:events', `${where}:listen:beforeFork:${e.className}`).catch(() => undefined));
    for (const name of ['beforeFirstFork', 'beforeFork', 'afterFork', 'beforePerform', 'afterPerform', 'onFailure', 'onProgress'] as const) {
      this.events.on(name).subscribe((e) => {
        // onProgress: only the last value of a job (a Progress job reports hundreds).
        if (name === 'onProgress' && !('progress' in e && typeof e.progress === 'object')) return;
        const className = 'className' in e ? e.className : 'worker';
        const extra = name === 'onFailure' ? `:${(e as { error: Error }).error.name}` : '';
        void this.recorder.redis.rpush('t:events', `${where}:${name}:${className}${extra}`).catch(() => undefined);
      });
    }
  }
}

/** Records the user's Nest shutdown hooks in `t:shutdown` (a fresh connection: the module's may be closing). */
@Injectable()
export class ShutdownProbe implements BeforeApplicationShutdown, OnApplicationShutdown {
  private async record(hook: string): Promise<void> {
    const redis = new Redis(process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379');
    try {
      await redis.rpush('t:shutdown', `${inChild ? 'child' : 'parent'}:${hook}:${process.pid}`);
    } finally {
      redis.disconnect();
    }
  }
  beforeApplicationShutdown(): Promise<void> {
    return this.record('beforeApplicationShutdown');
  }
  onApplicationShutdown(): Promise<void> {
    return this.record('onApplicationShutdown');
  }
}

@Module({
  imports: [ResqueModule.forRoot({ connection: process.env['REDIS_URL'], namespace: process.env['RESQUE_NS'] ?? 'resque' })],
  providers: [Recorder, EchoJob, PhpEchoJob, NoopJob, CountJob, FailJob, ExitJob, SleepJob, TallyJob, AbortableJob, SlowJob, HookedJob, VetoedJob, ScopedJob, ProgressJob, EventsProbe, ShutdownProbe],
})
export class WorkerTestModule {}

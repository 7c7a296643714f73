// The worker module of the retry tests (test/policy.retry*.spec.ts), run in-process (inline) or as a real
// worker process (test/apps/retry-main.ts, pool mode): jobs with retry policies that record each attempt in
// Redis under `t:*` keys, so the tests see what happened in the children.
import { Injectable, Module } from '@nestjs/common';
import { DoNotRecordFailureError, Job, JobTimeoutError, OnResqueEvent, Perform, ResqueConnection, ResqueModule, type FailureEvent, type RetryEvent } from '../../lib/index.js';
import type { ResqueJobContext } from '../../lib/worker/worker.types.js';

export class TransientError extends Error {
  override readonly name = 'TransientError';
}
export class PermanentError extends Error {
  override readonly name = 'PermanentError';
}

interface FlakyParams {
  tag: string;
  /** The attempt that succeeds (0 = never). */
  okOn: number;
  /** How an attempt before okOn fails: throw (default), exit the child, or hang until killed. */
  how?: 'throw' | 'exit' | 'hang' | 'permanent';
}

/** Records `ctx.attempt` under t:attempts:<tag>, then fails or succeeds as the params say. */
async function flaky(redis: ResqueConnection['client'], params: FlakyParams, ctx: ResqueJobContext): Promise<string> {
  await redis.rpush(`t:attempts:${params.tag}`, String(ctx.attempt));
  if (params.okOn !== 0 && ctx.attempt >= params.okOn) return `ok on ${ctx.attempt}`;
  if (params.how === 'exit') process.exit(3);
  if (params.how === 'hang') await new Promise(() => undefined);
  if (params.how === 'permanent') throw new PermanentError(`permanent ${ctx.attempt}`);
  throw new TransientError(`transient ${ctx.attempt}`);
}

@Job('Flaky', { retry: { limit: 3, backoff: [0, 1] } })
@Injectable()
export class FlakyJob {
  constructor(private readonly connection: ResqueConnection) {}
  @Perform()
  perform(params: FlakyParams, ctx: ResqueJobContext): Promise<string> {
    return flaky(this.connection.client, params, ctx);
  }
}

/** Retries only TransientError; a PermanentError is recorded at once. */
@Job('Picky', { retry: { limit: 5, on: [TransientError] } })
@Injectable()
export class PickyJob {
  constructor(private readonly connection: ResqueConnection) {}
  @Perform()
  perform(params: FlakyParams, ctx: ResqueJobContext): Promise<string> {
    return flaky(this.connection.client, params, ctx);
  }
}

/**
 * Retried only by a predicate on a property of the thrown error that does not cross IPC: in pool mode only the
 * child, which has the real error, can say yes (and pick the wait from it).
 */
@Job('Hinted', { retry: { limit: 3, on: (e) => (e as HintedError).retryable === true, backoff: (_attempt, e) => (e as HintedError).waitSeconds ?? 99 } })
@Injectable()
export class HintedJob {
  constructor(private readonly connection: ResqueConnection) {}
  @Perform()
  async perform(params: FlakyParams, ctx: ResqueJobContext): Promise<string> {
    await this.connection.client.rpush(`t:attempts:${params.tag}`, String(ctx.attempt));
    if (ctx.attempt >= params.okOn) return 'ok';
    throw Object.assign(new Error('hinted'), { retryable: true, waitSeconds: 0 });
  }
}
interface HintedError extends Error {
  retryable?: boolean;
  waitSeconds?: number;
}

@Job('NeverRetry', { retry: { limit: 0 } })
@Injectable()
export class NeverRetryJob {
  constructor(private readonly connection: ResqueConnection) {}
  @Perform()
  perform(params: FlakyParams, ctx: ResqueJobContext): Promise<string> {
    return flaky(this.connection.client, params, ctx);
  }
}

/** Times out on its first attempt (the worker's JobTimeoutError counts as an attempt), then succeeds. */
@Job('Timed', { timeout: 300, retry: { limit: 1, on: [JobTimeoutError] } })
@Injectable()
export class TimedJob {
  constructor(private readonly connection: ResqueConnection) {}
  @Perform()
  perform(params: FlakyParams, ctx: ResqueJobContext): Promise<string> {
    return flaky(this.connection.client, { ...params, how: 'hang' }, ctx);
  }
}

/** No policy: the plain path. */
@Job('Plain')
@Injectable()
export class PlainJob {
  constructor(private readonly connection: ResqueConnection) {}
  @Perform()
  perform(params: FlakyParams, ctx: ResqueJobContext): Promise<string> {
    return flaky(this.connection.client, params, ctx);
  }
}

/** Its failures are never recorded: an onFailure listener stops them (php's listener stop). */
@Job('Quiet')
@Injectable()
export class QuietJob {
  @Perform()
  perform(): never {
    throw new Error('quiet failure');
  }
}

/** Its child dies; the worker's onFailure listener stops the DirtyExit's record. */
@Job('QuietExit')
@Injectable()
export class QuietExitJob {
  constructor(private readonly connection: ResqueConnection) {}
  @Perform()
  perform(params: FlakyParams, ctx: ResqueJobContext): Promise<string> {
    return flaky(this.connection.client, { ...params, okOn: 0, how: 'exit' }, ctx);
  }
}

/** onRetry and the onFailure stop, recorded where they fire. */
@Injectable()
export class RetryProbe {
  constructor(private readonly connection: ResqueConnection) {}

  @OnResqueEvent('onRetry')
  async retried(e: RetryEvent): Promise<void> {
    const error = e.error as Error;
    await this.connection.client.rpush('t:onRetry', JSON.stringify({ className: e.className, attempt: e.attempt, delay: e.delay, error: `${error.name}: ${error.message}`, pid: process.pid }));
  }

  @OnResqueEvent('onFailure')
  stop(e: FailureEvent): void {
    if (e.className === 'Quiet' || e.className === 'QuietExit') throw new DoNotRecordFailureError();
  }
}

@Module({
  imports: [ResqueModule.forRoot({ connection: process.env['REDIS_URL'], namespace: process.env['RESQUE_NS'] ?? 'resque', logger: false })],
  providers: [FlakyJob, TimedJob, HintedJob, QuietExitJob, PickyJob, NeverRetryJob, PlainJob, QuietJob, RetryProbe],
})
export class RetryTestModule {}

// The worker module of test/policy.throttle.spec.ts (started as real processes by test/apps/throttle-main.ts):
// throttled and capped job classes that record what they see in Redis under `t:*` keys.
import { Injectable, Module } from '@nestjs/common';
import { Job, Perform, ResqueConnection, ResqueModule } from '../../lib/index.js';
import type { ResqueJobContext } from '../../lib/worker/worker.types.js';

const NS = process.env['RESQUE_NS'] ?? 'resque';

/** At most 3 claimed per second. Each run copies the class's window log (claim times, Redis clock) into `t:claims`. */
@Job('Limited', { throttle: { max: 3, perSeconds: 1 } })
@Injectable()
export class LimitedJob {
  constructor(private readonly connection: ResqueConnection) {}

  @Perform()
  async perform(_params: unknown, ctx: ResqueJobContext): Promise<void> {
    const redis = this.connection.client;
    const log = await redis.zrange(`${NS}:throttle:class:Limited`, '0', '-1', 'WITHSCORES');
    if (log.length > 0) await redis.hset('t:claims', ...log);
    await redis.rpush('t:ran', `Limited:${ctx.id ?? ''}`);
  }
}

/** One per minute: the second one waits (the idle/head tests). */
@Job('Slow', { throttle: { max: 1, perSeconds: 60 } })
@Injectable()
export class SlowRateJob {
  constructor(private readonly connection: ResqueConnection) {}

  @Perform()
  async perform(_params: unknown, ctx: ResqueJobContext): Promise<void> {
    await this.connection.client.rpush('t:ran', `Slow:${ctx.id ?? ''}`);
  }
}

/** Two at a time across every worker: counts how many run at once (`t:running`, its peak in `t:peak`). */
@Job('Capped', { maxConcurrent: 2 })
@Injectable()
export class CappedJob {
  constructor(private readonly connection: ResqueConnection) {}

  @Perform()
  async perform(params: { ms?: number }, ctx: ResqueJobContext): Promise<void> {
    const redis = this.connection.client;
    await redis.eval(
      "local n = redis.call('INCR', KEYS[1]) if n > tonumber(redis.call('GET', KEYS[2]) or '0') then redis.call('SET', KEYS[2], n) end",
      2,
      't:running',
      't:peak',
    );
    await new Promise((r) => setTimeout(r, params.ms ?? 300));
    await redis.decr('t:running');
    await redis.rpush('t:ran', `Capped:${ctx.id ?? ''}`);
  }
}

/** One at a time; runs until killed (the SIGKILL test) unless its params say `{ quick: true }`. */
@Job('Hold', { maxConcurrent: 1 })
@Injectable()
export class HoldJob {
  constructor(private readonly connection: ResqueConnection) {}

  @Perform()
  async perform(params: { quick?: boolean }, ctx: ResqueJobContext): Promise<void> {
    await this.connection.client.rpush('t:ran', `Hold:${ctx.id ?? ''}:${ctx.workerId}`);
    if (!params.quick) await new Promise((r) => setTimeout(r, 60_000));
  }
}

/** Not throttled by class; copies its queue's window log (if the worker throttles the queue) into `t:qclaims`. */
@Job('Free')
@Injectable()
export class FreeJob {
  constructor(private readonly connection: ResqueConnection) {}

  @Perform()
  async perform(_params: unknown, ctx: ResqueJobContext): Promise<void> {
    const redis = this.connection.client;
    const log = await redis.zrange(`${NS}:throttle:queue:${ctx.queue}`, '0', '-1', 'WITHSCORES');
    if (log.length > 0) await redis.hset('t:qclaims', ...log);
    await redis.rpush('t:ran', `Free:${ctx.id ?? ''}`);
  }
}

@Module({
  imports: [ResqueModule.forRoot({ connection: process.env['REDIS_URL'], namespace: NS })],
  providers: [LimitedJob, SlowRateJob, CappedJob, HoldJob, FreeJob],
})
export class ThrottleTestModule {}

// The worker module of the multi-host tests (test/worker.hosts.spec.ts), run on each simulated host by
// test/apps/hosts-main.ts: one job, `Work`, that records where and when it ran under `t:*` keys.
import { Injectable, Module } from '@nestjs/common';
import { Job, Perform, ResqueConnection, ResqueModule } from '../../lib/index.js';
import type { ResqueJobContext } from '../../lib/worker/worker.types.js';

/**
 * Records its start in `t:started` (`{n, workerId, registered}`: whether its worker was still in `workers`
 * when it began — a pruned worker must not take jobs), sleeps `ms`, then pushes `n` to `t:done`.
 */
@Job('Work')
@Injectable()
export class WorkJob {
  constructor(private readonly connection: ResqueConnection) {}

  @Perform()
  async perform(params: { n: number; ms: number }, ctx: ResqueJobContext): Promise<number> {
    const redis = this.connection.client;
    const registered = await redis.sismember(this.connection.keys.workers, ctx.workerId);
    await redis.rpush('t:started', JSON.stringify({ n: params.n, workerId: ctx.workerId, registered: registered === 1 }));
    await new Promise((r) => setTimeout(r, params.ms));
    await redis.rpush('t:done', String(params.n));
    return params.n;
  }
}

@Module({
  imports: [ResqueModule.forRoot({ connection: process.env['REDIS_URL'], namespace: process.env['RESQUE_NS'] ?? 'resque' })],
  providers: [WorkJob],
})
export class HostsTestModule {}

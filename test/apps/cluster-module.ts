// The module the Redis Cluster tests run workers with (inline in the test process, or pooled in a real worker
// process: test/apps/worker-main.ts with WORKER_APP=cluster): ResqueModule creates (and closes) its own
// Cluster from `{ cluster: [...] }`, read from CLUSTER_NODES (JSON) at import, with a hash-tagged namespace.
import { Injectable, Module } from '@nestjs/common';
import { Job, Perform, ResqueConnection, ResqueModule } from '../../lib/index.js';
import type { ResqueJobContext } from '../../lib/worker/worker.types.js';

export const CLUSTER_NAMESPACE = '{resque}';
/** Where ClusterEcho records what it got (same hash tag: one slot with everything else). */
export const SEEN_KEY = '{resque}:t:seen';
/** ClusterHold: performs per job id, and what each attempt saw. */
export const ATTEMPTS_KEY = '{resque}:t:attempts';
export const HELD_KEY = '{resque}:t:held';

@Job('ClusterEcho', { track: true })
@Injectable()
export class ClusterEchoJob {
  constructor(private readonly connection: ResqueConnection) {}

  @Perform()
  async perform(params: Record<string, unknown>, ctx: ResqueJobContext): Promise<unknown> {
    await this.connection.client.rpush(SEEN_KEY, JSON.stringify({ params, id: ctx.id, workerId: ctx.workerId, pid: process.pid }));
    return { echoed: params };
  }
}

@Job('ClusterFail', { track: true })
@Injectable()
export class ClusterFailJob {
  @Perform()
  perform(params: { why?: string }): never {
    throw new RangeError(`cluster boom ${params.why ?? ''}`);
  }
}

/**
 * Its first attempt of a job id holds on until its process is killed (the pruner tests SIGKILL the worker
 * mid-job); a later attempt (the job requeued by a pruner) completes at once.
 */
@Job('ClusterHold', { track: true })
@Injectable()
export class ClusterHoldJob {
  constructor(private readonly connection: ResqueConnection) {}

  @Perform()
  async perform(_params: Record<string, unknown>, ctx: ResqueJobContext): Promise<number> {
    const attempt = await this.connection.client.hincrby(ATTEMPTS_KEY, ctx.id ?? '', 1);
    await this.connection.client.rpush(HELD_KEY, JSON.stringify({ id: ctx.id, attempt, pid: process.pid, workerId: ctx.workerId }));
    if (attempt === 1) await new Promise((resolve) => setTimeout(resolve, 120_000));
    return attempt;
  }
}

@Module({
  imports: [
    ResqueModule.forRoot({
      connection: { cluster: JSON.parse(process.env['CLUSTER_NODES'] ?? '[]') as Array<{ host: string; port: number }> },
      namespace: CLUSTER_NAMESPACE,
      logger: false,
    }),
  ],
  providers: [ClusterEchoJob, ClusterFailJob, ClusterHoldJob],
})
export class ClusterWorkerModule {}

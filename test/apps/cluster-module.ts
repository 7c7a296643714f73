// The module the Redis Cluster test runs an inline worker with: ResqueModule creates (and closes) its own
// Cluster from `{ cluster: [...] }`, read from CLUSTER_NODES (JSON) at import, with a hash-tagged namespace.
import { Injectable, Module } from '@nestjs/common';
import { Job, Perform, ResqueConnection, ResqueModule } from '../../lib/index.js';
import type { ResqueJobContext } from '../../lib/worker/worker.types.js';

export const CLUSTER_NAMESPACE = '{resque}';
/** Where ClusterEcho records what it got (same hash tag: one slot with everything else). */
export const SEEN_KEY = '{resque}:t:seen';

@Job('ClusterEcho', { track: true })
@Injectable()
export class ClusterEchoJob {
  constructor(private readonly connection: ResqueConnection) {}

  @Perform()
  async perform(params: Record<string, unknown>, ctx: ResqueJobContext): Promise<unknown> {
    await this.connection.client.rpush(SEEN_KEY, JSON.stringify({ params, id: ctx.id, workerId: ctx.workerId }));
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

@Module({
  imports: [
    ResqueModule.forRoot({
      connection: { cluster: JSON.parse(process.env['CLUSTER_NODES'] ?? '[]') as Array<{ host: string; port: number }> },
      namespace: CLUSTER_NAMESPACE,
      logger: false,
    }),
  ],
  providers: [ClusterEchoJob, ClusterFailJob],
})
export class ClusterWorkerModule {}

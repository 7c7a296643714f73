// Unique job classes for test/policy.unique.spec.ts: the spec enqueues through them (the producer side reads
// their `unique` options) and test/apps/unique-main.ts runs them in a real worker. Each job marks
// `t:running:<tag>`, then waits for `t:go:<tag>` (so a test decides when it ends), then fails when `fail`.
import { Injectable, Module } from '@nestjs/common';
import { Job, Perform, ResqueConnection, ResqueModule, type ResqueJobContext } from '../../lib/index.js';

export interface GateParams {
  tag: string;
  fail?: boolean;
  account?: string;
}

@Injectable()
export class Gate {
  constructor(private readonly connection: ResqueConnection) {}

  async run(params: GateParams, ctx: ResqueJobContext): Promise<string> {
    const redis = this.connection.client;
    await redis.set(`t:running:${params.tag}`, ctx.id ?? '');
    while ((await redis.exists(`t:go:${params.tag}`)) === 0 && !ctx.signal.aborted) await new Promise((r) => setTimeout(r, 10));
    if (params.fail) throw new Error(`gate ${params.tag} fails`);
    return params.tag;
  }
}

@Job('UFinished', { unique: { until: 'finished' } })
@Injectable()
export class UniqueFinishedJob {
  constructor(private readonly gate: Gate) {}
  @Perform()
  perform(params: GateParams, ctx: ResqueJobContext): Promise<string> {
    return this.gate.run(params, ctx);
  }
}

@Job('UStarted', { unique: { until: 'started' } })
@Injectable()
export class UniqueStartedJob {
  constructor(private readonly gate: Gate) {}
  @Perform()
  perform(params: GateParams, ctx: ResqueJobContext): Promise<string> {
    return this.gate.run(params, ctx);
  }
}

@Job('UQueued', { unique: { until: 'queued' } })
@Injectable()
export class UniqueQueuedJob {
  constructor(private readonly gate: Gate) {}
  @Perform()
  perform(params: GateParams, ctx: ResqueJobContext): Promise<string> {
    return this.gate.run(params, ctx);
  }
}

@Job('UReject', { unique: { until: 'finished', onDuplicate: 'reject' } })
@Injectable()
export class UniqueRejectJob {
  constructor(private readonly gate: Gate) {}
  @Perform()
  perform(params: GateParams, ctx: ResqueJobContext): Promise<string> {
    return this.gate.run(params, ctx);
  }
}

/** Keyed by account only: the tag does not count. */
@Job('UKeyed', { unique: { until: 'finished', key: (params: GateParams) => params.account ?? 'none' } })
@Injectable()
export class UniqueKeyedJob {
  constructor(private readonly gate: Gate) {}
  @Perform()
  perform(params: GateParams, ctx: ResqueJobContext): Promise<string> {
    return this.gate.run(params, ctx);
  }
}

/** A one-second lock. */
@Job('UShort', { unique: { until: 'finished', ttl: 1 } })
@Injectable()
export class UniqueShortJob {
  constructor(private readonly gate: Gate) {}
  @Perform()
  perform(params: GateParams, ctx: ResqueJobContext): Promise<string> {
    return this.gate.run(params, ctx);
  }
}

export const UNIQUE_JOBS = [UniqueFinishedJob, UniqueStartedJob, UniqueQueuedJob, UniqueRejectJob, UniqueKeyedJob, UniqueShortJob];

@Module({
  imports: [ResqueModule.forRoot({ connection: process.env['REDIS_URL'] })],
  providers: [Gate, ...UNIQUE_JOBS],
})
export class UniqueWorkerModule {}

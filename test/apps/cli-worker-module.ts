// A user's worker module as the CLI loads it: `nestjs-resque worker test/apps/cli-worker-module.ts`.
// The connection comes from the environment the CLI test sets (REDIS_BACKEND, PREFIX).
import { Injectable, Module } from '@nestjs/common';
import { Job, Perform, ResqueConnection, ResqueModule } from '../../lib/index.js';
import type { ResqueJobContext } from '../../lib/worker/index.js';

@Injectable()
export class GreetingService {
  greet(name: string): string {
    return `hello ${name}`;
  }
}

/** Records what it got (and where it ran) in `cli:seen`, and returns the injected service's greeting. */
@Job('CliEcho')
@Injectable()
export class CliEchoJob {
  constructor(
    private readonly greeting: GreetingService,
    private readonly connection: ResqueConnection,
  ) {}

  @Perform()
  async perform(params: { name?: string } | null, ctx: ResqueJobContext): Promise<string> {
    const greeting = this.greeting.greet(params?.name ?? 'nobody');
    await this.connection.client.rpush('cli:seen', JSON.stringify({ params, id: ctx.id, queue: ctx.queue, pid: process.pid, greeting }));
    return greeting;
  }
}

/**
 * Fails while `cli:flaky` is unset: lets a test fail a job, requeue it from the failed list and see it run
 * (then it records itself in `cli:seen`).
 */
@Job('CliFlaky')
@Injectable()
export class CliFlakyJob {
  constructor(private readonly connection: ResqueConnection) {}

  @Perform()
  async perform(params: { n: number }, ctx: ResqueJobContext): Promise<number> {
    if ((await this.connection.client.get('cli:flaky')) === null) throw new RangeError(`flaky ${params.n}`);
    await this.connection.client.rpush('cli:seen', JSON.stringify({ flaky: params.n, id: ctx.id }));
    return params.n * 2;
  }
}

@Module({
  imports: [ResqueModule.forRoot({ connection: process.env['REDIS_BACKEND'], namespace: process.env['PREFIX'] })],
  providers: [GreetingService, CliEchoJob, CliFlakyJob],
})
export class CliWorkerModule {}

/** A second module, so the CLI must be told which one (`--module CliWorkerModule`) or use the default export. */
@Module({ providers: [] })
export class UnrelatedModule {}

export default CliWorkerModule;

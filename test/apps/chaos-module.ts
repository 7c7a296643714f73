// The worker module of the fault-injection suite (test/chaos/): one job that logs each perform to a file, so
// runs are counted outside Redis (which the suite shuts down, fills up or restarts). worker-main.ts boots it
// when WORKER_APP=chaos.
import { appendFileSync } from 'node:fs';
import { Injectable, Module } from '@nestjs/common';
import { Job, Perform, ResqueModule } from '../../lib/index.js';

/** `{ id, ms }`: appends `s <id>` when it starts and `d <id>` once it has slept `ms` (one O_APPEND write each). */
@Job('Chaos')
@Injectable()
export class ChaosJob {
  @Perform()
  async perform(params: { id: string; ms?: number }): Promise<void> {
    const log = process.env['CHAOS_LOG'];
    if (!log) throw new Error('CHAOS_LOG is not set: the chaos job has nowhere to record its runs');
    appendFileSync(log, `s ${params.id}\n`);
    if (params.ms) await new Promise((r) => setTimeout(r, params.ms));
    appendFileSync(log, `d ${params.id}\n`);
  }
}

@Module({
  imports: [ResqueModule.forRoot({ connection: process.env['REDIS_URL'], logger: false })],
  providers: [ChaosJob],
})
export class ChaosWorkerModule {}

// A worker entrypoint whose children can be held in a phase (see worker-phases-hold.ts): T_HOLD=import holds
// them before the library and the app are evaluated, T_HOLD=boot inside the Nest boot (onModuleInit).
// T_BOOT_FAIL=1 makes a child's boot throw. Otherwise it is test/apps/worker-main.ts.
import './worker-phases-hold.js';
import 'reflect-metadata';
import { Injectable, Module, type OnModuleInit } from '@nestjs/common';
import { ResqueWorkerHost } from '../../lib/worker/index.js';
import { holdIfAsked } from './worker-phases-hold.js';
import { WorkerTestModule } from './worker-module.js';

const inChild = process.env['NESTJS_RESQUE_CHILD'] !== undefined;

@Injectable()
class BootHold implements OnModuleInit {
  async onModuleInit(): Promise<void> {
    if (inChild && process.env['T_BOOT_FAIL']) throw new Error('boot refused by the test');
    await holdIfAsked('boot');
  }
}

@Module({ imports: [WorkerTestModule], providers: [BootHold] })
class WorkerPhasesModule {}

// Every slot's child at start-up unless a test asks otherwise: these tests count on COUNT children.
const options = { childStart: 'eager' as const, ...(JSON.parse(process.env['WORKER_OPTIONS'] ?? '{}') as Record<string, unknown>) };
const handle = await ResqueWorkerHost.run(WorkerPhasesModule, options);
if (!inChild) process.stdout.write(`ready ${JSON.stringify(handle.workerIds)}\n`);

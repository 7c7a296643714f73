import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { envFlag, importAppInclude, requireQueues, schedulerOptionsFromEnv, workerOptionsFromEnv } from '../env/index.js';
import { loadSchedulerHost, loadWorkerHost } from './cli.hosts.js';
import { loadModuleClass } from './cli.module-loader.js';

const logger = new Logger('nestjs-resque');

/**
 * Runs `worker`/`scheduler`: validate the environment (fail fast, naming the variable), import APP_INCLUDE,
 * load the module, hand it to the host with empty explicit options so the environment applies.
 * Resolves to the exit code to use on failure (1); 0 once the host has started.
 */
export async function runCommand(kind: 'worker' | 'scheduler', path: string, moduleName: string | undefined): Promise<number> {
  try {
    if (kind === 'worker') {
      requireQueues(process.env);
      workerOptionsFromEnv(process.env);
    } else {
      schedulerOptionsFromEnv(process.env);
    }
    await importAppInclude(process.env);
    const moduleClass = await loadModuleClass(path, moduleName);
    const host = kind === 'worker' ? await loadWorkerHost() : await loadSchedulerHost();
    await host.run(moduleClass, {});
    return 0;
  } catch (error) {
    // The message names the problem; the stack only helps with VVERBOSE (debug).
    const stack = envFlag(process.env, 'VVERBOSE') && error instanceof Error ? error.stack : undefined;
    logger.error(error instanceof Error ? error.message : String(error), stack);
    return 1;
  }
}

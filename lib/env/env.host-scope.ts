import { AsyncLocalStorage } from 'node:async_hooks';
import type { Env } from './env.common.js';

/**
 * php-resque's PREFIX / REDIS_BACKEND are generic names (`PREFIX=/usr/local` is common in shells), so a
 * ResqueModule reads them only where php reads them: in the processes our hosts and CLI start. A host runs
 * its boot inside this scope; a module booted there takes its unset namespace/connection from the env. Scoped
 * to the host's async work (not a process-wide switch), so another app booted in the same process is unaffected.
 */
const hostEnv = new AsyncLocalStorage<Env>();
/** Boots running in a scope now. */
let active = 0;

/**
 * Runs a host's boot in the scope. Once no boot is running the scope is disabled: an enabled
 * AsyncLocalStorage keeps Node's promise hooks on for the process's life (a few per cent of every job's
 * CPU in a worker), and nothing reads the scope after a boot.
 */
export async function runWithHostEnv<T>(env: Env, fn: () => Promise<T>): Promise<T> {
  active++;
  try {
    return await hostEnv.run(env, fn);
  } finally {
    if (--active === 0) hostEnv.disable();
  }
}

/** Set in a process that is wholly a host's (a pool child): every boot in it is the host's. */
let processEnv: Env | undefined;

/**
 * A process that only a host runs (a worker's pool child, which re-executes the host's entry) needs no
 * scope: the whole process is the host's, and a scope's promise hooks would slow its boot.
 */
export function useHostEnvForProcess(env: Env): void {
  processEnv = env;
}

/** The env of the host booting this module, or undefined outside a host. */
export function hostEnvironment(): Env | undefined {
  return hostEnv.getStore() ?? processEnv;
}

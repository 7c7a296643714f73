import type { NestFactory } from '@nestjs/core';

type CreateApplicationContext = (typeof NestFactory)['createApplicationContext'];

/**
 * What `ResqueWorkerHost.run` and `ResqueSchedulerHost.run` boot: whatever `NestFactory.createApplicationContext`
 * accepts (a module class, a dynamic module, ...). Taken from NestFactory's signature, not a deep import, so it
 * follows the installed Nest version.
 */
export type ResqueAppModule = Parameters<CreateApplicationContext>[0];

/** Options for `NestFactory.createApplicationContext`: the hosts' `appOptions` (worker, its children, scheduler). */
export type ResqueAppOptions = NonNullable<Parameters<CreateApplicationContext>[1]>;

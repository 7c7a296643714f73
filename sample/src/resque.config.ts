import type { ResqueModuleOptions } from 'nestjs-resque';

/**
 * One Resque configuration for the HTTP app, the worker and the scheduler. The default namespace
 * `resque` is what Ruby's resque-web and php-resque use, so they see the sample's data as-is.
 */
export function resqueConfig(): ResqueModuleOptions {
  return {
    connection: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    namespace: process.env.RESQUE_NAMESPACE ?? 'resque',
  };
}

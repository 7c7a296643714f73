// The worker module every "ours" measurement boots, shared with the fork floor so that the floor boots
// the same module (plain node: decorators are applied by hand).
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

export const NAMESPACE = 'resque';
export const JOB = 'BenchNoop';
export const DIST = process.env.BENCH_OURS_DIST
  ? pathToFileURL(resolve(process.env.BENCH_OURS_DIST))
  : new URL('../../dist/index.js', import.meta.url);

export async function loadOurs() {
  await import('reflect-metadata');
  const lib = await import(DIST.href);
  const { Module } = await import('@nestjs/common');
  const { NestFactory } = await import('@nestjs/core');
  return { lib, Module, NestFactory };
}

/** ResqueModule on the bench Redis plus the no-op job; `onPerform(params)` observes each perform. */
export function benchWorkerModule({ lib, Module }, port, onPerform = () => undefined) {
  class BenchNoopJob {
    perform(params) {
      onPerform(params);
    }
  }
  lib.Job(JOB)(BenchNoopJob);
  lib.Perform()(BenchNoopJob.prototype, 'perform', Object.getOwnPropertyDescriptor(BenchNoopJob.prototype, 'perform'));
  class BenchWorkerModule {}
  Module({ imports: [lib.ResqueModule.forRoot({ connection: `redis://127.0.0.1:${port}`, namespace: NAMESPACE })], providers: [BenchNoopJob] })(
    BenchWorkerModule,
  );
  return BenchWorkerModule;
}

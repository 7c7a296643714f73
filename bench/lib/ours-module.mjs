// The worker module every "ours" measurement boots, shared with the fork floor so that the floor boots
// the same module (plain node: decorators are applied by hand).
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Cluster, Redis } from 'ioredis';

export const NAMESPACE = 'resque';
/** On a Redis Cluster the namespace is hash-tagged: every key of it hashes to one slot, so one master. */
export const CLUSTER_NAMESPACE = '{resque}';
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

/**
 * Where a measured run's Redis is: the one redis-server (`port`), or the startup nodes of the Redis Cluster
 * (`cluster`, the pool-4-cluster scenario). `client()` is a plain ioredis client or Cluster for the harness.
 */
export function redisTarget({ port, cluster }) {
  return cluster
    ? { connection: { cluster }, namespace: CLUSTER_NAMESPACE, client: () => new Cluster(cluster) }
    : { connection: `redis://127.0.0.1:${port}`, namespace: NAMESPACE, client: () => new Redis({ port, host: '127.0.0.1' }) };
}

/**
 * ResqueModule on the bench Redis (a port, or a redisTarget()) plus the no-op job; `onPerform(params)`
 * observes each perform; `jobOptions` are the job's `@Job` options (the policy scenarios: retry, unique,
 * throttle, maxConcurrent).
 */
export function benchWorkerModule({ lib, Module }, portOrTarget, onPerform = () => undefined, jobOptions = undefined) {
  const { connection, namespace } = typeof portOrTarget === 'number' ? redisTarget({ port: portOrTarget }) : portOrTarget;
  class BenchNoopJob {
    perform(params) {
      return onPerform(params);
    }
  }
  lib.Job(JOB, ...(jobOptions ? [jobOptions] : []))(BenchNoopJob);
  lib.Perform()(BenchNoopJob.prototype, 'perform', Object.getOwnPropertyDescriptor(BenchNoopJob.prototype, 'perform'));
  class BenchWorkerModule {}
  Module({ imports: [lib.ResqueModule.forRoot({ connection, namespace })], providers: [BenchNoopJob] })(
    BenchWorkerModule,
  );
  BenchWorkerModule.jobClass = BenchNoopJob;
  return BenchWorkerModule;
}

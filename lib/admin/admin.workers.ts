import { hostname } from 'node:os';
import { Injectable, Optional } from '@nestjs/common';
import { ResqueConnection } from '../connection/connection.service.js';
import { parseResqueTime, parseWorkerId } from '../protocol/index.js';
import type { DeadWorkerPolicy } from '../worker/worker.options.js';
import type { PrunedWorker } from '../worker/worker.pruner.js';
import { ResqueJobRegistry } from '../jobs/job.registry.js';
import { pruneRetryOf, registryRetryPolicyOf } from '../worker/worker.slot.retry.js';
import type { ResqueKeys } from '../protocol/index.js';
import type { WorkerInfo, WorkerJobInfo } from './admin.types.js';

export interface PruneNowOptions {
  /** Heartbeats older than this mean dead (never sooner than 3 of the worker's own heartbeat intervals). Default 300 (Ruby's). */
  pruneAfterSeconds?: number;
  /** The in-flight job of a dead worker: 'fail' (default; retryable from the failed list) or 'requeue'. */
  onDeadWorker?: DeadWorkerPolicy;
  /** This host's name for the "same host, pid gone" check. Default `os.hostname()`. */
  hostname?: string;
}

/**
 * The worker registry as resque-web's Workers/Working pages show it (resque-protocol.md §6): every id in
 * `workers` with its current job (`worker:<id>`, absent = idle), `:started`, heartbeat and stats. Reads
 * Ruby, php-resque, the PHP fork, node-resque and our workers; time fields are parsed from every format.
 */
@Injectable()
export class ResqueWorkers {
  constructor(
    private readonly connection: ResqueConnection,
    /** The app's jobs: pruneNow applies their retry policies to a dead worker's jobs, as a worker's pruner does. */
    @Optional() private readonly registry?: ResqueJobRegistry,
  ) {}

  /** Every registered worker, sorted by id; working ones have `job`. */
  async list(): Promise<WorkerInfo[]> {
    await this.connect();
    const ids = (await this.connection.client.smembers(this.connection.keys.workers)).sort();
    return this.read(ids);
  }

  /** Only the workers performing a job (resque-web's Working page). */
  async working(): Promise<WorkerInfo[]> {
    return (await this.list()).filter((w) => w.state === 'working');
  }

  /** One worker, or null when the id is not registered. */
  async get(id: string): Promise<WorkerInfo | null> {
    if (typeof id !== 'string' || id === '') throw new TypeError('id must be a non-empty worker id');
    await this.connect();
    if (!(await this.connection.client.sismember(this.connection.keys.workers, id))) return null;
    return (await this.read([id]))[0] ?? null;
  }

  /**
   * Prunes dead workers now, as a worker does at start-up (WorkerPruner): under Ruby's pruning lock, a worker
   * whose heartbeat is stale, or which runs on this host with its pid gone, is unregistered and its
   * in-flight job failed as `Resque::PruneDeadWorkerDirtyExit` (or requeued). Returns what was pruned;
   * [] when another pruner holds the lock.
   */
  async pruneNow(options: PruneNowOptions = {}): Promise<PrunedWorker[]> {
    const host = options.hostname ?? hostname();
    await this.connect();
    // On first use: every app with ResqueModule has this provider, few prune from it (a worker's own
    // pruner is the runtime's), so the pruner and the worker store are not loaded with the module.
    const { WorkerPruner } = await import('../worker/worker.pruner.js');
    const pruner = new WorkerPruner(this.connection.client, this.connection.keys, {
      selfId: `${host}:${process.pid}:admin`,
      hostname: host,
      pruneAfterSeconds: options.pruneAfterSeconds ?? 300,
      onDeadWorker: options.onDeadWorker ?? 'fail',
      ...(this.registry ? { retryOf: retryOfRegistry(this.registry, this.connection.keys) } : {}),
    });
    return pruner.pruneDeadWorkers();
  }

  private async connect(): Promise<void> {
    if (!this.connection.isConnected) await this.connection.connect();
  }

  private async read(ids: readonly string[]): Promise<WorkerInfo[]> {
    if (ids.length === 0) return [];
    const k = this.connection.keys;
    const pipeline = this.connection.client.pipeline();
    for (const id of ids) {
      pipeline.get(k.worker(id)).get(k.workerStarted(id)).hget(k.heartbeats, id).get(k.statProcessed(id)).get(k.statFailed(id));
    }
    const replies = (await pipeline.exec()) ?? [];
    return ids.map((id, n) => {
      const at = (j: number): string | null => {
        const [error, value] = replies[n * 5 + j] ?? [null, null];
        if (error) throw error;
        return (value as string | null) ?? null;
      };
      const jobRaw = at(0);
      const startedRaw = at(1);
      const parts = parseWorkerId(id);
      return {
        id,
        host: parts?.host ?? null,
        pid: parts?.pid ?? null,
        queues: parts?.queues ?? [],
        state: jobRaw ? 'working' : 'idle',
        job: jobRaw ? decodeWorkerJob(jobRaw) : null,
        started: parseResqueTime(startedRaw),
        startedRaw,
        heartbeat: parseResqueTime(at(2)),
        processed: Number(at(3) ?? 0),
        failed: Number(at(4) ?? 0),
      };
    });
  }
}

/** `worker:<id>` = `{"queue","run_at","payload"}` (node-resque adds `worker`); tolerant of anything else. */
export function decodeWorkerJob(raw: string): WorkerJobInfo {
  let parsed: unknown = null;
  try {
    parsed = JSON.parse(raw);
  } catch {
    // kept raw below
  }
  const o = parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : {};
  const payload = o['payload'] && typeof o['payload'] === 'object' && !Array.isArray(o['payload']) ? (o['payload'] as Record<string, unknown>) : null;
  const runAtRaw = typeof o['run_at'] === 'string' ? o['run_at'] : null;
  return {
    queue: typeof o['queue'] === 'string' ? o['queue'] : null,
    runAt: parseResqueTime(runAtRaw),
    runAtRaw,
    className: payload && typeof payload['class'] === 'string' ? (payload['class']) : null,
    payload,
    raw,
  };
}

/** The pruner's retry hook from the app's job registry (see WorkerPrunerOptions.retryOf). */
function retryOfRegistry(registry: ResqueJobRegistry, keys: ResqueKeys): (raw: string, queue: string, error: Error) => ReturnType<typeof pruneRetryOf> {
  const policyOf = registryRetryPolicyOf(registry);
  return (raw, queue, error) => pruneRetryOf(policyOf, keys, raw, queue, error);
}

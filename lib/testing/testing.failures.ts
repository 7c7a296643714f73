import type { FailedList, FailureRequeue } from '../admin/admin.failures.js';
import type { PrunedWorker } from '../worker/worker.pruner.js';
import { ResqueWorkers } from '../admin/admin.workers.js';
import type { WorkerInfo } from '../admin/admin.types.js';

/**
 * The testing module's `failed` list: the failure records of jobs it performed, in memory, with the same
 * index-addressed edits as Redis's (ResqueFailures runs unchanged on it). A requeued job goes back to the
 * testing queue through `requeueJob`.
 */
export class MemoryFailedList implements FailedList {
  private items: string[] = [];

  constructor(private readonly requeueJob: (queue: string, job: string) => Promise<void>) {}

  /** Appends a failure record (what a worker's RPUSH failed does). */
  append(raw: string): void {
    this.items.push(raw);
  }

  async length(): Promise<number> {
    return this.items.length;
  }

  async range(start: number, stop: number): Promise<string[]> {
    return this.items.slice(start, stop + 1);
  }

  async fromTail(start: number, count: number): Promise<{ length: number; raws: string[] }> {
    const length = this.items.length;
    return { length, raws: this.items.slice(Math.max(0, length - start - count), Math.max(0, length - start)) };
  }

  async at(index: number): Promise<string | null> {
    return this.items[index] ?? null;
  }

  async requeue(request: FailureRequeue): Promise<number> {
    const i = this.locate(request.index, request.expected);
    if (i < 0) return -1;
    if (request.replacement === null) this.items.splice(i, 1);
    else this.items[i] = request.replacement;
    await this.requeueJob(request.queue, request.job);
    return i;
  }

  async remove(index: number, expected: string | null): Promise<number> {
    const i = expected === null ? (index < this.items.length ? index : -1) : this.locate(index, expected);
    if (i >= 0) this.items.splice(i, 1);
    return i;
  }

  async removeEach(raws: readonly string[]): Promise<number> {
    let removed = 0;
    for (const raw of raws) {
      const i = this.items.indexOf(raw);
      if (i >= 0) {
        this.items.splice(i, 1);
        removed++;
      }
    }
    return removed;
  }

  async clear(): Promise<number> {
    const count = this.items.length;
    this.items = [];
    return count;
  }

  /** The entry's index: where it was read if still there, else wherever it moved (LPOS), else -1. */
  private locate(index: number, expected: string): number {
    return this.items[index] === expected ? index : this.items.indexOf(expected);
  }
}

/** The testing module runs no worker processes: ResqueWorkers lists none, and pruning finds none. */
export class NoWorkers extends ResqueWorkers {
  override async list(): Promise<WorkerInfo[]> {
    return [];
  }

  override async get(id: string): Promise<WorkerInfo | null> {
    if (typeof id !== 'string' || id === '') throw new TypeError('id must be a non-empty worker id');
    return null;
  }

  override async pruneNow(): Promise<PrunedWorker[]> {
    return [];
  }
}

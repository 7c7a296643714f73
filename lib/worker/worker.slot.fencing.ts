import { performance } from 'node:perf_hooks';
import { PRUNE_HEARTBEAT_MULTIPLE, type PrunedPolicy } from './worker.options.js';

/**
 * A slot's standing with the pruners. A pruner may take a worker's jobs back while it is alive but frozen
 * (SIGSTOP, a VM pause, a swap storm); every script that starts a job, records an outcome or claims checks
 * that the worker is still in `workers`. The slot keeps a lease, the time of the last heartbeat (or
 * registration) that found it registered, to know when a job may start before its cycle's verdict.
 */
export class SlotFence {
  /** The worker was pruned: stop reserving, re-register (or exit) at the next step of the loop. */
  pruned = false;
  /** Between unregistering an id and registering the next: heartbeat notices about the old id are expected. */
  reregistering = false;
  /** Re-registrations after a prune: part of the id, so a stale pruner can never match the new one. */
  generation = 0;
  /** `performance.now()` when a heartbeat (or registration) confirmed this id; see leaseHolds. */
  private confirmedAt = Number.NEGATIVE_INFINITY;

  constructor(private readonly heartbeatIntervalSeconds: number) {}

  /** `-r<n>` after the n-th re-registration, else ''. */
  get idSuffix(): string {
    return this.generation > 0 ? `-r${this.generation}` : '';
  }

  /** A registration sent at `sentAt` (performance.now()) went through. */
  registered(sentAt: number): void {
    this.confirmedAt = sentAt;
  }

  /** A heartbeat sent at `sentAt` found the id still registered. */
  confirmed(sentAt: number): void {
    this.confirmedAt = Math.max(this.confirmedAt, sentAt);
  }

  /**
   * True while no pruner can have found this worker's heartbeat stale: the last heartbeat (or registration)
   * that found it registered was sent less than half of the shortest threshold any pruner applies to it
   * (PRUNE_HEARTBEAT_MULTIPLE of its published heartbeat interval) ago.
   */
  leaseHolds(): boolean {
    const shortestDeathMs = PRUNE_HEARTBEAT_MULTIPLE * this.heartbeatIntervalSeconds * 1000;
    return performance.now() - this.confirmedAt < shortestDeathMs / 2;
  }

  /** Runs `step` (unregistering one id, registering the next) with heartbeat notices suspended. */
  async reregister<T>(step: () => Promise<T>): Promise<T> {
    this.reregistering = true;
    try {
      return await step();
    } finally {
      this.reregistering = false;
    }
  }
}

/** The one line a slot logs when it learns it was pruned. */
export function prunedMessage(workerId: string, where: string, onPruned: PrunedPolicy): string {
  const next = onPruned === 'exit' ? 'stops the worker (onPruned: exit)' : 'registers again under a fresh id';
  return `worker ${workerId} was pruned (unregistered by a pruner that took its jobs back; noticed at its ${where}): it reserves no more, records no outcome of a job it held, and ${next}`;
}

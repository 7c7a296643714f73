import type { QueueSelection } from './worker.queues.js';
import type { WorkerStore } from './worker.store.js';

/** The queues a slot claims from: a literal list as configured, globs resolved against `SMEMBERS queues`. */
export class SlotQueues {
  private resolved: string[] | null;
  private refreshing: Promise<void> | null = null;

  constructor(
    private readonly selection: QueueSelection,
    private readonly store: WorkerStore,
  ) {
    this.resolved = selection.isLiteral ? [...selection.configured] : null;
  }

  /** The queue of a literal one-queue selection (the claim script's fast path, BLMOVE's source), else null. */
  get only(): string | null {
    const [first, ...more] = this.selection.configured;
    return this.selection.isLiteral && first !== undefined && more.length === 0 ? first : null;
  }

  /** Literal lists never change; globs re-read `SMEMBERS queues` (awaited when the slot is idle). */
  async fresh(): Promise<readonly string[]> {
    if (!this.selection.isLiteral) await this.refresh();
    return this.resolved ?? [];
  }

  /**
   * The queues for a prefetch sent while a job starts: globs use the last `SMEMBERS queues` and refresh it
   * in the background (a queue created just now is seen one job later).
   */
  now(): readonly string[] {
    if (!this.selection.isLiteral) void this.refresh().catch(() => undefined);
    return this.resolved ?? [];
  }

  private refresh(): Promise<void> {
    this.refreshing ??= this.store
      .knownQueues()
      .then((known) => {
        this.resolved = this.selection.resolve(known);
      })
      .finally(() => {
        this.refreshing = null;
      });
    return this.refreshing;
  }
}

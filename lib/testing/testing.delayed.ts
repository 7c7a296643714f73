import { tryDecodeDelayedItem } from '../protocol/index.js';
import type { DelayedMatcher, DelayedStorage, DelayedTimestamp, ScheduledLock } from '../queue/queue.delayed.store.js';
import type { MemoryUniqueLocks } from './testing.unique.js';

/**
 * The testing module's delayed queue: resque-scheduler's layout in memory (item strings per timestamp, and
 * the `timestamps:<item>` index), so ResqueDelayedJobs' checks, matching and events run unchanged on it.
 */
export class MemoryDelayedStore implements DelayedStorage {
  private readonly byTime = new Map<number, string[]>();
  private readonly index = new Map<string, Set<number>>();

  constructor(private readonly locks: MemoryUniqueLocks) {}

  async schedule(at: number, item: string, unique?: ScheduledLock): Promise<string | undefined> {
    const holder = unique && this.locks.take(unique.lock, unique.id, unique.ttl, true);
    if (holder !== undefined) return holder;
    const items = this.byTime.get(at) ?? [];
    items.push(item);
    this.byTime.set(at, items);
    const times = this.index.get(item) ?? new Set<number>();
    times.add(at);
    this.index.set(item, times);
    return undefined;
  }

  async removeIndexed(item: string): Promise<number> {
    let removed = 0;
    for (const at of [...(this.index.get(item) ?? [])]) removed += this.remove(at, (raw) => raw === item);
    return removed;
  }

  async removeMatching(matches: DelayedMatcher): Promise<number> {
    let removed = 0;
    for (const at of this.times()) removed += await this.removeFromTimestamp(String(at), matches);
    return removed;
  }

  async removeFromTimestamp(ts: string, matches: DelayedMatcher): Promise<number> {
    return this.remove(Number(ts), (raw) => {
      const item = tryDecodeDelayedItem(raw);
      const drop = item !== null && matches(item);
      if (drop) this.locks.releaseRemoved(raw); // unique: a removed job's lock goes with it
      return drop;
    });
  }

  async scheduleSize(): Promise<number> {
    return this.byTime.size;
  }

  async timestampSize(at: number): Promise<number> {
    return this.byTime.get(at)?.length ?? 0;
  }

  async nextTimestamp(): Promise<number | null> {
    return this.times()[0] ?? null;
  }

  async peek(start: number, count: number): Promise<DelayedTimestamp[]> {
    return this.times()
      .slice(start, start + count)
      .map((at) => ({ at, items: (this.byTime.get(at) ?? []).map((raw) => tryDecodeDelayedItem(raw) ?? { raw, unreadable: true as const }) }));
  }

  async scheduledAt(item: string): Promise<number[]> {
    return [...(this.index.get(item) ?? [])].sort((a, b) => a - b);
  }

  /** Every item due at or before `until` (unix seconds), oldest first, removed from the schedule. */
  takeDue(until: number): Array<{ at: number; item: string }> {
    const due: Array<{ at: number; item: string }> = [];
    for (const at of this.times()) {
      if (at > until) break;
      for (const item of this.byTime.get(at) ?? []) due.push({ at, item });
      this.remove(at, () => true);
    }
    return due;
  }

  /** Every item with its timestamp, oldest first. */
  all(): Array<{ at: number; item: string }> {
    return this.times().flatMap((at) => (this.byTime.get(at) ?? []).map((item) => ({ at, item })));
  }

  clear(): void {
    this.byTime.clear();
    this.index.clear();
  }

  private times(): number[] {
    return [...this.byTime.keys()].sort((a, b) => a - b);
  }

  /** Removes the items of one timestamp that `drop` accepts, keeping the index and the schedule tidy. */
  private remove(at: number, drop: (raw: string) => boolean): number {
    const items = this.byTime.get(at);
    if (!items) return 0;
    const kept = items.filter((raw) => !drop(raw));
    for (const raw of new Set(items)) {
      if (!kept.includes(raw)) {
        this.index.get(raw)?.delete(at);
        if (this.index.get(raw)?.size === 0) this.index.delete(raw);
      }
    }
    if (kept.length === 0) this.byTime.delete(at);
    else this.byTime.set(at, kept);
    return items.length - kept.length;
  }
}

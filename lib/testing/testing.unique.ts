import { uniqueMarkerOf, type UniqueUntil } from '../policies/policy.unique.js';

/**
 * The testing module's unique locks: what the Redis scripts keep under `unique:<class>:<key>`, in memory,
 * with the same rules (value = the holder's job id, released only by that job, expiring after its TTL).
 */
export class MemoryUniqueLocks {
  private readonly held = new Map<string, { id: string; expiresAt: number }>();

  /** unique_take: the holder's id when another job holds `lock`, else undefined (taken when `take`). */
  take(lock: string, id: string, ttlSeconds: number, take: boolean): string | undefined {
    const current = this.holder(lock);
    if (current !== undefined && current !== id) return current;
    if (take && current === undefined) this.held.set(lock, { id, expiresAt: Date.now() + ttlSeconds * 1000 });
    return undefined;
  }

  /** unique_release: only while `lock` still holds `id`. */
  release(lock: string, id: string): void {
    if (this.holder(lock) === id) this.held.delete(lock);
  }

  /** Releases the lock a payload or delayed item names, when its `until` is `when`. */
  releaseMarked(record: Record<string, unknown>, id: string | null, when: UniqueUntil): void {
    const marker = record['unique'] === undefined || id === null ? null : uniqueMarkerOf(record);
    if (marker?.until === when) this.release(marker.lock, id as string);
  }

  /** A job removed by hand (dequeue, removeDelayed): the lock its payload or item names, whatever its `until`. */
  releaseRemoved(raw: string): void {
    if (!raw.includes('"unique"')) return;
    const record = JSON.parse(raw) as Record<string, unknown>;
    const marker = uniqueMarkerOf(record);
    if (marker && typeof record['id'] === 'string') this.release(marker.lock, record['id']);
  }

  clear(): void {
    this.held.clear();
  }

  private holder(lock: string): string | undefined {
    const entry = this.held.get(lock);
    if (entry && entry.expiresAt <= Date.now()) this.held.delete(lock);
    return this.held.get(lock)?.id;
  }
}

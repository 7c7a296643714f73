import type { ResqueKeys } from '../protocol/protocol.keys.js';
import { heldUniqueOfRaw, type HeldUnique } from './policy.unique.js';

/**
 * Unique delayed items in one promotion batch (scheduler.promote.ts): such an item carries its job's id and
 * lock marker. The promoted job keeps that id (its lock holds it) and, for a lock the worker releases
 * ('started', 'finished'), the marker; an `until: 'queued'` lock is released by the promote script as its
 * item moves. Plain items cost one substring test.
 */
export class UniquePromotions {
  private readonly queued: Record<string, [string, string]> = {};
  private any = false;

  constructor(private readonly keys: ResqueKeys) {}

  /** The lock an item holds (null for plain items); a 'queued' one is noted for release. */
  of(raw: string): HeldUnique | null {
    const held = heldUniqueOfRaw(this.keys, raw);
    if (held?.until === 'queued') {
      this.queued[raw] = [held.key, held.id];
      this.any = true;
    }
    return held;
  }

  /** The promoted payload, with the item's marker when the worker releases the lock. */
  payload(held: HeldUnique | null, payload: string): string {
    if (!held || held.until === 'queued') return payload;
    const lock = held.key.slice(this.keys.prefix.length);
    return `${payload.slice(0, -1)},"unique":${JSON.stringify({ lock, until: held.until })}}`;
  }

  /** The promote script's release slot: '' (no decode in Lua) or `{ item: [key, id] }`. */
  releases(): string {
    return this.any ? JSON.stringify(this.queued) : '';
  }
}

import { PayloadDecodeError } from './protocol.payload.js';

/**
 * Delayed items in `delayed:<ts>` (resque-protocol.md §10). We write Ruby's key order
 * `{"class","args","queue"}`, which for one hash argument is byte-identical to Ruby's item and equal to
 * php-resque-scheduler's modulo PHP's `\/`/`\uXXXX` escaping. We read all three shapes, node-resque's
 * `{"class","queue","args"}` included. Items never carry an id or queue_time.
 */
export interface DelayedItem {
  /** The exact string stored in the list (needed for LREM and the `timestamps:<item>` key). */
  readonly raw: string;
  readonly className: string;
  readonly queue: string;
  /** As stored: php/ours `[params]`, Ruby/node-resque the splat list. */
  readonly args: unknown[];
  /**
   * Ours only, on a retry's item (retry policy): the job's id and status prefix, the per-enqueue retry override
   * and the next attempt's number, restored in the payload the item becomes. Absent on any other item.
   */
  readonly carried?: Readonly<Record<string, unknown>>;
}

/** The members of a retry's delayed item our promotion carries into the payload (Ruby's scheduler drops them). */
const CARRIED_KEYS = ['id', 'prefix', 'retry', 'retry_attempt'] as const;

/** Our item for `params`: args `[params]` like php's `[$args]` and our enqueue (`undefined` → `[null]`). */
export function encodeDelayedItem(className: string, queue: string, params: unknown): string {
  return encodeDelayedItemArgs(className, queue, [params ?? null]);
}

/** An item with an explicit args list (Ruby's splat form). */
export function encodeDelayedItemArgs(className: string, queue: string, args: readonly unknown[]): string {
  return JSON.stringify({ class: className, args, queue });
}

/** Reads any peer's item; throws PayloadDecodeError naming what is missing. */
export function decodeDelayedItem(raw: string): DelayedItem {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (error) {
    throw new PayloadDecodeError(`delayed item is not valid JSON (${(error as Error).message})`, raw);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new PayloadDecodeError('delayed item is not a JSON object', raw);
  }
  const item = parsed as Record<string, unknown>;
  const className = item['class'];
  if (typeof className !== 'string' || className === '') {
    throw new PayloadDecodeError('delayed item has no "class" (a non-empty string is required)', raw);
  }
  const queue = item['queue'];
  if (typeof queue !== 'string' || queue === '') {
    throw new PayloadDecodeError('delayed item has no "queue" (a non-empty string is required)', raw);
  }
  const rawArgs = item['args'];
  let args: unknown[];
  if (rawArgs === undefined || rawArgs === null) args = [];
  else if (Array.isArray(rawArgs)) args = rawArgs;
  else throw new PayloadDecodeError('delayed item "args" is not a JSON array', raw);
  let carried: Record<string, unknown> | undefined;
  for (const key of CARRIED_KEYS) {
    if (item[key] === undefined) continue;
    carried ??= {};
    carried[key] = item[key];
  }
  return carried ? { raw, className, queue, args, carried } : { raw, className, queue, args };
}

/** Decodes, or returns null for an item no peer could run (kept for the caller to report). */
export function tryDecodeDelayedItem(raw: string): DelayedItem | null {
  try {
    return decodeDelayedItem(raw);
  } catch {
    return null;
  }
}

/**
 * The job a promoted item becomes: our payload shape `{"class","args","id","queue_time"}` with the item's
 * args kept as stored (php/ours `[hash]` stays `[hash]`, a Ruby splat stays a splat).
 */
export function promotedPayload(item: DelayedItem, id: string, queueTime: number): string {
  if (!item.carried) return JSON.stringify({ class: item.className, args: item.args, id, queue_time: queueTime });
  // A retry keeps its id (status tracking) and its attempt number.
  const { id: ownId, prefix, ...rest } = item.carried;
  const head = { class: item.className, args: item.args, id: typeof ownId === 'string' ? ownId : id };
  return JSON.stringify(typeof prefix === 'string' ? { ...head, prefix, queue_time: queueTime, ...rest } : { ...head, queue_time: queueTime, ...rest });
}

/** Structural match across encoders: same class, same queue, args deep-equal (key order ignored). */
export function delayedItemMatches(item: DelayedItem, className: string, queue: string, args: readonly unknown[]): boolean {
  return item.className === className && item.queue === queue && jsonEqual(item.args, args);
}

/** Deep equality of JSON values; object key order is ignored, array order is not. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const list = b as unknown[];
    return a.length === list.length && a.every((value, i) => jsonEqual(value, list[i]));
  }
  const left = a as Record<string, unknown>;
  const right = b as Record<string, unknown>;
  const leftKeys = Object.keys(left);
  if (leftKeys.length !== Object.keys(right).length) return false;
  return leftKeys.every((key) => Object.prototype.hasOwnProperty.call(right, key) && jsonEqual(left[key], right[key]));
}

/** Unix seconds for a delayed timestamp: an integer, as every peer stores it. */
export function delayedTimestampOf(when: Date | number, argumentName: string): number {
  if (when instanceof Date) {
    const ms = when.getTime();
    if (Number.isNaN(ms)) throw new TypeError(`${argumentName} must be a valid Date, got an Invalid Date`);
    return Math.floor(ms / 1000);
  }
  if (typeof when !== 'number') {
    throw new TypeError(`${argumentName} must be a Date or unix seconds (number), got ${typeof when}`);
  }
  if (!Number.isFinite(when)) throw new RangeError(`${argumentName} must be a finite number of unix seconds, got ${when}`);
  if (when < 0) throw new RangeError(`${argumentName} must not be negative, got ${when}`);
  return Math.floor(when);
}

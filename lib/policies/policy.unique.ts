/**
 * Unique jobs (`@Job(name, { unique })`): while an equal job (same class, same key) holds the lock, enqueue,
 * enqueueIn and enqueueAt return that job's id or reject. The lock is `<ns>:unique:<class>:<key>` = the
 * holder's job id, taken in the script that pushes (or schedules) the job, released (only if it still holds
 * this job's id) by the script that promotes, starts or records the outcome of the job, by the pruner for a
 * dead worker's job, and by its TTL whatever happens.
 *
 * The worker finds the lock from the payload alone (a pruner or a parent slot cannot call the user's key
 * function): unique jobs carry one extra top-level member, `"unique":{"lock":"unique:<class>:<key>","until":…}`
 * (Ruby and php ignore members they do not know); plain jobs carry nothing.
 */
import { typeName } from '../jobs/job.name.js';
import type { ResqueKeys } from '../protocol/protocol.keys.js';

/**
 * When the lock is released:
 * - `'queued'`: unique while delayed; released when the job reaches its queue (promotion). An immediate
 *   enqueue only checks it (it refuses while an equal job is delayed) and takes nothing.
 * - `'started'`: unique while delayed or queued; released when a worker starts the job.
 * - `'finished'`: unique until the job's outcome is recorded (completed, skipped or failed).
 */
export type UniqueUntil = 'queued' | 'started' | 'finished';

/** `'existing'`: resolve with the holder's id (afterEnqueue does not fire); `'reject'`: throw DuplicateJobError. */
export type UniqueOnDuplicate = 'existing' | 'reject';

export interface UniqueOptions<P = unknown> {
  until: UniqueUntil;
  /** The job's identity within its class; default: the canonical JSON of the params (keys sorted). */
  key?: (params: P) => string;
  /**
   * Seconds the lock lives at most (default 3600), so no crash can hold it forever. A delayed job's lock
   * lives its delay plus this.
   */
  ttl?: number;
  /** What an equal enqueue does while the lock is held (default `'existing'`). */
  onDuplicate?: UniqueOnDuplicate;
}

export const UNIQUE_DEFAULT_TTL_SECONDS = 3600;
const UNTILS: readonly string[] = ['queued', 'started', 'finished'];
const ON_DUPLICATE: readonly string[] = ['existing', 'reject'];

/** Thrown by enqueue/enqueueIn/enqueueAt of a unique job (`onDuplicate: 'reject'`) while an equal job holds the lock. */
export class DuplicateJobError extends Error {
  override readonly name = 'DuplicateJobError';
  constructor(
    readonly className: string,
    readonly key: string,
    /** The id of the job that holds the lock. */
    readonly existingId: string,
  ) {
    super(`job ${className} with unique key ${key} is already enqueued or running (job ${existingId}); not enqueued again`);
  }
}

/** The lock a unique enqueue takes: what the enqueue script and the payload marker need. */
export interface UniqueLock {
  /** `unique:<class>:<key>`, without the namespace (the payload carries this). */
  readonly lock: string;
  readonly key: string;
  readonly until: UniqueUntil;
  readonly ttl: number;
  readonly onDuplicate: UniqueOnDuplicate;
}

/** A lock a job holds, read back from its payload: the namespaced key and the job id it must still hold. */
export interface HeldUnique {
  readonly key: string;
  readonly id: string;
  readonly until: UniqueUntil;
}

/** Checks `@Job(name, { unique })` at decoration; throws a TypeError/RangeError naming the problem. */
export function assertUniqueOptions(value: unknown, label: string): asserts value is UniqueOptions {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new TypeError(`${label}.unique must be an object { until, key?, ttl?, onDuplicate? }, got ${typeName(value)}`);
  }
  const { until, key, ttl, onDuplicate } = value as Record<string, unknown>;
  if (typeof until !== 'string' || !UNTILS.includes(until)) {
    throw new RangeError(`${label}.unique.until must be 'queued', 'started' or 'finished', got ${JSON.stringify(until) ?? 'undefined'}`);
  }
  if (key !== undefined && typeof key !== 'function') throw new TypeError(`${label}.unique.key must be a function (params) => string, got ${typeName(key)}`);
  assertTtlAndOnDuplicate(ttl, onDuplicate, label);
}

function assertTtlAndOnDuplicate(ttl: unknown, onDuplicate: unknown, label: string): void {
  if (ttl !== undefined && (typeof ttl !== 'number' || !Number.isInteger(ttl) || ttl < 1)) {
    throw new RangeError(`${label}.unique.ttl must be a whole number of seconds >= 1, got ${typeof ttl === 'number' ? ttl : typeName(ttl)}`);
  }
  if (onDuplicate !== undefined && (typeof onDuplicate !== 'string' || !ON_DUPLICATE.includes(onDuplicate))) {
    throw new RangeError(`${label}.unique.onDuplicate must be 'existing' or 'reject', got ${JSON.stringify(onDuplicate) ?? 'undefined'}`);
  }
}

/** JSON with object keys sorted at every level: equal params give equal keys whatever their key order. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value)) ?? 'null';
}

function sortKeys(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return value;
  if (Array.isArray(value)) return value.map(sortKeys);
  const out: Record<string, unknown> = {};
  for (const name of Object.keys(value).sort()) out[name] = sortKeys((value as Record<string, unknown>)[name]);
  return out;
}

/**
 * The lock of one enqueue of a unique job class (null for other jobs). The key function runs here, before
 * anything is written; a throw or a non-string result is reported naming the job.
 */
export function uniqueLockOf(className: string, options: UniqueOptions | undefined, params: unknown): UniqueLock | null {
  if (!options) return null;
  let key: unknown;
  try {
    key = options.key ? options.key(params) : canonicalJson(params);
  } catch (error) {
    throw new TypeError(`@Job('${className}') unique.key threw: ${(error as Error).message}`, { cause: error });
  }
  if (typeof key !== 'string' || key === '') {
    throw new TypeError(`@Job('${className}') unique.key must return a non-empty string, got ${typeName(key)}`);
  }
  return {
    lock: `unique:${className}:${key}`,
    key,
    until: options.until,
    ttl: options.ttl ?? UNIQUE_DEFAULT_TTL_SECONDS,
    onDuplicate: options.onDuplicate ?? 'existing',
  };
}

/** The payload (or delayed item) marker, appended as the last member of a JSON object string. */
export function withUniqueMarker(json: string, lock: UniqueLock, id?: string): string {
  const marker = JSON.stringify({ lock: lock.lock, until: lock.until });
  return `${json.slice(0, -1)}${id === undefined ? '' : `,"id":${JSON.stringify(id)}`},"unique":${marker}}`;
}

/** Whether a decoded payload or item carries a marker, and which lock it names (lenient: junk is ignored). */
export function uniqueMarkerOf(record: Record<string, unknown>): { lock: string; until: UniqueUntil } | null {
  const marker = record['unique'];
  if (marker === null || typeof marker !== 'object') return null;
  const { lock, until } = marker as Record<string, unknown>;
  if (typeof lock !== 'string' || lock === '' || typeof until !== 'string' || !UNTILS.includes(until)) return null;
  return { lock, until: until as UniqueUntil };
}

/** The lock a job holds, from its decoded payload and id (null for plain jobs or jobs without an id). */
export function heldUniqueOf(keys: ResqueKeys, payload: Record<string, unknown>, id: string | null): HeldUnique | null {
  if (id === null || payload['unique'] === undefined) return null;
  const marker = uniqueMarkerOf(payload);
  return marker ? { key: keys.key(marker.lock), id, until: marker.until } : null;
}

/** The lock a raw payload or delayed item holds; a substring test first keeps plain payloads unparsed. */
export function heldUniqueOfRaw(keys: ResqueKeys, raw: string): HeldUnique | null {
  if (!raw.includes('"unique"')) return null;
  try {
    const parsed: unknown = JSON.parse(raw);
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return null;
    const record = parsed as Record<string, unknown>;
    const id = typeof record['id'] === 'string' && record['id'] !== '' ? record['id'] : null;
    return heldUniqueOf(keys, record, id);
  } catch {
    return null;
  }
}

/** The one ARGV slot the worker scripts decode: '' when nothing is released (plain jobs), else `[[key, id], …]`. */
export function uniqueReleaseArg(held: ReadonlyArray<HeldUnique | null | undefined>): string {
  let out = '';
  for (const h of held) if (h) out += `${out === '' ? '[' : ','}${JSON.stringify([h.key, h.id])}`;
  return out === '' ? '' : `${out}]`;
}

// Where every job of a chaos scenario ended up: how often it ran (the perform log the chaos job appends to)
// and where Redis still holds it (queues, claim lists, worker:<id>, delayed lists, failed).
import { existsSync, readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';
import { inFlightOf } from '../../lib/worker/worker.pruner.js';

export interface Placement {
  /** In a `queue:<name>` list. */
  queued: Map<string, number>;
  /** In a `worker:<id>:claim` list or named by a `worker:<id>` key. */
  inFlight: Map<string, number>;
  /** In a `delayed:<ts>` list. */
  delayed: Map<string, number>;
  /** Failed entries by job id. */
  failed: Map<string, FailedEntry[]>;
}

export interface FailedEntry {
  exception: string;
  error: string;
}

export interface Figures {
  jobs: number;
  once: number;
  more: number;
  failed: number;
  /** Jobs that ran to the end and are in `failed` too (their worker died before recording the outcome). */
  ranAndFailed: number;
  /** Failed entries (not jobs) whose exception or error is empty. */
  failedWithoutCause: number;
  /** Failed entries by exception class. */
  failedBy: Record<string, number>;
  /** Still in a queue, claim list, worker key or delayed list. */
  queued: number;
  lost: number;
  lostIds: string[];
}

/** The job's own id from a payload: the chaos job's args[0].id, or a scheduler item's args[0].n. */
export function jobIdOf(raw: string): string | null {
  try {
    const payload = JSON.parse(raw) as { args?: unknown };
    const first = Array.isArray(payload.args) ? (payload.args[0] as { id?: unknown; n?: unknown } | undefined) : undefined;
    if (typeof first?.id === 'string') return first.id;
    if (typeof first?.n === 'number') return String(first.n);
  } catch {
    // unreadable payloads belong to no job of ours
  }
  return null;
}

function bump(map: Map<string, number>, raw: string): void {
  const id = jobIdOf(raw);
  if (id !== null) map.set(id, (map.get(id) ?? 0) + 1);
}

async function scan(redis: Redis, pattern: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    keys.push(...batch);
  } while (cursor !== '0');
  return keys;
}

/** Reads every place a job can be in Redis (SCAN: fine here, this is no hot path). */
export async function placeJobs(redis: Redis, ns: string): Promise<Placement> {
  const placement: Placement = { queued: new Map(), inFlight: new Map(), delayed: new Map(), failed: new Map() };
  for (const key of await scan(redis, `${ns}:queue:*`)) {
    for (const raw of await redis.lrange(key, 0, -1)) bump(placement.queued, raw);
  }
  for (const key of await scan(redis, `${ns}:worker:*`)) {
    const type = await redis.type(key);
    if (type === 'list' && key.endsWith(':claim')) {
      for (const raw of await redis.lrange(key, 0, -1)) bump(placement.inFlight, raw);
    } else if (type === 'string' && !key.endsWith(':started')) {
      const value = await redis.get(key);
      const job = value === null ? null : inFlightOf(value);
      if (job) bump(placement.inFlight, job.raw);
    }
  }
  for (const key of await scan(redis, `${ns}:delayed:*`)) {
    if ((await redis.type(key)) !== 'list') continue;
    for (const raw of await redis.lrange(key, 0, -1)) bump(placement.delayed, raw);
  }
  for (const raw of await redis.lrange(`${ns}:failed`, 0, -1)) {
    let entry: { payload?: unknown; exception?: unknown; error?: unknown };
    try {
      entry = JSON.parse(raw) as typeof entry;
    } catch {
      continue;
    }
    const id = jobIdOf(typeof entry.payload === 'string' ? entry.payload : JSON.stringify(entry.payload ?? null));
    if (id === null) continue;
    const list = placement.failed.get(id) ?? [];
    list.push({ exception: typeof entry.exception === 'string' ? entry.exception : '', error: typeof entry.error === 'string' ? entry.error : '' });
    placement.failed.set(id, list);
  }
  return placement;
}

/** `d <id>` lines of the perform log: completed performs per job id. */
export function readRuns(logFile: string): Map<string, number> {
  const runs = new Map<string, number>();
  if (!existsSync(logFile)) return runs;
  for (const line of readFileSync(logFile, 'utf8').split('\n')) {
    if (line.startsWith('d ')) runs.set(line.slice(2), (runs.get(line.slice(2)) ?? 0) + 1);
  }
  return runs;
}

/** Jobs still waiting somewhere (queue, claim list, worker key, delayed). */
export function pending(placement: Placement): number {
  const ids = new Set([...placement.queued.keys(), ...placement.inFlight.keys(), ...placement.delayed.keys()]);
  return ids.size;
}

/**
 * The figures of a scenario: `jobs` are the ids the producer was told were accepted; `runs` how often each
 * ran (or was promoted, for the scheduler). A job is lost when it ran zero times and Redis holds it nowhere.
 */
export function account(jobs: Iterable<string>, runs: Map<string, number>, placement: Placement): Figures {
  const figures: Figures = { jobs: 0, once: 0, more: 0, failed: 0, ranAndFailed: 0, failedWithoutCause: 0, failedBy: {}, queued: 0, lost: 0, lostIds: [] };
  for (const id of jobs) {
    figures.jobs++;
    const ran = runs.get(id) ?? 0;
    if (ran === 1) figures.once++;
    if (ran > 1) figures.more++;
    const failed = placement.failed.get(id);
    if (failed) {
      figures.failed++;
      if (ran > 0) figures.ranAndFailed++;
      for (const entry of failed) {
        figures.failedBy[entry.exception || '(none)'] = (figures.failedBy[entry.exception || '(none)'] ?? 0) + 1;
        if (!entry.exception || !entry.error) figures.failedWithoutCause++;
      }
    }
    const waiting = placement.queued.has(id) || placement.inFlight.has(id) || placement.delayed.has(id);
    if (waiting) figures.queued++;
    if (ran === 0 && !failed && !waiting) {
      figures.lost++;
      if (figures.lostIds.length < 5) figures.lostIds.push(id);
    }
  }
  return figures;
}

import type { ResqueProgress } from './protocol.progress.js';

/** Job status records, `job:<id>:status` (resque-protocol.md §8). */
export enum JobStatus {
  WAITING = 1,
  RUNNING = 2,
  FAILED = 3,
  COMPLETE = 4,
}

/** Finished statuses expire after a day, as php-resque does; waiting and running never expire. */
export const STATUS_TTL_SECONDS = 86_400;

/** The packet as stored: `{"status","updated","started"}` plus the fork's `result` and our `progress`. */
export interface StatusPacket {
  status: JobStatus;
  updated: number;
  started?: number;
  result?: unknown;
  progress?: unknown;
}

/** What `ResqueQueue.status()` returns. */
export interface JobStatusInfo {
  status: JobStatus;
  /** Unix seconds of the last change. */
  updated: number;
  /** Unix seconds of the enqueue; null when a php-resque worker dropped it (php rewrites the packet). */
  started: number | null;
  /** What perform returned (COMPLETE), null otherwise or when unknown. */
  result: unknown;
  /** The last `ctx.progress()` value the job reported (kept once it finished), null when none. */
  progress: ResqueProgress | null;
}

export function isFinished(status: JobStatus): boolean {
  return status === JobStatus.FAILED || status === JobStatus.COMPLETE;
}

/** Our packets keep `started` (the fork's behaviour) and store `result` only on COMPLETE. */
export function encodeStatus(packet: StatusPacket): string {
  const out: StatusPacket = { status: packet.status, updated: packet.updated };
  if (packet.started !== undefined) out.started = packet.started;
  if (packet.result !== undefined) out.result = packet.result;
  if (packet.progress !== undefined) out.progress = packet.progress;
  return JSON.stringify(out);
}

export function decodeStatus(raw: string | null): JobStatusInfo | null {
  if (raw === null) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return null;
  }
  if (!parsed || typeof parsed !== 'object') return null;
  const p = parsed as Record<string, unknown>;
  const status = Number(p['status']);
  if (!Number.isInteger(status) || status < 1 || status > 4) return null;
  return {
    status: status as JobStatus,
    updated: Number(p['updated'] ?? 0),
    started: typeof p['started'] === 'number' ? (p['started']) : null,
    result: p['result'] === undefined ? null : p['result'],
    progress: progressOf(p['progress']),
  };
}

/** A number or an object as the job reported it; anything else (another writer's field) reads as none. */
function progressOf(value: unknown): ResqueProgress | null {
  if (typeof value === 'number') return value;
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) return value as ResqueProgress;
  return null;
}

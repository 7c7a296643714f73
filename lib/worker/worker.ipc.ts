import type { ResqueEventMap } from '../events/events.types.js';
import type { BridgedEventName } from './worker.job-runner.js';
import { fromWireError, toWireError, type WireError } from './worker.errors.js';
import type { JobOutcome, RunnableJob } from './worker.types.js';

/**
 * The parent ⇄ child protocol over Node's IPC channel (JSON serialisation). The parent reserves and does
 * all Redis bookkeeping; a child only performs and reports.
 *
 * parent → child: `perform` (one job at a time), `abort` (abort the running job's `ctx.signal`: TERM/INT with
 * the signal's name, its timeout, or a prune notice; the child still reports the outcome), `shutdown` (finish
 * and exit 0).
 * child → parent: `ready` (context booted), `failed` (the boot failed: its reason, then the child exits 1),
 * `event` (a bridged lifecycle event), `done` (the outcome and how long the job ran, in ms, plus the child's
 * RSS when asked, for recycling).
 * One message each way per job.
 */
export type ParentMessage =
  /**
   * `bridge`: the events someone listens to in the parent (the child forwards only those), sent only when
   * it changed since the previous job. `rss`: report the child's RSS with the outcome (memory recycling).
   */
  | { type: 'perform'; job: RunnableJob; bridge?: BridgedEventName[]; rss?: true }
  | { type: 'abort'; reason: 'term'; signal: NodeJS.Signals }
  | { type: 'abort'; reason: 'timeout'; timeoutMs: number }
  | { type: 'abort'; reason: 'pruned'; workerId: string }
  | { type: 'shutdown' };

export type ChildMessage =
  | { type: 'ready'; pid: number }
  | { type: 'failed'; message: string }
  | { type: 'event'; name: BridgedEventName; payload: WireEventPayload }
  /** `ms`: the job's run time in the child (the pool's occupancy: does another child add throughput?). */
  | { type: 'done'; outcome: JobOutcome; ms: number; rssMb?: number };

/** An event payload with its `error` (onFailure) flattened for JSON. */
export type WireEventPayload = Record<string, unknown> & { error?: WireError };

export { CHILD_ENV } from './worker.parent-guard.js';

export function isChildMessage(value: unknown): value is ChildMessage {
  if (!value || typeof value !== 'object') return false;
  const type = (value as { type?: unknown }).type;
  return type === 'ready' || type === 'failed' || type === 'event' || type === 'done';
}

export function isParentMessage(value: unknown): value is ParentMessage {
  if (!value || typeof value !== 'object') return false;
  const type = (value as { type?: unknown }).type;
  return type === 'perform' || type === 'abort' || type === 'shutdown';
}

export function toWirePayload<K extends BridgedEventName>(name: K, payload: ResqueEventMap[K]): WireEventPayload {
  const out: WireEventPayload = { ...(payload as unknown as Record<string, unknown>) };
  if (name === 'onFailure') out.error = toWireError((payload as ResqueEventMap['onFailure']).error);
  return out;
}

export function fromWirePayload<K extends BridgedEventName>(name: K, payload: WireEventPayload): ResqueEventMap[K] {
  if (name === 'onFailure' && payload.error) return { ...payload, error: fromWireError(payload.error) } as unknown as ResqueEventMap[K];
  return payload as unknown as ResqueEventMap[K];
}

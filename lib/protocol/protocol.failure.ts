import { rubyFailedAt } from './protocol.time.js';

/**
 * An entry of the `failed` list (resque-protocol.md §7): members in Ruby's and PHP's order. resque-web
 * addresses entries by index and runs DateTime.parse on `failed_at`/`retried_at`.
 */
export interface FailureRecord {
  failed_at: string;
  /** The original payload object; the raw string when it was not a JSON object. */
  payload: Record<string, unknown> | string;
  exception: string;
  error: string;
  backtrace: string[] | null;
  worker: string;
  queue: string;
  retried_at?: string;
  /** Ours (retry policy): the attempts made before the failure was recorded. */
  retry_attempts?: number;
}

export interface FailureInput {
  /** The exact string popped from the queue. */
  rawPayload: string;
  exception: string;
  error: string;
  backtrace?: readonly string[] | null;
  worker: string;
  queue: string;
  failedAt?: Date;
}

/** Ruby's exception class for a child that died (signal or non-zero exit). */
export const DIRTY_EXIT_EXCEPTION = 'Resque::DirtyExit';
/** Ruby's exception class for the in-flight job of a worker found dead by pruning (retryable in resque-web). */
export const PRUNE_DEAD_WORKER_EXCEPTION = 'Resque::PruneDeadWorkerDirtyExit';
/** Ruby's exception class for a job that TERM/INT stopped (raised in the job with the message "SIGTERM"). */
export const TERM_EXCEPTION = 'Resque::TermException';

export function payloadForFailure(rawPayload: string): Record<string, unknown> | string {
  try {
    const parsed: unknown = JSON.parse(rawPayload);
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
  } catch {
    // not JSON: kept verbatim below so nothing is lost
  }
  return rawPayload;
}

export function buildFailure(input: FailureInput): FailureRecord {
  return {
    failed_at: rubyFailedAt(input.failedAt ?? new Date()),
    payload: payloadForFailure(input.rawPayload),
    exception: input.exception,
    error: input.error,
    backtrace: input.backtrace ? [...input.backtrace] : [],
    worker: input.worker,
    queue: input.queue,
  };
}

export function encodeFailure(record: FailureRecord): string {
  // Spelled out so the member order is Ruby's whatever object the record came from.
  const ordered: FailureRecord = {
    failed_at: record.failed_at,
    payload: record.payload,
    exception: record.exception,
    error: record.error,
    backtrace: record.backtrace,
    worker: record.worker,
    queue: record.queue,
  };
  if (record.retried_at !== undefined) ordered.retried_at = record.retried_at;
  return JSON.stringify(ordered);
}

/** Reads entries written by Ruby, php-resque, its fork and node-resque; null for an unreadable entry. */
export function decodeFailure(raw: string): FailureRecord | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return null;
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) return null;
  const r = parsed as Record<string, unknown>;
  const backtrace = Array.isArray(r['backtrace']) ? (r['backtrace'] as unknown[]).map(String) : null;
  const record: FailureRecord = {
    failed_at: fieldText(r['failed_at']),
    payload: (r['payload'] && typeof r['payload'] === 'object' ? r['payload'] : fieldText(r['payload'])) as
      | Record<string, unknown>
      | string,
    exception: fieldText(r['exception']),
    error: fieldText(r['error']),
    backtrace,
    worker: fieldText(r['worker']),
    queue: fieldText(r['queue']),
  };
  if (typeof r['retried_at'] === 'string') record.retried_at = r['retried_at'];
  if (typeof r['retry_attempts'] === 'number') record.retry_attempts = r['retry_attempts'];
  return record;
}

/** Splits an Error's stack into backtrace lines (the message line dropped), like PHP's trace lines. */
export function backtraceOf(error: unknown): string[] {
  if (!(error instanceof Error) || !error.stack) return [];
  const lines = error.stack.split('\n');
  // The header is `Name: message` and a message may span lines: start at V8's first `    at ` frame.
  const firstFrame = lines.findIndex((line) => /^ {4}at /.test(line));
  return lines
    .slice(firstFrame > 0 ? firstFrame : 1)
    .map((line) => line.trim())
    .filter((line) => line.length > 0);
}

/** The exception class name of a thrown value, as resque-web shows it. */
export function exceptionName(error: unknown): string {
  if (error instanceof Error) return error.name && error.name !== 'Error' ? error.name : error.constructor?.name || 'Error';
  return typeof error;
}

export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  try {
    return typeof error === 'string' ? error : JSON.stringify(error) ?? String(error);
  } catch {
    return String(error);
  }
}

/** A record field as text: absent is '', a number or boolean as written, a nested value as its JSON. */
function fieldText(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'object') return JSON.stringify(value);
  // eslint-disable-next-line @typescript-eslint/no-base-to-string -- objects were handled above
  return String(value);
}

import { randomBytes } from 'node:crypto';

/**
 * A job as it sits in `queue:<q>` (resque-protocol.md §3). Only `class` is required on read; Ruby and
 * resque-web requeues carry no id, node-resque adds `queue`, php-resque's fork adds `prefix`.
 */
export interface ResquePayload {
  class: string;
  args: unknown[];
  id?: string;
  queue_time?: number;
  prefix?: string;
  queue?: string;
  [extra: string]: unknown;
}

/** A payload decoded for performing: `params` is what a handler receives (`args[0]`, `[]`/null → `{}`). */
export interface DecodedJob {
  /** The exact string read from Redis (kept for byte-exact LREM and failure records). */
  readonly raw: string;
  readonly payload: ResquePayload;
  readonly className: string;
  readonly args: unknown[];
  readonly params: unknown;
  readonly id: string | null;
  readonly queueTime: number | null;
  /** php-resque fork's status prefix (`job:<prefix>_<id>:status`), null when absent or empty. */
  readonly prefix: string | null;
}

/** Why a payload could not be read; the worker records it as a failure, never drops it. */
export class PayloadDecodeError extends Error {
  override readonly name = 'PayloadDecodeError';
  constructor(
    message: string,
    readonly raw: string,
  ) {
    super(message);
  }
}

/** 32 lowercase hex characters, like php-resque's md5(uniqid()). */
export function newJobId(): string {
  return randomBytes(16).toString('hex');
}

/** php-resque's `queue_time` (microtime(true)): unix seconds as a float. */
export function queueTimeNow(now: number = Date.now()): number {
  return now / 1000;
}

/** What a handler gets as params: PHP consumers read `args[0]`; an empty PHP array or null means none. */
export function paramsFromArgs(args: readonly unknown[]): unknown {
  const first = args[0];
  if (first === undefined || first === null) return {};
  if (Array.isArray(first) && first.length === 0) return {};
  return first;
}

export interface EncodeOptions {
  id: string;
  queueTime: number;
  /** php-resque fork mode only: written between id and queue_time when given. */
  prefix?: string;
}

/** Writes php-resque's shape: `{"class","args":[params],"id","queue_time"}` (plus `prefix` in fork mode). */
export function encodePayload(className: string, params: unknown, options: EncodeOptions): string {
  const body: ResquePayload =
    options.prefix === undefined
      ? { class: className, args: [params ?? null], id: options.id, queue_time: options.queueTime }
      : { class: className, args: [params ?? null], id: options.id, prefix: options.prefix, queue_time: options.queueTime };
  return JSON.stringify(body);
}

/** Reads every shape the peers write (php, Ruby, node-resque); throws PayloadDecodeError naming the problem. */
export function decodePayload(raw: string): DecodedJob {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (error) {
    throw new PayloadDecodeError(`payload is not valid JSON (${(error as Error).message})`, raw);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new PayloadDecodeError('payload is not a JSON object', raw);
  }
  const payload = parsed as Record<string, unknown>;
  const className = payload['class'];
  if (typeof className !== 'string' || className === '') {
    throw new PayloadDecodeError('payload has no "class" (a non-empty string is required)', raw);
  }
  const rawArgs = payload['args'];
  let args: unknown[];
  if (rawArgs === undefined || rawArgs === null) args = [];
  else if (Array.isArray(rawArgs)) args = rawArgs;
  else throw new PayloadDecodeError('payload "args" is not a JSON array', raw);
  const id = typeof payload['id'] === 'string' && payload['id'] !== '' ? (payload['id']) : null;
  const queueTime = typeof payload['queue_time'] === 'number' ? (payload['queue_time']) : null;
  const prefix = typeof payload['prefix'] === 'string' && payload['prefix'] !== '' ? (payload['prefix']) : null;
  return {
    raw,
    // The parsed object is ours alone: copied only when `args` had to be filled in.
    payload: args === rawArgs ? (payload as ResquePayload) : { ...payload, class: className, args },
    className,
    args,
    params: paramsFromArgs(args),
    id,
    queueTime,
    prefix,
  };
}

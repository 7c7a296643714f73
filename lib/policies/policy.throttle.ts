import { createHash } from 'node:crypto';
import type { ResqueKeys } from '../protocol/protocol.keys.js';

/** A rate limit: at most `max` jobs claimed in any `perSeconds` (a sliding window, shared by every worker). */
export interface ThrottleRate {
  max: number;
  perSeconds: number;
}

/** The worker host's `throttle` option: rate limits per queue (by literal queue name). */
export interface WorkerThrottleOptions {
  queues?: Record<string, ThrottleRate>;
}

/** Per job class: its rate limit (`@Job({ throttle })`) and/or its concurrency cap (`@Job({ maxConcurrent })`). */
export interface ClassThrottle {
  throttle?: ThrottleRate;
  maxConcurrent?: number;
}

/** Throws a clear error for a rate limit that is not `{ max: positive integer, perSeconds: positive number }`. */
export function checkThrottleRate(where: string, rate: unknown): asserts rate is ThrottleRate {
  if (rate === null || typeof rate !== 'object' || Array.isArray(rate)) {
    throw new TypeError(`${where} must be an object { max, perSeconds }, got ${JSON.stringify(rate)}`);
  }
  const { max, perSeconds } = rate as Record<string, unknown>;
  if (typeof max !== 'number' || !Number.isSafeInteger(max) || max < 1) {
    throw new RangeError(`${where}.max must be a positive integer (jobs per window), got ${String(max)}`);
  }
  if (typeof perSeconds !== 'number' || !Number.isFinite(perSeconds) || perSeconds < 0.001) {
    throw new RangeError(`${where}.perSeconds must be a number of seconds >= 0.001, got ${String(perSeconds)}`);
  }
  const unknown = Object.keys(rate).filter((k) => k !== 'max' && k !== 'perSeconds');
  if (unknown.length > 0) throw new TypeError(`${where} has unknown field(s) ${unknown.join(', ')} (expected max, perSeconds)`);
}

/** Validates a job's `throttle`/`maxConcurrent` (called by `@Job`, before anything is written). */
export function checkClassThrottle(jobName: string, options: ClassThrottle): void {
  if (options.throttle !== undefined) checkThrottleRate(`@Job('${jobName}') throttle`, options.throttle);
  const cap = options.maxConcurrent;
  if (cap !== undefined && (typeof cap !== 'number' || !Number.isSafeInteger(cap) || cap < 1)) {
    throw new RangeError(`@Job('${jobName}') maxConcurrent must be a positive integer, got ${String(cap)}`);
  }
}

/** Validates the worker host's `throttle` option; returns it (or undefined). */
export function checkWorkerThrottle(value: unknown): WorkerThrottleOptions | undefined {
  if (value === undefined) return undefined;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new TypeError(`throttle must be an object { queues: { <queue>: { max, perSeconds } } }, got ${JSON.stringify(value)}`);
  }
  const { queues, ...rest } = value as Record<string, unknown>;
  if (Object.keys(rest).length > 0) throw new TypeError(`throttle has unknown field(s) ${Object.keys(rest).join(', ')} (expected queues)`);
  if (queues === undefined) return {};
  if (queues === null || typeof queues !== 'object' || Array.isArray(queues)) {
    throw new TypeError(`throttle.queues must be an object keyed by queue name, got ${JSON.stringify(queues)}`);
  }
  for (const [queue, rate] of Object.entries(queues)) {
    if (queue === '' || /[*?[\]!,]/.test(queue)) throw new RangeError(`throttle.queues: '${queue}' is not a literal queue name`);
    checkThrottleRate(`throttle.queues.${queue}`, rate);
  }
  return { queues: queues as Record<string, ThrottleRate> };
}

/** `throttle:class:<class>`: the sliding-window log (ZSET, score = claim time in ms) of a throttled class. */
export function classRateKey(keys: ResqueKeys, className: string): string {
  return keys.key(`throttle:class:${className}`);
}

/** `throttle:queue:<queue>`: the sliding-window log of a throttled queue. */
export function queueRateKey(keys: ResqueKeys, queue: string): string {
  return keys.key(`throttle:queue:${queue}`);
}

/** `throttle:running:<class>`: the holders (ZSET `<workerId>|<sha1 of payload>`, score = jobs held) of a capped class. */
export function classRunningKey(keys: ResqueKeys, className: string): string {
  return keys.key(`throttle:running:${className}`);
}

/** A concurrency slot's holder member: `<workerId>|<sha1 of the raw payload>` (the Lua side computes the same). */
export function holderMember(workerId: string, raw: string): string {
  return `${workerId}|${createHash('sha1').update(raw, 'utf8').digest('hex')}`;
}

/**
 * What the worker scripts need to enforce the throttles of one worker host, compiled once from the job
 * registry and the host's `throttle` option: null when no throttle applies (the scripts then get '' and
 * run their plain path). The claim spec (JSON, decoded in Lua only when non-empty):
 * `{"c":{"<class>":[max, windowMs, rateKey, maxConcurrent, runningKey]},"q":{"<queue key>":[max, windowMs, rateKey]}}`
 * (0/'' where a class has no rate or no cap).
 */
export class ThrottlePlan {
  /** The spec's body without its opening brace: `"c":{…},"q":{…}}` (a release is prepended per call). */
  private readonly body: string;
  private readonly running = new Map<string, string>();
  /** JSON array of every capped class's running key ('' when none): the reconcile scripts' ARGV. */
  readonly runningKeysJson: string;
  readonly throttledQueues: ReadonlySet<string>;
  readonly hasClasses: boolean;

  private constructor(keys: ResqueKeys, classes: ReadonlyMap<string, ClassThrottle>, queues: Record<string, ThrottleRate>) {
    const c: Record<string, [number, number, string, number, string]> = {};
    for (const [name, policy] of classes) {
      const rate = policy.throttle;
      const cap = policy.maxConcurrent ?? 0;
      if (cap > 0) this.running.set(name, classRunningKey(keys, name));
      c[name] = [rate?.max ?? 0, rate ? Math.round(rate.perSeconds * 1000) : 0, rate ? classRateKey(keys, name) : '', cap, this.running.get(name) ?? ''];
    }
    const q: Record<string, [number, number, string]> = {};
    for (const [queue, rate] of Object.entries(queues)) q[keys.queue(queue)] = [rate.max, Math.round(rate.perSeconds * 1000), queueRateKey(keys, queue)];
    this.body = `"c":${JSON.stringify(c)},"q":${JSON.stringify(q)}}`;
    this.runningKeysJson = this.running.size > 0 ? JSON.stringify([...this.running.values()]) : '';
    this.throttledQueues = new Set(Object.keys(queues));
    this.hasClasses = classes.size > 0;
  }

  /** The plan of a host, or null when neither a job class nor the host declares a throttle. */
  static of(keys: ResqueKeys, jobs: ReadonlyArray<{ name: string; options: ClassThrottle }>, options: WorkerThrottleOptions | undefined): ThrottlePlan | null {
    const classes = new Map<string, ClassThrottle>();
    for (const job of jobs) {
      const { throttle, maxConcurrent } = job.options;
      if (throttle !== undefined || maxConcurrent !== undefined) classes.set(job.name, { throttle, maxConcurrent });
    }
    const queues = options?.queues ?? {};
    if (classes.size === 0 && Object.keys(queues).length === 0) return null;
    return new ThrottlePlan(keys, classes, queues);
  }

  /** Whether this plan may hold back a job of `queue` (a class throttle may apply to any queue). */
  appliesTo(queue: string): boolean {
    return this.hasClasses || this.throttledQueues.has(queue);
  }

  /**
   * The concurrency slot a finished/failed job of `className` returns: `[runningKey, member]` as JSON, or
   * null. `'?'` (a payload the codec rejected) is looked up by the payload's `class`, as the claim did.
   */
  releaseOf(className: string, workerId: string, raw: string): string | null {
    const key = this.running.get(className === '?' ? classOfRaw(raw) : className);
    return key === undefined ? null : JSON.stringify([key, holderMember(workerId, raw)]);
  }

  /** The cycle's policy ARGV: the spec with the release of the finished job (`"r"`), or '' when nothing is to do. */
  cycleSpec(claim: number, release: string | null): string {
    if (claim === 0 && release === null) return '';
    return release === null ? `{${this.body}` : `{"r":${release},${this.body}`;
  }
}

/** The `class` of a raw payload the codec rejected, leniently ('' when none). */
function classOfRaw(raw: string): string {
  try {
    const parsed: unknown = JSON.parse(raw);
    const name = parsed !== null && typeof parsed === 'object' ? (parsed as Record<string, unknown>)['class'] : undefined;
    return typeof name === 'string' ? name : '';
  } catch {
    return '';
  }
}

/**
 * The testing module's throttles (in memory, one process): the same sliding window per class as the worker
 * scripts, on `now()` (Date.now by default, so fake timers move it), and a count of the jobs of each capped
 * class running now. Queue throttles are a worker option, so the testing module has none.
 */
export class MemoryThrottle {
  private readonly claims = new Map<string, number[]>();
  private readonly running = new Map<string, number>();

  constructor(
    private readonly policyOf: (className: string) => ClassThrottle | undefined,
    private readonly now: () => number = () => Date.now(),
  ) {}

  /** Whether a job of `className` may start now (its rate window has room and its cap a free slot). */
  mayRun(className: string): boolean {
    const policy = this.policyOf(className);
    if (!policy) return true;
    const rate = policy.throttle;
    if (rate && this.recent(className, rate).length >= rate.max) return false;
    return policy.maxConcurrent === undefined || (this.running.get(className) ?? 0) < policy.maxConcurrent;
  }

  /** A job of `className` starts: one claim in its window, one slot taken; returns the release. */
  take(className: string): () => void {
    const policy = this.policyOf(className);
    if (!policy) return () => undefined;
    if (policy.throttle) this.claims.set(className, [...this.recent(className, policy.throttle), this.now()]);
    if (policy.maxConcurrent === undefined) return () => undefined;
    this.running.set(className, (this.running.get(className) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.running.set(className, (this.running.get(className) ?? 1) - 1);
    };
  }

  clear(): void {
    this.claims.clear();
    this.running.clear();
  }

  private recent(className: string, rate: ThrottleRate): number[] {
    const since = this.now() - rate.perSeconds * 1000;
    return (this.claims.get(className) ?? []).filter((at) => at > since);
  }
}

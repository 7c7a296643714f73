import type { DecodedJob, ResqueProgress } from '../protocol/index.js';

/** A job being enqueued (beforeEnqueue / afterEnqueue); members in php-resque's order: class, args, queue, id. */
export interface EnqueueEvent {
  className: string;
  /** The payload's `args` (php's `[params]`). */
  args: unknown[];
  queue: string;
  id: string;
  params: unknown;
  /** The `@Job` class when enqueued through one, null for a job-name string. */
  jobClass: Function | null;
  tracked: boolean;
}

/** A worker starting (beforeFirstFork). */
export interface WorkerEvent {
  workerId: string;
  queues: string[];
  pid: number;
}

/** A job around its run (beforeFork, afterFork, beforePerform, afterPerform). */
export interface JobEvent {
  workerId: string;
  queue: string;
  className: string;
  args: unknown[];
  params: unknown;
  id: string | null;
  job: DecodedJob;
}

export interface AfterPerformEvent extends JobEvent {
  result: unknown;
}

export interface FailureEvent extends JobEvent {
  error: unknown;
}

/** A failed attempt the retry policy retries (onRetry), emitted by the process that recorded the outcome. */
export interface RetryEvent extends JobEvent {
  /** The attempt that failed (1 = the first run). */
  attempt: number;
  /** Seconds until the retry (0: re-enqueued at once; else in the delayed queue). */
  delay: number;
  error: unknown;
}

/** A running job's `ctx.progress(value)` (onProgress): every call, also those the status write coalesced. */
export interface ProgressEvent extends JobEvent {
  progress: ResqueProgress;
}

/**
 * A worker slot found every non-empty queue's head throttled (onThrottled; policy: throttle) and waits:
 * `waitMs` until the first rate window frees, or null when only a concurrency cap held it back.
 */
export interface ThrottledEvent {
  workerId: string;
  queues: string[];
  waitMs: number | null;
}

/** A delayed job being scheduled (beforeSchedule, afterSchedule): php's afterSchedule order at, queue, class, args. */
export interface ScheduleEvent {
  /** Unix seconds the job is due. */
  at: number;
  queue: string;
  className: string;
  args: unknown[];
  params: unknown;
}

/** The scheduler moving a due delayed item to its queue (php's order queue, class, args). */
export interface DelayedEnqueueEvent {
  queue: string;
  className: string;
  args: unknown[];
  params: unknown;
  /** The delayed item as stored in `delayed:<ts>`. */
  raw: string;
  at: number;
}

export interface ResqueEventMap {
  beforeFirstFork: WorkerEvent;
  beforeFork: JobEvent;
  afterFork: JobEvent;
  beforePerform: JobEvent;
  afterPerform: AfterPerformEvent;
  onFailure: FailureEvent;
  onProgress: ProgressEvent;
  onRetry: RetryEvent;
  onThrottled: ThrottledEvent;
  beforeEnqueue: EnqueueEvent;
  afterEnqueue: EnqueueEvent;
  beforeSchedule: ScheduleEvent;
  afterSchedule: ScheduleEvent;
  beforeDelayedEnqueue: DelayedEnqueueEvent;
}

export type ResqueEventName = keyof ResqueEventMap;

export const RESQUE_EVENT_NAMES: readonly ResqueEventName[] = [
  'beforeFirstFork',
  'beforeFork',
  'afterFork',
  'beforePerform',
  'afterPerform',
  'onFailure',
  'onProgress',
  'onRetry',
  'onThrottled',
  'beforeEnqueue',
  'afterEnqueue',
  'beforeSchedule',
  'afterSchedule',
  'beforeDelayedEnqueue',
];

/** A listener or subscriber error, reported on `errors$` instead of breaking the emitter. */
export interface ResqueEventError {
  event: ResqueEventName;
  error: unknown;
  payload: unknown;
}

/**
 * A php-style listener (Resque_Event::listen, or an `@OnResqueEvent()` method): may be async. It vetoes by
 * throwing the event's Do-Not error (DoNotCreateError for beforeEnqueue, DoNotPerformError for
 * beforePerform, DoNotScheduleError for beforeSchedule); what it returns is ignored.
 */
export type ResqueEventListener<K extends ResqueEventName> = (payload: ResqueEventMap[K]) => void | Promise<void>;

import type { JobClass } from '../decorators/decorators.types.js';
import { resolveJobName } from '../jobs/job.name.js';
import { uniqueLockOf, type UniqueLock, type UniqueOptions } from '../policies/policy.unique.js';
import { assertJsonSafe } from '../protocol/index.js';
import { cronTiming, everyTiming, parseEvery, splitCronZone, type ScheduleTiming } from './scheduler.cron.js';
import type { RecurringScheduleConfig } from './scheduler.types.js';

/** Turns `job` (a name or a @Job class) into the job name and its declared default queue. */
export type JobNameResolver = (job: string | JobClass, what: string) => { name: string; queue?: string; unique?: UniqueOptions };

/** A schedule ready to fire. */
export interface ResolvedSchedule {
  readonly name: string;
  readonly className: string;
  readonly queue: string;
  /** The fired job's args (Ruby's enqueue_from_config: a Hash `args` becomes `[args]`). */
  readonly args: unknown[];
  readonly timing: ScheduleTiming;
  readonly catchUp: boolean;
  /** Where it was declared: module options / @Job (this process only) or `persistent_schedules` (shared). */
  readonly source: 'static' | 'persistent';
  /** Ruby's stored config shape (what `persistent_schedules` holds for it). */
  readonly config: Record<string, unknown>;
  /** Changes when the config changes (to recompute the next tick). */
  readonly fingerprint: string;
  /** unique: the lock each firing takes when the job class declares `unique` (a tick it finds held is skipped). */
  readonly unique?: UniqueLock | null;
}

/** A name string as is, or a class named by its @Job (with its declared queue): resolveJobName. */
export const nameOnlyResolver: JobNameResolver = (job, what) => {
  const { className, options } = resolveJobName(job, `${what}: job`);
  return { name: className, queue: options?.queue, unique: options?.unique };
};

/**
 * Validates a schedule and turns it into Ruby's config shape plus its timing. Throws TypeError /
 * RangeError naming the schedule before anything is stored or fired.
 */
export function resolveSchedule(
  name: string,
  input: RecurringScheduleConfig,
  source: ResolvedSchedule['source'],
  resolveJob: JobNameResolver = nameOnlyResolver,
): ResolvedSchedule {
  if (typeof name !== 'string' || name === '') throw new TypeError('schedule name must be a non-empty string');
  const what = `schedule "${name}"`;
  if (!input || typeof input !== 'object' || Array.isArray(input)) throw new TypeError(`${what} must be a config object`);
  const { cron, every, job, class: klass, queue, args, params, timezone, catchUp, description, persist: _persist, ...extra } = input;
  if ((cron === undefined) === (every === undefined)) throw new TypeError(`${what} needs exactly one of "cron" or "every"`);
  const target = scheduleTarget(what, job, klass, queue, resolveJob);
  checkScheduleFields(what, { timezone, catchUp, args, params, extra });
  const { timing, config } = scheduleTiming(what, cron, every, timezone);
  config['class'] = target.className;
  config['queue'] = target.queue;
  // `params` is always one argument: stored as Ruby args that yield [params].
  const rubyArgs = params !== undefined ? (isPlainObject(params) ? params : [params]) : args;
  if (rubyArgs !== undefined) config['args'] = rubyArgs;
  if (description !== undefined) config['description'] = description;
  if (catchUp) config['catchUp'] = true;
  Object.assign(config, extra);

  return {
    name,
    className: target.className,
    queue: target.queue,
    args: jobArgs(rubyArgs),
    timing,
    catchUp: catchUp === true,
    source,
    config,
    fingerprint: JSON.stringify(config),
    unique: uniqueLockOf(target.className, target.unique, jobArgs(rubyArgs)[0] ?? null), // unique: the key runs here, not at a tick
  };
}

/** The job a schedule fires (`job`, a name or @Job class, or Ruby's `class`) and its queue. */
function scheduleTarget(
  what: string,
  job: RecurringScheduleConfig['job'],
  klass: unknown,
  queue: unknown,
  resolveJob: JobNameResolver,
): { className: string; queue: string; unique?: UniqueOptions } {
  let className: string;
  let declaredQueue: string | undefined;
  let unique: UniqueOptions | undefined;
  if (job !== undefined) {
    if (klass !== undefined) throw new TypeError(`${what} has both "job" and "class"; give one`);
    ({ name: className, queue: declaredQueue, unique } = resolveJob(job, what));
  } else if (typeof klass === 'string' && klass !== '') className = klass;
  else throw new TypeError(`${what} needs "class" (the job name) or "job"`);
  const queueName = queue ?? declaredQueue;
  if (typeof queueName !== 'string' || queueName === '') {
    throw new TypeError(`${what} needs a "queue" (non-empty string; a @Job queue option also works)`);
  }
  return { className, queue: queueName, unique };
}

/** The optional fields: typed as documented, args/params exclusive, everything stored JSON-safe. */
function checkScheduleFields(what: string, fields: { timezone: unknown; catchUp: unknown; args: unknown; params: unknown; extra: object }): void {
  const { timezone, catchUp, args, params, extra } = fields;
  if (timezone !== undefined && (typeof timezone !== 'string' || timezone === '')) {
    throw new TypeError(`${what}: timezone must be a non-empty IANA zone name`);
  }
  if (catchUp !== undefined && typeof catchUp !== 'boolean') throw new TypeError(`${what}: catchUp must be a boolean`);
  if (args !== undefined && params !== undefined) throw new TypeError(`${what} has both "args" and "params"; give one`);
  if (args !== undefined) assertJsonSafe(args, `${what} args`);
  if (params !== undefined) assertJsonSafe(params, `${what} params`);
  assertJsonSafe(extra, `${what}`);
}

/** `cron` or `every` (exactly one is set): the timing, and the config's start with it in Ruby's shape. */
function scheduleTiming(
  what: string,
  cron: unknown,
  every: RecurringScheduleConfig['every'],
  timezone: string | undefined,
): { timing: ScheduleTiming; config: Record<string, unknown> } {
  if (cron !== undefined) {
    if (typeof cron !== 'string' || cron.trim() === '') throw new TypeError(`${what}: cron must be a non-empty string`);
    const timing = cronTiming(cron, timezone, what);
    // rufus reads the zone from the cron line, so that is where Ruby's scheduler finds ours.
    const line = timezone !== undefined && splitCronZone(cron).timezone === undefined ? `${cron.trim()} ${timezone}` : cron;
    return { timing, config: { cron: line } };
  }
  const period: unknown = Array.isArray(every) ? every[0] : every;
  if (typeof period !== 'string') throw new TypeError(`${what}: every must be a duration string or [duration, options]`);
  return { timing: everyTiming(parseEvery(period, `${what} every`)), config: { every } };
}

/** Ruby's enqueue_from_config: nil → no args, an Array is spread, anything else is one argument. */
export function jobArgs(args: unknown): unknown[] {
  if (args === undefined || args === null) return [];
  return Array.isArray(args) ? args : [args];
}

/** Reads a `persistent_schedules` value (Ruby's or ours); throws naming the schedule when unusable. */
export function parseStoredSchedule(name: string, json: string): ResolvedSchedule {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch (error) {
    throw new TypeError(`schedule "${name}" in persistent_schedules is not JSON (${(error as Error).message})`, { cause: error });
  }
  return resolveSchedule(name, parsed as RecurringScheduleConfig, 'persistent');
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

import { readJobName } from '../decorators/decorators.metadata.js';
import type { JobClass, JobOptions } from '../decorators/decorators.types.js';

/** What a `job` argument stands for: the payload's `class`, and the `@Job` class with its options when one was given. */
export interface ResolvedJobName {
  readonly className: string;
  readonly jobClass: JobClass | null;
  /** The class's `@Job` options (track, queue, …); undefined for a name string. */
  readonly options: JobOptions | undefined;
}

/**
 * The one job-name resolution of the library (enqueue, bulk, delayed jobs, schedules, the registry): a
 * non-empty name string, or a class named by its own `@Job` (registered as a provider or not, since
 * producers may enqueue jobs they do not run). TypeError / RangeError naming `argumentName` otherwise.
 */
export function resolveJobName(job: unknown, argumentName = 'job'): ResolvedJobName {
  if (typeof job === 'function') {
    const meta = readJobName(job);
    if (!meta) {
      throw new TypeError(`${argumentName} must be a job name string or a @Job() class; class ${job.name || '<anonymous>'} has no @Job()`);
    }
    return { className: meta.name, jobClass: job as JobClass, options: meta.options };
  }
  assertJobName(job, argumentName);
  return { className: job, jobClass: null, options: undefined };
}

/** A job class name as it goes in `class`: a non-empty string. */
export function assertJobName(name: unknown, argumentName = 'job'): asserts name is string {
  if (typeof name !== 'string') throw new TypeError(`${argumentName} must be a job name string or a @Job() class, got ${typeName(name)}`);
  if (name.trim() === '') throw new RangeError(`${argumentName} must be a non-empty job name`);
}

/** How argument errors name a value's type (`null`, `an array`, `function f`, `number`, …). */
export function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'function') return `function ${value.name || '<anonymous>'}`;
  return typeof value;
}

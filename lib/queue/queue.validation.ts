import { typeName } from '../jobs/job.name.js';
import { assertJsonSafe } from '../protocol/index.js';

/** A queue name: a non-empty string without ',' (worker QUEUE lists are comma-separated). */
export function assertQueueName(queue: unknown, argumentName = 'queue'): asserts queue is string {
  if (typeof queue !== 'string') throw new TypeError(`${argumentName} must be a string, got ${typeName(queue)}`);
  if (queue.trim() === '') throw new RangeError(`${argumentName} must be a non-empty queue name`);
  if (queue.includes(',')) throw new RangeError(`${argumentName} "${queue}" must not contain ',' (workers split queue lists on it)`);
}

/** Params as stored in `args[0]`: omitted/undefined becomes null (php's default), the rest must survive JSON. */
export function normalizeParams(params: unknown, argumentName = 'params'): unknown {
  if (params === undefined) return null;
  assertJsonSafe(params, argumentName);
  return params;
}

export function assertJobId(id: unknown, argumentName = 'id'): asserts id is string {
  if (typeof id !== 'string') throw new TypeError(`${argumentName} must be a job id string, got ${typeName(id)}`);
  if (id === '') throw new RangeError(`${argumentName} must be a non-empty job id`);
}

export function assertOptions(options: unknown, argumentName = 'options'): void {
  if (options === undefined) return;
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new TypeError(`${argumentName} must be an object, got ${typeName(options)}`);
  }
  const track = (options as Record<string, unknown>)['track'];
  if (track !== undefined && typeof track !== 'boolean') throw new TypeError(`${argumentName}.track must be a boolean`);
}

export function assertIndex(value: unknown, argumentName: string, min: number): asserts value is number {
  if (typeof value !== 'number' || !Number.isInteger(value)) throw new TypeError(`${argumentName} must be an integer, got ${typeName(value)}`);
  if (value < min) throw new RangeError(`${argumentName} must be >= ${min}, got ${value}`);
}

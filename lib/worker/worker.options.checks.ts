/** Validators for worker options: each throws naming the option and the value it got. */

export function positiveInteger(name: string, value: unknown): void {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw new RangeError(`${name} must be a positive integer, got ${String(value)}`);
  }
}

export function nonNegativeInteger(name: string, value: unknown): void {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`${name} must be a non-negative integer, got ${String(value)}`);
  }
}

/** A finite number of seconds above 0 (fractions allowed). */
export function positiveSeconds(name: string, value: unknown): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new RangeError(`${name} must be a positive number of seconds, got ${String(value)}`);
  }
}

export function nonNegativeNumber(name: string, value: unknown): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new RangeError(`${name} must be a number of milliseconds >= 0, got ${String(value)}`);
  }
}

export function positiveNumber(name: string, value: unknown): void {
  if (typeof value !== 'number' || Number.isNaN(value) || value <= 0) {
    throw new RangeError(`${name} must be a positive number, got ${String(value)}`);
  }
}

/** One of two policy names (`'fail' or 'requeue'`); the value may come from an untyped caller. */
export function oneOf<T extends string>(name: string, value: T, allowed: readonly [T, T]): T {
  const [first, second] = allowed;
  if (value !== first && value !== second) throw new RangeError(`${name} must be '${first}' or '${second}', got ${String(value)}`);
  return value;
}

/** QUEUE or `queues`: a comma list or an array of non-empty names, trimmed. */
export function queueNames(input: string[] | string | undefined): string[] {
  if (input === undefined) throw new TypeError('queues is required (e.g. { queues: ["default"] } or QUEUE=default)');
  const queues = (typeof input === 'string' ? input.split(',') : input).map((q) => {
    if (typeof q !== 'string' || q.trim() === '') throw new TypeError('queues must be non-empty queue names');
    return q.trim();
  });
  if (queues.length === 0) throw new TypeError('queues must name at least one queue');
  return queues;
}

/** The host part of worker ids: `:` separates an id's parts. */
export function hostPart(chosen: unknown): string {
  if (typeof chosen !== 'string' || chosen === '' || chosen.includes(':')) {
    throw new TypeError(`hostname must be a non-empty string without ':', got ${JSON.stringify(chosen)}`);
  }
  return chosen;
}

import type { DecodedJob } from './protocol.payload.js';

/**
 * php-resque's `Resque::dequeue` selectors (resque-protocol.md §5, fixture php-dequeue):
 * - `'C'`: every job of class C;
 * - `{ C: '<id>' }`: the job of class C with that id;
 * - `{ C: { ...values } }` (or an array of values): jobs of class C whose non-empty `args[0]` has every
 *   value among the selector's values. Keys are ignored, as in PHP.
 * We match the decoded payload, so PHP's `\/` escapes and Ruby's raw bytes compare equal. One deliberate
 * difference: nested arrays/objects compare structurally, where PHP compares them as the string "Array".
 */
export type DequeueSelector = string | Record<string, string | readonly unknown[] | Record<string, unknown>>;

/** Validates selector shapes; throws TypeError naming the bad element (before anything touches Redis). */
export function assertSelectors(selectors: unknown, argumentName = 'selectors'): asserts selectors is DequeueSelector[] {
  if (!Array.isArray(selectors)) throw new TypeError(`${argumentName} must be an array of selectors`);
  selectors.forEach((selector: unknown, i) => {
    const at = `${argumentName}[${i}]`;
    if (typeof selector === 'string') {
      if (selector === '') throw new TypeError(`${at} must be a non-empty class name`);
      return;
    }
    if (!selector || typeof selector !== 'object' || Array.isArray(selector)) {
      throw new TypeError(`${at} must be a class name or an object { ClassName: id | args }`);
    }
    const entries = Object.entries(selector as Record<string, unknown>);
    if (entries.length === 0) throw new TypeError(`${at} must name at least one class`);
    for (const [className, value] of entries) {
      if (typeof value === 'string') continue;
      if (value && typeof value === 'object') continue;
      throw new TypeError(`${at}.${className} must be a job id string or an args object/array`);
    }
  });
}

export function matchesAnySelector(job: DecodedJob, selectors: readonly DequeueSelector[]): boolean {
  return selectors.some((selector) => matchesSelector(job, selector));
}

export function matchesSelector(job: DecodedJob, selector: DequeueSelector): boolean {
  if (typeof selector === 'string') return job.className === selector;
  for (const [className, value] of Object.entries(selector)) {
    if (job.className !== className) continue;
    if (typeof value === 'string') {
      if (job.id !== null && job.id === value) return true;
      continue;
    }
    if (argsMatch(job.args[0], value)) return true;
  }
  return false;
}

function argsMatch(first: unknown, wanted: readonly unknown[] | Record<string, unknown>): boolean {
  // PHP: (array)$decoded['args'][0], count > 0, array_diff(jobValues, selectorValues) is empty.
  const jobValues = valuesOf(first);
  if (jobValues.length === 0) return false;
  const wantedValues = valuesOf(wanted).map(comparable);
  return jobValues.every((v) => wantedValues.includes(comparable(v)));
}

function valuesOf(value: unknown): unknown[] {
  if (value === null || value === undefined) return [];
  if (Array.isArray(value)) return value;
  if (typeof value === 'object') return Object.values(value as Record<string, unknown>);
  return [value]; // PHP's (array) cast of a scalar
}

/** PHP compares array_diff values as strings: 1 == "1", true == "1", null == "". */
function comparable(value: unknown): string {
  if (value === null || value === undefined || value === false) return 's:';
  if (value === true) return 's:1';
  if (typeof value === 'object') return `j:${canonicalJson(value)}`;
  // eslint-disable-next-line @typescript-eslint/no-base-to-string -- objects were handled above
  return `s:${String(value)}`;
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const keys = Object.keys(value).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

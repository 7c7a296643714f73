import { createHash } from 'node:crypto';
import type { ResquePayload } from '../protocol/index.js';
import type { RetryBackoff, RetryErrorClass, RetryOverride, RetryPolicy, RetryVerdict } from './policy.retry.types.js';

/** Payload key (ours, ignored by Ruby and php): the attempt this run is, 1 = first; set by our retries. */
export const RETRY_ATTEMPT_KEY = 'retry_attempt';
/** Payload key (ours): a per-enqueue override of the class's retry policy (`limit`, `backoff`; -1 = Infinity). */
export const RETRY_OVERRIDE_KEY = 'retry';
/** Default seconds the counter outlives the wait that set it. */
export const RETRY_KEY_TTL_SECONDS = 86_400;

/** Throws a TypeError/RangeError naming what is wrong with a `retry` policy (at decoration, before anything runs). */
export function assertRetryPolicy(policy: unknown, where: string): asserts policy is RetryPolicy {
  if (!policy || typeof policy !== 'object' || Array.isArray(policy)) throw new TypeError(`${where} must be an object { limit, backoff?, on? }`);
  const p = policy as Record<string, unknown>;
  assertLimit(p['limit'], `${where}.limit`);
  if (p['backoff'] !== undefined) assertBackoff(p['backoff'], `${where}.backoff`, true);
  const on = p['on'];
  if (on !== undefined && typeof on !== 'function') {
    if (!Array.isArray(on) || on.length === 0 || !on.every((c) => typeof c === 'function')) {
      throw new TypeError(`${where}.on must be a non-empty array of error classes or a predicate (error) => boolean`);
    }
  }
  if (p['identifier'] !== undefined && typeof p['identifier'] !== 'function') throw new TypeError(`${where}.identifier must be a function (args) => string`);
  const ttl = p['keyTtlSeconds'];
  if (ttl !== undefined && (typeof ttl !== 'number' || !Number.isInteger(ttl) || ttl < 1)) throw new RangeError(`${where}.keyTtlSeconds must be a positive integer`);
}

/** Checks an enqueue's `retry` override (JSON only: no functions); throws before anything is written. */
export function assertRetryOverride(value: unknown, where: string): asserts value is RetryOverride {
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw new TypeError(`${where} must be an object { limit?, backoff? }`);
  const o = value as Record<string, unknown>;
  for (const key of Object.keys(o)) if (key !== 'limit' && key !== 'backoff') throw new RangeError(`${where}.${key} is not an enqueue option (only limit and backoff)`);
  if (o['limit'] !== undefined) assertLimit(o['limit'], `${where}.limit`);
  if (o['backoff'] !== undefined) assertBackoff(o['backoff'], `${where}.backoff`, false);
}

function assertLimit(limit: unknown, where: string): void {
  const ok = typeof limit === 'number' && (limit === Infinity || (Number.isInteger(limit) && limit >= 0));
  if (!ok) throw new RangeError(`${where} must be an integer >= 0 or Infinity, got ${String(limit)}`);
}

function assertBackoff(backoff: unknown, where: string, functions: boolean): void {
  if (typeof backoff === 'function') {
    if (functions) return;
    throw new TypeError(`${where} cannot be a function here (it travels in the payload as JSON)`);
  }
  if (typeof backoff === 'number') return assertSeconds(backoff, where);
  if (Array.isArray(backoff)) {
    if (backoff.length === 0) throw new RangeError(`${where} must not be an empty array`);
    backoff.forEach((s, i) => assertSeconds(s, `${where}[${i}]`));
    return;
  }
  const exp = (backoff as { exponential?: unknown } | null)?.exponential;
  if (!exp || typeof exp !== 'object') throw new TypeError(`${where} must be seconds, an array of seconds, { exponential: { base, factor?, max? } }${functions ? ' or a function' : ''}`);
  const { base, factor, max } = exp as Record<string, unknown>;
  assertSeconds(base, `${where}.exponential.base`);
  if (factor !== undefined && (typeof factor !== 'number' || !Number.isFinite(factor) || factor < 1)) throw new RangeError(`${where}.exponential.factor must be a number >= 1`);
  if (max !== undefined) assertSeconds(max, `${where}.exponential.max`);
}

function assertSeconds(value: unknown, where: string): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) throw new RangeError(`${where} must be a finite number of seconds >= 0, got ${String(value)}`);
}

/** The policy a run follows: the class's, with the payload's per-enqueue override (if any) on top. */
export function effectivePolicy(policy: RetryPolicy | undefined, payload: ResquePayload): RetryPolicy | undefined {
  const override = payload[RETRY_OVERRIDE_KEY];
  if (!override || typeof override !== 'object' || Array.isArray(override)) return policy;
  const o = override as { limit?: unknown; backoff?: unknown };
  const limit = typeof o.limit === 'number' ? (o.limit < 0 ? Infinity : o.limit) : (policy?.limit ?? 0);
  const backoff = (o.backoff ?? policy?.backoff) as RetryBackoff | undefined;
  return { ...policy, limit, backoff };
}

/** Where the class's policy is found: an application's job registry (structurally: name → `@Job` options). */
export interface RetryPolicySource {
  get(className: string): { options: { retry?: RetryPolicy } } | undefined;
}

/** The policy a payload runs under in an application (its class's, with the payload's override), if any. */
export function retryPolicyIn(source: RetryPolicySource, className: string, payload: ResquePayload): RetryPolicy | undefined {
  return effectivePolicy(source.get(className)?.options.retry, payload);
}

/** The override as stored in the payload (Infinity is not JSON: -1). */
export function encodeRetryOverride(override: RetryOverride): string {
  const limit = override.limit === Infinity ? -1 : override.limit;
  return JSON.stringify({ limit, backoff: override.backoff });
}

/** A payload or delayed item (JSON object text) with the encoded override as its extra `retry` member. */
export function withRetryOverride(json: string, encoded: string | undefined): string {
  return encoded === undefined ? json : `${json.slice(0, -1)},"${RETRY_OVERRIDE_KEY}":${encoded}}`;
}

/** `ctx.attempt` of a payload: our stamp, else 1 (a first run, or a retry Ruby re-enqueued without it). */
export function attemptOf(payload: ResquePayload): number {
  const n = payload[RETRY_ATTEMPT_KEY];
  return typeof n === 'number' && Number.isInteger(n) && n >= 1 ? n : 1;
}

/**
 * Decides for a failed attempt (1-based) where the error is: retryable by `on`, and the wait for the retry
 * that would follow (resque-retry indexes its backoff by the retries already made: attempt - 1). Whether the
 * limit allows it is decided by the counter in Redis, in the outcome's script.
 */
export function retryVerdict(policy: RetryPolicy, attempt: number, error: Error): RetryVerdict {
  if (policy.limit === 0 || !matches(policy, error)) return { retry: false, delay: 0 };
  return { retry: true, delay: delayOf(policy.backoff, attempt, error) };
}

function matches(policy: RetryPolicy, error: Error): boolean {
  const on: unknown = policy.on;
  if (on === undefined) return true;
  if (!Array.isArray(on)) return (on as (e: Error) => boolean)(error) === true;
  // By name too: an error rebuilt from IPC, or made by the worker parent, is not an instance of the class.
  const name = error.name;
  return (on as RetryErrorClass[]).some((c) => c.name === name || error instanceof c);
}

function delayOf(backoff: RetryBackoff | undefined, attempt: number, error: Error): number {
  let seconds: number;
  if (backoff === undefined) seconds = 0;
  else if (typeof backoff === 'number') seconds = backoff;
  else if (typeof backoff === 'function') seconds = Number(backoff(attempt, error));
  else if (isArray(backoff)) seconds = backoff[Math.min(attempt - 1, backoff.length - 1)] ?? 0;
  else {
    const { base, factor = 2, max = Infinity } = backoff.exponential;
    seconds = Math.min(max, base * factor ** (attempt - 1));
  }
  // Whole seconds: the delayed queue is keyed by unix seconds. A bad function result means "at once".
  return Number.isFinite(seconds) && seconds > 0 ? Math.ceil(seconds) : 0;
}

function isArray(value: unknown): value is readonly number[] {
  return Array.isArray(value);
}

/**
 * The counter key `resque-retry:<class>:<identifier>` (namespaced like every key), whitespace removed as
 * resque-retry does. Identifier: the policy's, else SHA1 of `args.join('-')` (Ruby's join, exact for strings,
 * integers, booleans, null and arrays of those), else SHA1 of the canonical JSON of args (Ruby's Hash#to_s
 * cannot be reproduced); no identifier for empty args, as resque-retry.
 */
export function retryCounterKey(prefix: string, className: string, args: readonly unknown[], policy: RetryPolicy): string {
  const identifier = policy.identifier ? policy.identifier(args) : defaultIdentifier(args);
  const key = identifier === null ? `resque-retry:${className}` : `resque-retry:${className}:${identifier}`;
  return prefix + key.replace(/\s/g, '');
}

function defaultIdentifier(args: readonly unknown[]): string | null {
  const joined = rubyJoin(args);
  const text = joined ?? canonicalJson(args);
  return text === '' ? null : createHash('sha1').update(text).digest('hex');
}

/** Ruby's Array#join('-') for the values whose to_s we reproduce exactly; null otherwise. */
function rubyJoin(values: readonly unknown[]): string | null {
  const parts: string[] = [];
  for (const v of values) {
    if (v === null) parts.push('');
    else if (typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isSafeInteger(v))) parts.push(String(v));
    else if (Array.isArray(v)) {
      const inner = rubyJoin(v);
      if (inner === null) return null;
      parts.push(inner);
    } else return null;
  }
  return parts.join('-');
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const record = value as Record<string, unknown>;
    return `{${Object.keys(record).sort().map((k) => `${JSON.stringify(k)}:${canonicalJson(record[k])}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/**
 * What a retry pushes, without its closing brace: the payload (minus our old attempt stamp) for an immediate
 * retry, or resque-scheduler's item `{"class","args","queue"}` plus our keys for a delayed one. The script
 * appends `,"retry_attempt":<n>}` with the attempt number the counter gives.
 */
export function retryBody(payload: ResquePayload, queue: string, delayed: boolean): string {
  let body: Record<string, unknown>;
  if (delayed) {
    body = { class: payload.class, args: payload.args, queue };
    // Kept so our scheduler's promotion restores them (Ruby's ignores extra keys).
    if (payload.id !== undefined) body['id'] = payload.id;
    if (payload.prefix !== undefined) body['prefix'] = payload.prefix;
    if (payload[RETRY_OVERRIDE_KEY] !== undefined) body[RETRY_OVERRIDE_KEY] = payload[RETRY_OVERRIDE_KEY];
  } else {
    body = { ...payload };
    delete body[RETRY_ATTEMPT_KEY];
  }
  const json = JSON.stringify(body);
  return json.slice(0, -1);
}

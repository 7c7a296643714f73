import type { ResqueEvents } from '../events/events.service.js';
import { attemptOf, retryBody, retryCounterKey, retryVerdict, RETRY_ATTEMPT_KEY } from '../policies/policy.retry.js';
import { decodePayload, type DecodedJob } from '../protocol/index.js';
import type { JobRunner } from '../worker/worker.job-runner.js';
import type { JobOutcome } from '../worker/worker.types.js';

/** The testing queue gives up a retried job after this many attempts, whatever its limit. */
const MAX_ATTEMPTS = 1000;

/** What the testing queue does after a failed attempt under a retry policy. */
export type MemoryRetry =
  | { kind: 'retry'; raw: string }
  /** Given up (or not retryable): recorded with the attempts made. */
  | { kind: 'record'; attempts: number | null };

/**
 * The retry policy in the testing module: resque-retry's counter, kept in memory with the same rules as the
 * worker's script (value = retries made before this attempt; give up at value >= limit). Waits are not
 * slept: the retry is queued at once (inline: performed at once), and onRetry reports the wait a worker
 * would have used.
 */
export class MemoryRetries {
  private readonly counters = new Map<string, number>();

  constructor(private readonly events: ResqueEvents) {}

  /** After an attempt failed: retry it (the next attempt's payload), or record it. */
  async failed(runner: JobRunner, raw: string, queue: string, workerId: string, outcome: JobOutcome & { kind: 'failed' }): Promise<MemoryRetry> {
    const decoded = tryDecode(raw);
    const policy = decoded ? runner.retryPolicyOf(decoded) : undefined;
    if (!decoded || !policy) return { kind: 'record', attempts: null };
    const attempt = attemptOf(decoded.payload);
    const error = Object.assign(new Error(outcome.error), { name: outcome.exception });
    const verdict = outcome.retry ?? retryVerdict(policy, attempt, error);
    const key = retryCounterKey('', decoded.className, decoded.args, policy);
    const value = (this.counters.get(key) ?? -1) + 1;
    const limit = !verdict.retry ? 0 : policy.limit;
    // `limit: Infinity` with a job that always fails must not loop forever in a test: give up at MAX_ATTEMPTS.
    if (value >= limit || value + 2 > MAX_ATTEMPTS) {
      this.counters.delete(key);
      return { kind: 'record', attempts: value + 1 };
    }
    this.counters.set(key, value);
    const next = `${retryBody(decoded.payload, queue, false)},"${RETRY_ATTEMPT_KEY}":${value + 2}}`;
    if (this.events.hasListeners('onRetry')) {
      const { className, args, params, id } = decoded;
      await this.events.emitAsync('onRetry', { workerId, queue, className, args, params, id, job: decoded, attempt, delay: verdict.delay, error });
    }
    return { kind: 'retry', raw: next };
  }

  /** A retried job succeeded: its counter goes (resque-retry's clean_retry_key). */
  succeeded(runner: JobRunner, raw: string): void {
    const decoded = tryDecode(raw);
    const policy = decoded ? runner.retryPolicyOf(decoded) : undefined;
    if (decoded && policy) this.counters.delete(retryCounterKey('', decoded.className, decoded.args, policy));
  }

  clear(): void {
    this.counters.clear();
  }
}

function tryDecode(raw: string): DecodedJob | null {
  try {
    return decodePayload(raw);
  } catch {
    return null;
  }
}

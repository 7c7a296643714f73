import { attemptOf, retryBody, retryPolicyIn, retryCounterKey, retryVerdict, RETRY_KEY_TTL_SECONDS } from '../policies/policy.retry.js';
import { decodePayload, type DecodedJob, type ResqueKeys } from '../protocol/index.js';
import type { ResqueJobRegistry } from '../jobs/job.registry.js';
import type { RetryPolicy } from '../policies/policy.retry.types.js';
import type { FailPolicy, RetryWrite } from './worker.store.js';
import type { JobOutcome } from './worker.types.js';

/** The retry policy a run follows (the class's in this app's registry, with the payload's override), if any. */
export type RetryPolicyOf = (decoded: DecodedJob) => RetryPolicy | undefined;

/** RetryPolicyOf from an application's job registry (the worker parent's, or an admin's for pruneNow). */
export function registryRetryPolicyOf(registry: ResqueJobRegistry): RetryPolicyOf {
  return (decoded) => retryPolicyIn(registry, decoded.className, decoded.payload);
}

/** A failure's policy write and what onRetry reports if the script retries it. */
export interface FailurePlan {
  write: FailPolicy;
  /** The attempt that failed (ctx.attempt), the wait of its retry, and the error (rebuilt from the record when the verdict was not taken where the error was). */
  attempt: number;
  delay: number;
  error: Error;
}

/**
 * The policy part of a failed job's write, or null for the plain path (no retry declared, no listener stop):
 * the verdict comes from where the error was (a child's outcome), else is taken here from the record — a
 * dead child, a timeout or an interruption, with an error named after the record's exception.
 */
export function planFailure(policyOf: RetryPolicyOf, keys: ResqueKeys, decoded: DecodedJob | null, queue: string, outcome: JobOutcome & { kind: 'failed' }): FailurePlan | null {
  const policy = decoded ? policyOf(decoded) : undefined;
  if (!policy || !decoded) {
    return outcome.stopRecord ? { write: { stopRecord: true, retry: null }, attempt: 1, delay: 0, error: errorOfRecord(outcome) } : null;
  }
  const attempt = attemptOf(decoded.payload);
  const error = errorOfRecord(outcome);
  const verdict = outcome.retry ?? retryVerdict(policy, attempt, error);
  const limit = !verdict.retry ? 0 : policy.limit === Infinity ? -1 : policy.limit;
  return {
    write: {
      stopRecord: outcome.stopRecord === true,
      retry: {
        key: retryCounterKey(keys.prefix, decoded.className, decoded.args, policy),
        limit,
        delay: verdict.delay,
        ttl: policy.keyTtlSeconds ?? RETRY_KEY_TTL_SECONDS,
        body: retryBody(decoded.payload, queue, verdict.delay > 0),
      },
    },
    attempt,
    delay: verdict.delay,
    error,
  };
}

/** The pruner's retry of a dead worker's job (see WorkerPrunerOptions.retryOf), when this app has its class's policy. */
export function pruneRetryOf(policyOf: RetryPolicyOf, keys: ResqueKeys, raw: string, queue: string, error: Error): RetryWrite | null {
  let decoded: DecodedJob;
  try {
    decoded = decodePayload(raw);
  } catch {
    return null;
  }
  const plan = planFailure(policyOf, keys, decoded, queue, { kind: 'failed', exception: error.name, error: error.message, backtrace: [] });
  return plan?.write.retry ?? null;
}

/** The counter to delete when a job that was retried succeeds (resque-retry's clean_retry_key), else undefined. */
export function retryKeyOnSuccess(policyOf: RetryPolicyOf, keys: ResqueKeys, decoded: DecodedJob): string | undefined {
  // Only a retry of ours (attempt > 1) has a counter to clean: a first run that succeeds costs nothing.
  if (attemptOf(decoded.payload) === 1) return undefined;
  const policy = policyOf(decoded);
  return policy ? retryCounterKey(keys.prefix, decoded.className, decoded.args, policy) : undefined;
}

function errorOfRecord(outcome: JobOutcome & { kind: 'failed' }): Error {
  const error = new Error(outcome.error);
  error.name = outcome.exception;
  return error;
}

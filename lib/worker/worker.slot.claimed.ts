import { heldUniqueOf, type HeldUnique } from '../policies/policy.unique.js';
import { decodePayload, errorMessage, PayloadDecodeError, type DecodedJob, type ResqueKeys } from '../protocol/index.js';
import { jobIdOfRaw } from './worker.slot.log.js';
import { statusKeyOfRaw, type ClaimedJob } from './worker.store.js';
import type { RunnableJob } from './worker.types.js';

/** A claimed job as read before it starts: decoded, or the decode error (its failure is recorded instead). */
export type ReadJob = {
  runnable: RunnableJob;
  statusKey: string | null;
  /** For log lines: `?` and the raw payload's id when it could not be decoded. */
  className: string;
  jobId: string | null;
  /** The unique lock the job holds (from its payload's marker), null for plain jobs. */
  unique: HeldUnique | null;
} & ({ decoded: DecodedJob; decodeError: null } | { decoded: null; decodeError: PayloadDecodeError });

export function readClaimed(keys: ResqueKeys, claimed: ClaimedJob, workerId: string): ReadJob {
  const runnable: RunnableJob = { raw: claimed.raw, queue: claimed.queue, workerId };
  try {
    const decoded = decodePayload(claimed.raw);
    const statusKey = decoded.id === null ? null : keys.status(decoded.id, decoded.prefix);
    const unique = heldUniqueOf(keys, decoded.payload, decoded.id);
    return { runnable, decoded, decodeError: null, statusKey, className: decoded.className, jobId: decoded.id, unique };
  } catch (error) {
    const decodeError = error instanceof PayloadDecodeError ? error : new PayloadDecodeError(errorMessage(error), claimed.raw);
    const statusKey = statusKeyOfRaw(keys, claimed.raw);
    return { runnable, decoded: null, decodeError, statusKey, className: '?', jobId: jobIdOfRaw(claimed.raw), unique: null };
  }
}

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
} & ({ decoded: DecodedJob; decodeError: null } | { decoded: null; decodeError: PayloadDecodeError });

export function readClaimed(keys: ResqueKeys, claimed: ClaimedJob, workerId: string): ReadJob {
  const runnable: RunnableJob = { raw: claimed.raw, queue: claimed.queue, workerId };
  try {
    const decoded = decodePayload(claimed.raw);
    const statusKey = decoded.id === null ? null : keys.status(decoded.id, decoded.prefix);
    return { runnable, decoded, decodeError: null, statusKey, className: decoded.className, jobId: decoded.id };
  } catch (error) {
    const decodeError = error instanceof PayloadDecodeError ? error : new PayloadDecodeError(errorMessage(error), claimed.raw);
    return { runnable, decoded: null, decodeError, statusKey: statusKeyOfRaw(keys, claimed.raw), className: '?', jobId: jobIdOfRaw(claimed.raw) };
  }
}

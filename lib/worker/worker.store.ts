import type { Redis } from 'ioredis';
import {
  type ResqueKeys,
  rubyHeartbeat,
  rubyIsoUtc,
  rubyTimeToS,
  runScript,
  unixSeconds,
} from '../protocol/index.js';
import {
  WORKER_CLAIM_SCRIPT,
  WORKER_CYCLE_SCRIPT,
  WORKER_FAIL_SCRIPT,
  WORKER_HEARTBEAT_SCRIPT,
  WORKER_REGISTER_SCRIPT,
  WORKER_UNREGISTER_SCRIPT,
} from '../protocol/protocol.scripts.worker.js';

/** The previous job's bookkeeping, folded into the next reserve (one round trip per job). */
export interface FinishedJob {
  /** `job:<id>:status` of a tracked-capable job, or null when the payload had no id. */
  statusKey: string | null;
  /** JSON of perform's return value (`null` when none). */
  resultJson: string;
}

export interface ReservedJob {
  queue: string;
  raw: string;
}

/** The worker's Redis writes, one script call each (resque-protocol.md §6–§8). */
export class WorkerStore {
  constructor(
    readonly redis: Redis,
    readonly keys: ResqueKeys,
  ) {}

  /**
   * Finishes `finished` (if any) and reserves the next job from `queues` (if `reserve`). Returns the job,
   * null when the queues were empty, or 'paused' while `pause-all-workers` is 'true'.
   */
  async cycle(
    workerId: string,
    finished: FinishedJob | null,
    queues: readonly string[],
    reserve: boolean,
  ): Promise<ReservedJob | null | 'paused'> {
    const k = this.keys;
    const now = new Date();
    const reply = await runScript<[string, string] | null | 0>(
      this.redis,
      WORKER_CYCLE_SCRIPT,
      [k.worker(workerId), k.statProcessed(), k.statProcessed(workerId), k.pauseAll, ...queues.map((q) => k.queue(q))],
      [
        finished ? '1' : '0',
        unixSeconds(now),
        finished?.resultJson ?? 'null',
        rubyIsoUtc(now),
        k.prefix,
        reserve ? '1' : '0',
        finished?.statusKey ?? '',
        ...queues,
      ],
    );
    if (reply === 0) return 'paused';
    return reply ? { queue: reply[0], raw: reply[1] } : null;
  }

  /** Blocking mode: records the job BLMOVE put in the claim list. */
  async claim(workerId: string, queue: string): Promise<string | null> {
    const now = new Date();
    return runScript<string | null>(
      this.redis,
      WORKER_CLAIM_SCRIPT,
      [this.keys.workerClaim(workerId), this.keys.worker(workerId)],
      [queue, rubyIsoUtc(now), this.keys.prefix, unixSeconds(now)],
    );
  }

  async fail(workerId: string, failureJson: string, statusKey: string | null): Promise<void> {
    const k = this.keys;
    await runScript(
      this.redis,
      WORKER_FAIL_SCRIPT,
      [k.failed, k.statFailed(), k.statFailed(workerId), k.statProcessed(), k.statProcessed(workerId), k.worker(workerId)],
      [failureJson, statusKey ?? '', unixSeconds()],
    );
  }

  async register(workerId: string, startedAt: Date, heartbeatAt: Date): Promise<void> {
    const k = this.keys;
    await runScript(this.redis, WORKER_REGISTER_SCRIPT, [k.workers, k.workerStarted(workerId), k.heartbeats], [
      workerId,
      rubyTimeToS(startedAt),
      rubyHeartbeat(heartbeatAt),
    ]);
  }

  /** Removes every key of the worker; a job still in its claim list goes back to the head of `claimQueue`. */
  async unregister(workerId: string, claimQueue: string | null = null): Promise<number> {
    const k = this.keys;
    return runScript<number>(
      this.redis,
      WORKER_UNREGISTER_SCRIPT,
      [k.workers, k.worker(workerId), k.workerStarted(workerId), k.workerClaim(workerId), k.statProcessed(workerId), k.statFailed(workerId), k.heartbeats],
      [workerId, claimQueue === null ? '' : k.queue(claimQueue)],
    );
  }

  async heartbeat(workerIds: readonly string[], at: Date): Promise<void> {
    if (workerIds.length === 0) return;
    await runScript(this.redis, WORKER_HEARTBEAT_SCRIPT, [this.keys.heartbeats], [rubyHeartbeat(at), ...workerIds]);
  }

  /** Redis TIME: heartbeats are compared against the server clock (Ruby does the same). */
  async serverTime(): Promise<Date> {
    const [seconds, micros] = await this.redis.time();
    return new Date(Number(seconds) * 1000 + Math.floor(Number(micros) / 1000));
  }

  async knownQueues(): Promise<string[]> {
    return this.redis.smembers(this.keys.queues);
  }
}

/** The status key of a raw payload (lenient: works for payloads the codec rejects), or null without an id. */
export function statusKeyOfRaw(keys: ResqueKeys, raw: string): string | null {
  try {
    const parsed: unknown = JSON.parse(raw);
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) return null;
    const p = parsed as Record<string, unknown>;
    const id = p['id'];
    if (typeof id !== 'string' || id === '') return null;
    const prefix = typeof p['prefix'] === 'string' && p['prefix'] !== '' ? (p['prefix'] as string) : null;
    return keys.status(id, prefix);
  } catch {
    return null;
  }
}

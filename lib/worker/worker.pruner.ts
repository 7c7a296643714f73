import type { ResqueRedis } from '../connection/connection.types.js';
import {
  buildFailure,
  encodeFailure,
  parseResqueTime,
  parseWorkerId,
  PRUNE_DEAD_WORKER_EXCEPTION,
  runScript,
  type ResqueKeys,
} from '../protocol/index.js';
import { WORKER_PRUNE_SCRIPT, WORKER_PRUNE_TAKEOVER_SCRIPT, WORKER_PRUNE_UNLOCK_SCRIPT } from '../protocol/protocol.scripts.worker.js';
import { PRUNE_HEARTBEAT_MULTIPLE, RUBY_PRUNE_AFTER_SECONDS, type DeadWorkerPolicy } from './worker.options.js';
import { heldUniqueOfRaw, type HeldUnique } from '../policies/policy.unique.js';
import { claimQueuesKey, statusKeyOfRaw, type RetryWrite } from './worker.store.js';

/** Ruby's lock TTL: one pruner at a time across Ruby workers and ours. */
const PRUNE_LOCK_SECONDS = 60;

export interface WorkerPrunerOptions {
  /** Our own worker id: the lock's value, never pruned. */
  selfId: string;
  /** Other ids of this process (never pruned). */
  ownIds?: () => readonly string[];
  /** Default `os.hostname()`. */
  hostname: string;
  /**
   * Heartbeats older than this mean dead — but never sooner than PRUNE_HEARTBEAT_MULTIPLE × the worker's own
   * published heartbeat interval, or Ruby's 300 s for a worker that publishes none.
   */
  pruneAfterSeconds: number;
  onDeadWorker: DeadWorkerPolicy;
  /**
   * Retry policy: the counter and retry of a dead worker's job the pruner fails, when this app has a retry
   * policy for its class (null: the plain failure). `error` is the DirtyExit the pruner records.
   */
  retryOf?: (raw: string, queue: string, error: Error) => RetryWrite | null;
  /** Tests may inject; default `process.kill(pid, 0)` (ESRCH = gone). */
  isPidAlive?: (pid: number) => boolean;
  /** The capped classes' running keys as JSON (ThrottlePlan#runningKeysJson): a dead worker's slots are returned. */
  throttleRunningKeys?: string;
}

export interface PrunedWorker {
  workerId: string;
  /** `unregistered`: one of our workers a peer's pruner unregistered while it still held claimed jobs. */
  reason: 'heartbeat' | 'pid' | 'unregistered';
  /** In-flight jobs found (from `worker:<id>` and the claim list), raw payloads. */
  jobs: string[];
  action: DeadWorkerPolicy;
}

/** What one pruning pass sees of the workers. */
interface PruneView {
  ids: string[];
  registered: Set<string>;
  heartbeats: Record<string, string>;
  /** This host's own slots: never pruned by it. */
  own: Set<string>;
  /** A heartbeat `at` of worker `id` is older than that worker's death threshold. */
  expired: (id: string, at: string) => boolean;
}

/**
 * Finds dead workers and cleans up after them (resque-protocol.md §6, §12.1): under Ruby's
 * `pruning_dead_workers_in_progress` lock (SET NX EX 60, value = our id; released when done), a worker is
 * dead when its heartbeat is older than `pruneAfterSeconds`, or when it is on this host and its pid is not
 * running. The age that means dead is the worker's own: at least PRUNE_HEARTBEAT_MULTIPLE times the
 * heartbeat interval it published in `workers:heartbeat_interval`, and 300 s (Ruby's) for Ruby and php
 * workers, which publish none; so no setting of this host can prune a live worker of another host, and
 * `pruneAfterSeconds` only makes the pruner more patient. A worker without a heartbeat on another host
 * (php-resque writes none) is never touched. A dead
 * worker's in-flight jobs — `worker:<id>` and its claim list (the prefetched job: it may have begun, since
 * a slot starts performing a round trip before `worker:<id>` names it) — are failed as
 * `Resque::PruneDeadWorkerDirtyExit` (or re-enqueued byte for byte with onDeadWorker 'requeue'); its keys
 * go away in the same Lua script, which re-checks that nothing moved.
 */
export class WorkerPruner {
  constructor(
    private readonly redis: ResqueRedis,
    private readonly keys: ResqueKeys,
    private readonly options: WorkerPrunerOptions,
  ) {}

  async pruneDeadWorkers(): Promise<PrunedWorker[]> {
    const { keys, redis, options } = this;
    if (!(await this.lock())) return [];
    try {
      const view = await this.look();
      const pruned = await this.pruneRegistered(view);
      pruned.push(...(await this.pruneUnregisteredClaims(view)));
      // Heartbeats of ids no longer registered (a crash between steps of a peer's unregister).
      const orphans = Object.entries(view.heartbeats)
        .filter(([id, at]) => !view.registered.has(id) && !view.own.has(id) && view.expired(id, at))
        .map(([id]) => id);
      if (orphans.length > 0) await redis.hdel(keys.heartbeats, ...orphans);
      return pruned;
    } finally {
      await runScript(redis, WORKER_PRUNE_UNLOCK_SCRIPT, [keys.pruneLock], [options.selfId]).catch(() => undefined);
    }
  }

  /** The registered workers, their heartbeats and published intervals, at Redis's time. */
  private async look(): Promise<PruneView> {
    const { keys, redis, options } = this;
    const [ids, heartbeats, intervals, time] = await Promise.all([
      redis.smembers(keys.workers),
      redis.hgetall(keys.heartbeats),
      redis.hgetall(keys.heartbeatIntervals),
      redis.time(),
    ]);
    const nowMs = Number(time[0]) * 1000;
    return {
      ids,
      registered: new Set(ids),
      heartbeats,
      own: new Set([options.selfId, ...(options.ownIds?.() ?? [])]),
      expired: (id, at) => this.expired(at, this.deadAfterSeconds(intervals[id]), nowMs),
    };
  }

  /** Registered workers whose heartbeat expired, or of this host with their pid gone. */
  private async pruneRegistered(view: PruneView): Promise<PrunedWorker[]> {
    const pruned: PrunedWorker[] = [];
    for (const id of view.ids) {
      if (view.own.has(id)) continue;
      const heartbeat = view.heartbeats[id];
      const reason = heartbeat !== undefined && view.expired(id, heartbeat) ? 'heartbeat' : this.deadOnThisHost(id) ? 'pid' : null;
      if (!reason) continue;
      const result = await this.pruneOne(id, reason);
      if (result) pruned.push(result);
    }
    return pruned;
  }

  /**
   * Our dead workers that a Ruby or php pruner unregistered: their claim lists still hold jobs, and only
   * our own claim heartbeat (which peers never touch) can tell they are dead.
   */
  private async pruneUnregisteredClaims(view: PruneView): Promise<PrunedWorker[]> {
    const pruned: PrunedWorker[] = [];
    const claimHeartbeats = await this.redis.hgetall(this.keys.claimHeartbeats);
    for (const [id, at] of Object.entries(claimHeartbeats)) {
      if (view.registered.has(id) || view.own.has(id)) continue;
      if (!view.expired(id, at) && !this.deadOnThisHost(id)) continue;
      const result = await this.pruneOne(id, 'unregistered');
      if (result && result.jobs.length > 0) pruned.push(result);
    }
    return pruned;
  }

  /**
   * How old a worker's heartbeat must be before it is dead: judged by the worker's own published interval
   * (another machine's settings may differ from ours), by Ruby's 300 s when it published none.
   */
  private deadAfterSeconds(publishedInterval: string | undefined): number {
    const interval = publishedInterval === undefined ? Number.NaN : Number(publishedInterval);
    const floor = Number.isFinite(interval) && interval > 0 ? PRUNE_HEARTBEAT_MULTIPLE * interval : RUBY_PRUNE_AFTER_SECONDS;
    return Math.max(this.options.pruneAfterSeconds, floor);
  }

  /**
   * Ruby's lock (SET NX EX 60, value = the pruner's worker id). A pruner killed or paused while holding it
   * would stall every pruner for the whole TTL: a holder that is itself dead is taken over at once.
   */
  private async lock(): Promise<boolean> {
    const { keys, redis, options } = this;
    if ((await redis.set(keys.pruneLock, options.selfId, 'EX', PRUNE_LOCK_SECONDS, 'NX')) === 'OK') return true;
    const holder = await redis.get(keys.pruneLock);
    if (holder === null || !(await this.holderIsDead(holder))) return false;
    const taken = await runScript<number>(redis, WORKER_PRUNE_TAKEOVER_SCRIPT, [keys.pruneLock], [holder, options.selfId, PRUNE_LOCK_SECONDS]);
    return taken === 1;
  }

  /**
   * Dead by the rules any worker is judged by: of this host with its pid gone, or its heartbeat past its own
   * threshold (a SIGSTOPped host that held the lock; a Ruby holder's 300 s is longer than the lock's TTL).
   */
  private async holderIsDead(holder: string): Promise<boolean> {
    if (this.deadOnThisHost(holder)) return true;
    const { keys, redis } = this;
    const [at, interval, time] = await Promise.all([redis.hget(keys.heartbeats, holder), redis.hget(keys.heartbeatIntervals, holder), redis.time()]);
    return at !== null && this.expired(at, this.deadAfterSeconds(interval ?? undefined), Number(time[0]) * 1000);
  }

  /** On this host with a pid that is not running (the only death a process check can prove). */
  private deadOnThisHost(id: string): boolean {
    const parts = parseWorkerId(id);
    if (!parts || parts.host !== this.options.hostname) return false;
    return !this.isPidAlive(parts.pid);
  }

  private expired(heartbeat: string, deadAfterSeconds: number, nowMs: number): boolean {
    const at = parseResqueTime(heartbeat);
    return at !== null && nowMs - at.getTime() > deadAfterSeconds * 1000;
  }

  private isPidAlive(pid: number): boolean {
    if (this.options.isPidAlive) return this.options.isPidAlive(pid);
    if (!Number.isSafeInteger(pid) || pid <= 0) return false;
    try {
      process.kill(pid, 0);
      return true;
    } catch (error) {
      return (error as NodeJS.ErrnoException).code !== 'ESRCH';
    }
  }

  /**
   * How the death was found, for the failure's error. Ruby's sentence comes first. A dead worker's exit code
   * or signal cannot be known here: only its parent process (a supervisor, a shell) can wait for it.
   */
  private deathDetail(id: string, reason: PrunedWorker['reason']): string {
    const pid = parseWorkerId(id)?.pid;
    if (reason === 'heartbeat') return `no heartbeat for over ${this.options.pruneAfterSeconds} s`;
    if (reason === 'pid') return `process ${pid} is gone; its exit code or signal is unknown to the pruner`;
    return 'unregistered by another pruner while holding claimed jobs, and no longer alive';
  }

  private async pruneOne(id: string, reason: PrunedWorker['reason']): Promise<PrunedWorker | null> {
    const { keys, redis, options } = this;
    for (let attempt = 0; attempt < 3; attempt++) {
      const [current, claimed, claimedQueues] = await Promise.all([
        redis.get(keys.worker(id)),
        redis.lrange(keys.workerClaim(id), 0, -1),
        redis.lrange(claimQueuesKey(keys, id), 0, -1),
      ]);
      const jobs = deadJobs(id, current, claimed, claimedQueues);
      const args: Array<string | number> = [id, current ?? '', claimed.length, options.onDeadWorker, Math.floor(Date.now() / 1000), ''];
      args.push(options.onDeadWorker === 'fail' ? failedLocks(keys, jobs, jobs.length > claimed.length) : ''); // unique
      const retries: Array<0 | [string, number, number, number, string]> = [];
      for (const job of jobs) {
        const className = classNameOf(job.raw);
        const error = `Worker ${id} did not gracefully exit while processing ${className} (${this.deathDetail(id, reason)})`;
        const failure = encodeFailure(
          buildFailure({ rawPayload: job.raw, exception: PRUNE_DEAD_WORKER_EXCEPTION, error, backtrace: [], worker: id, queue: job.queue }),
        );
        args.push(job.queue, job.raw, failure, statusKeyOfRaw(keys, job.raw) ?? '');
        const retry = options.onDeadWorker === 'fail' ? (options.retryOf?.(job.raw, job.queue, Object.assign(new Error(error), { name: PRUNE_DEAD_WORKER_EXCEPTION })) ?? null) : null;
        retries.push(retry ? [retry.key, retry.limit, retry.delay, retry.ttl, retry.body] : 0);
      }
      // The retries slot stays '' (no JSON decode in Lua) unless a job has a policy.
      if (retries.some((r) => r !== 0)) args[5] = JSON.stringify(retries);
      args.push(options.throttleRunningKeys ?? '', keys.prefix);
      const done = await runScript<number>(
        redis,
        WORKER_PRUNE_SCRIPT,
        [
          keys.workers,
          keys.worker(id),
          keys.workerStarted(id),
          keys.workerClaim(id),
          keys.statProcessed(id),
          keys.statFailed(id),
          keys.heartbeats,
          keys.failed,
          keys.statFailed(),
          keys.statProcessed(),
          keys.queues,
          claimQueuesKey(keys, id),
          keys.claimHeartbeats,
          keys.heartbeatIntervals,
        ],
        args,
      );
      if (done === 1) return { workerId: id, reason, jobs: jobs.map((j) => j.raw), action: options.onDeadWorker };
    }
    return null;
  }
}

/**
 * The in-flight job of a `worker:<id>` value: `{"queue","run_at","payload"}` written by us, Ruby or php.
 * The payload is cut out of the raw string (it is the last member in every peer's encoding) so a requeue
 * keeps its exact bytes; otherwise it is re-encoded.
 */
export function inFlightOf(value: string): { queue: string; raw: string } | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    return null;
  }
  if (!parsed || typeof parsed !== 'object') return null;
  const record = parsed as { queue?: unknown; payload?: unknown };
  const queue = typeof record.queue === 'string' ? record.queue : '';
  if (record.payload === undefined) return null;
  const marker = value.indexOf('"payload":');
  if (marker >= 0 && value.endsWith('}')) {
    const slice = value.slice(marker + '"payload":'.length, -1);
    try {
      if (JSON.stringify(JSON.parse(slice)) === JSON.stringify(record.payload)) {
        // A payload we embedded as a JSON string (it was not an object) goes back as the original string.
        return { queue, raw: typeof record.payload === 'string' ? record.payload : slice };
      }
    } catch {
      // fall through to re-encoding
    }
  }
  return { queue, raw: typeof record.payload === 'string' ? record.payload : JSON.stringify(record.payload) };
}

/**
 * The unique locks a dead worker's failed jobs still hold: a 'finished' lock of any of them, and a 'started'
 * lock of a claimed job, which never started (the running job's was released at its start). Requeued jobs
 * keep theirs: they wait again under the same id.
 */
function failedLocks(keys: ResqueKeys, jobs: ReadonlyArray<{ raw: string }>, firstIsRunning: boolean): string {
  const held: Array<HeldUnique | null> = jobs.map(({ raw }, i) => {
    const lock = heldUniqueOfRaw(keys, raw);
    if (lock?.until === 'finished') return lock;
    return lock?.until === 'started' && !(i === 0 && firstIsRunning) ? lock : null;
  });
  // Per job (aligned with the script's job groups): the prune script keeps the lock of a job it retries.
  return held.some((h) => h !== null) ? JSON.stringify(held.map((h) => (h ? [h.key, h.id] : 0))) : '';
}

/** A dead worker's jobs: the in-flight one first, then its claim list (each with its queue). */
function deadJobs(id: string, current: string | null, claimed: string[], claimedQueues: string[]): Array<{ queue: string; raw: string }> {
  const jobs: Array<{ queue: string; raw: string }> = [];
  const inFlight = current === null ? null : inFlightOf(current);
  if (inFlight) jobs.push(inFlight);
  // Claimed jobs of a several-queue worker have their queues recorded; a one-queue worker's are its queue's.
  const ownQueue = parseWorkerId(id)?.queues[0] ?? '';
  claimed.forEach((raw, i) => jobs.push({ queue: claimedQueues[i] ?? ownQueue, raw }));
  return jobs;
}

function classNameOf(raw: string): string {
  try {
    const parsed = JSON.parse(raw) as { class?: unknown };
    if (typeof parsed.class === 'string') return parsed.class;
  } catch {
    // unreadable payload
  }
  return 'an unreadable payload';
}

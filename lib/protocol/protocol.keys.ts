/**
 * Every Redis key nestjs-resque reads or writes, in one place (resque-protocol.md §1–§2).
 * Keys are `${namespace}:${key}`; `PREFIX=foo` and `foo:` both give `foo:`.
 */
export const DEFAULT_NAMESPACE = 'resque';

/** Strips one trailing ':' (php's prefix form) and falls back to the default for undefined. */
export function normalizeNamespace(namespace: string | undefined | null): string {
  if (namespace === undefined || namespace === null) return DEFAULT_NAMESPACE;
  if (typeof namespace !== 'string') throw new TypeError('namespace must be a string');
  const trimmed = namespace.endsWith(':') ? namespace.slice(0, -1) : namespace;
  if (trimmed === '') throw new RangeError('namespace must not be empty (php-resque\'s empty prefix is not supported)');
  return trimmed;
}

export class ResqueKeys {
  readonly namespace: string;
  /** `${namespace}:` — what every key starts with. */
  readonly prefix: string;

  constructor(namespace?: string | null) {
    this.namespace = normalizeNamespace(namespace);
    this.prefix = `${this.namespace}:`;
  }

  key(suffix: string): string {
    return this.prefix + suffix;
  }

  // --- queues -------------------------------------------------------------------------------
  get queues(): string {
    return this.key('queues');
  }
  queue(name: string): string {
    return this.key(`queue:${name}`);
  }
  /** The queue name inside a full `queue:<q>` key (for BLPOP replies). */
  queueNameFromKey(fullKey: string): string {
    return fullKey.slice(this.key('queue:').length);
  }

  // --- workers ------------------------------------------------------------------------------
  get workers(): string {
    return this.key('workers');
  }
  worker(id: string): string {
    return this.key(`worker:${id}`);
  }
  workerStarted(id: string): string {
    return this.key(`worker:${id}:started`);
  }
  /** Ours only: a job moved here by BLMOVE in blocking mode, until the claim script records it. */
  workerClaim(id: string): string {
    return this.key(`worker:${id}:claim`);
  }
  get heartbeats(): string {
    return this.key('workers:heartbeat');
  }
  /**
   * Ours: worker id → heartbeat, for our workers only (they may hold claim lists). Peers never touch it,
   * so after a Ruby or php pruner unregistered one of our dead workers, our pruner still finds its claim
   * list and the jobs in it.
   */
  get claimHeartbeats(): string {
    return this.key('workers:claim_heartbeat');
  }
  /**
   * Ours: worker id → its heartbeat interval in seconds, beside Ruby's `workers:heartbeat` (whose values
   * Ruby and php parse as times, so nothing else can go there). A pruner judges each worker by its own
   * interval; workers absent from it (Ruby, php) keep Ruby's thresholds.
   */
  get heartbeatIntervals(): string {
    return this.key('workers:heartbeat_interval');
  }
  get pruneLock(): string {
    return this.key('pruning_dead_workers_in_progress');
  }
  get pauseAll(): string {
    return this.key('pause-all-workers');
  }

  // --- stats --------------------------------------------------------------------------------
  statProcessed(workerId?: string): string {
    return this.key(workerId ? `stat:processed:${workerId}` : 'stat:processed');
  }
  statFailed(workerId?: string): string {
    return this.key(workerId ? `stat:failed:${workerId}` : 'stat:failed');
  }
  /**
   * Ours: outcomes a worker produced for jobs it no longer owned (a pruner had taken them back), discarded
   * instead of recorded. Resque itself only has `stat:processed` and `stat:failed`.
   */
  get statFenced(): string {
    return this.key('stat:fenced');
  }

  // --- failures and status ------------------------------------------------------------------
  get failed(): string {
    return this.key('failed');
  }
  /** `job:<id>:status`, or php-resque fork's `job:<prefix>_<id>:status` for payloads with a prefix. */
  status(id: string, payloadPrefix?: string | null): string {
    return this.key(payloadPrefix ? `job:${payloadPrefix}_${id}:status` : `job:${id}:status`);
  }

  // --- delayed jobs and schedules (resque-scheduler layout) ---------------------------------
  get delayedSchedule(): string {
    return this.key('delayed_queue_schedule');
  }
  delayed(timestamp: number | string): string {
    return this.key(`delayed:${timestamp}`);
  }
  /** The member stored in `timestamps:<item>` sets: `delayed:<ts>` without the namespace. */
  delayedMember(timestamp: number | string): string {
    return `delayed:${timestamp}`;
  }
  timestamps(itemJson: string): string {
    return this.key(`timestamps:${itemJson}`);
  }
  get lastEnqueuedAt(): string {
    return this.key('delayed:last_enqueued_at');
  }
  get persistentSchedules(): string {
    return this.key('persistent_schedules');
  }
  /** Ours: the per-schedule last fired tick, so a leadership change mid-tick cannot fire a schedule twice. */
  get schedulerLastTick(): string {
    return this.key('scheduler_last_tick');
  }
  get schedulesChanged(): string {
    return this.key('schedules_changed');
  }
  /**
   * Ruby's master lock: the namespace appears twice (`resque:resque:resque_scheduler_master_lock`).
   * Ruby's RESQUE_SCHEDULER_MASTER_LOCK_PREFIX goes after the inner namespace: `resque:resque:<p>:resque_...`.
   */
  schedulerLock(lockPrefix?: string): string {
    return this.key(`${this.namespace}:${lockPrefix ? `${lockPrefix}:` : ''}resque_scheduler_master_lock`);
  }
}

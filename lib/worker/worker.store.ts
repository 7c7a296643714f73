import type { ResqueRedis } from '../connection/connection.types.js';
import {
  type ResqueKeys,
  rubyHeartbeat,
  rubyIsoUtc,
  rubyTimeToS,
  runScript,
  scriptCommand,
  unixSeconds,
} from '../protocol/index.js';
import {
  WORKER_CYCLE_SCRIPT,
  WORKER_FAIL_SCRIPT,
  WORKER_HEARTBEAT_SCRIPT,
  WORKER_REGISTER_SCRIPT,
  WORKER_RELEASE_SCRIPT,
  WORKER_REQUEUE_SCRIPT,
  WORKER_RESYNC_SCRIPT,
  WORKER_UNREGISTER_SCRIPT,
} from '../protocol/protocol.scripts.worker.js';
import type { ThrottlePlan } from '../policies/policy.throttle.js';
import { uniqueReleaseArg, type HeldUnique } from '../policies/policy.unique.js';
import { WORKER_DEFAULTS } from './worker.options.js';

/** A completed job's bookkeeping, folded into the next cycle (one round trip per job). */
export interface FinishedJob {
  /** `job:<id>:status` of a tracked-capable job, or null when the payload had no id. */
  statusKey: string | null;
  /** JSON of perform's return value (`null` when none). */
  resultJson: string;
  /** For the log line when the outcome is fenced: the job's class and payload id. */
  className: string;
  jobId: string | null;
  /** Retry policy: the counter key to delete (a retried job that succeeded), else absent. */
  retryKey?: string;
  /** The raw payload (the concurrency slot it holds is returned with it; policy: throttle). */
  raw?: string;
  /** The job's unique lock (released by this completion when `until: 'finished'`), null for plain jobs. */
  unique?: HeldUnique | null;
}

/** The failing job as the policies see it: its concurrency slot (throttle) and its lock (unique). */
export interface FailingJob {
  className: string;
  raw: string;
  unique?: HeldUnique | null;
  /** The write's token (see `SlotStore.failToken`): the same across the tries of one failure. */
  token?: string;
}

/** The policy part of a failure write (WORKER_FAIL_SCRIPT ARGV 10–17). */
export interface FailPolicy {
  /** An onFailure listener stopped the record (DoNotRecordFailureError). */
  stopRecord: boolean;
  /** The attempt is counted against a retry policy. */
  retry: RetryWrite | null;
}

/** A retry's script arguments (see RETRY_HELPERS). */
export interface RetryWrite {
  key: string;
  /** Retries allowed, -1 = Infinity; 0 when the error is not retryable (counted, then recorded). */
  limit: number;
  delay: number;
  ttl: number;
  body: string;
}

/** How WORKER_FAIL_SCRIPT ended: recorded, stopped by a listener, retried (with the next attempt's number), fenced. */
export type FailReply = { kind: 'recorded' } | { kind: 'stopped' } | { kind: 'retried'; nextAttempt: number } | { kind: 'fenced' };

/** A job in the slot's claim list (prefetched or BLMOVEd), not started yet. */
export interface ClaimedJob {
  queue: string;
  raw: string;
}

/** A claimed job the cycle turns into `worker:<id>` (and RUNNING); made by SlotStore#starting. */
export interface StartingJob {
  raw: string;
  queue: string;
  statusKey: string | null;
  /** True when `raw` is a JSON object (embedded as is); otherwise it is embedded as a JSON string. */
  isObject: boolean;
  /** `{"queue":…,"run_at":…,"payload":` (cached per queue and second). */
  head: string;
  /** The job's unique lock (released by this start when `until: 'started'`), null for plain jobs. */
  unique: HeldUnique | null;
}

/** What one cycle asks for. */
export interface CycleRequest {
  finished: FinishedJob | null;
  start: StartingJob | null;
  /** How many jobs to claim ahead into the claim list (0 = none). */
  claim: number;
  /** Queues to claim from, in priority order (ignored without `claim`). */
  queues: readonly string[];
}

/** Ours only: the queue of each claimed job, for workers of several queues (parallel to the claim list). */
export function claimQueuesKey(keys: ResqueKeys, workerId: string): string {
  return `${keys.workerClaim(workerId)}:queues`;
}

type ScriptCall = (...args: Array<string | number>) => Promise<unknown>;

/** Sockets corked until the next tick (see SlotStore#coalesce). */
const corked = new WeakSet<object>();

/** Unix seconds and Ruby's run_at, recomputed once per second (every job needs both). */
class SecondClock {
  private second = -1;
  unix = '';
  runAt = '';

  tick(): number {
    const ms = Date.now();
    const second = Math.floor(ms / 1000);
    if (second !== this.second) {
      this.second = second;
      this.unix = String(second);
      this.runAt = rubyIsoUtc(new Date(ms));
    }
    return second;
  }
}

/**
 * One slot's Redis bookkeeping, with every key of its id computed once (the id changes only when a pool
 * slot re-registers under a new child pid: a new SlotStore then).
 */
export class SlotStore {
  /** `worker:<id>`: the cycle's one fixed key (the script builds the worker's other keys from it). */
  private readonly recordKey: string;
  private readonly cycleCall: ScriptCall;
  private readonly failCall: ScriptCall;
  private readonly failKeys: string[];
  private readonly clock = new SecondClock();
  /** Per queue: the record head for the current second. */
  private readonly heads = new Map<string, { second: number; head: string }>();
  private queueKeysFor: readonly string[] | null = null;
  private queueKeys: string[] = [];
  private failSeq = 0;
  private readonly failTokenKey: string;

  constructor(
    readonly store: WorkerStore,
    readonly workerId: string,
    /** The worker's one literal queue (its claimed jobs need no queue list), or null. */
    readonly ownQueue: string | null,
    /** Several slots share the connection: coalesce the calls they send in one tick into one write. */
    private readonly shared = false,
  ) {
    const k = store.keys;
    this.recordKey = k.worker(workerId);
    this.failKeys = [
      k.failed,
      k.statFailed(),
      k.statFailed(workerId),
      k.statProcessed(),
      k.statProcessed(workerId),
      k.worker(workerId),
      k.workers,
      k.statFenced,
    ];
    this.failTokenKey = `${k.prefix}fail_token:${workerId}`; // not under worker:*, which tools scan for records
    this.cycleCall = scriptCommand(store.redis, WORKER_CYCLE_SCRIPT);
    this.failCall = scriptCommand(store.redis, WORKER_FAIL_SCRIPT);
  }

  /** Describes a claimed job about to start; `worker:<id>` will read `{"queue","run_at","payload"}`. */
  starting(job: ClaimedJob, statusKey: string | null, isObject: boolean, unique: HeldUnique | null = null): StartingJob {
    return { raw: job.raw, queue: job.queue, statusKey, isObject, head: this.headOf(job.queue, this.clock.tick()), unique };
  }

  /**
   * Finishes the previous job, starts the next one and/or claims ahead (WORKER_CYCLE_SCRIPT). Resolves with
   * the claimed jobs (oldest first), 'paused' when `pause-all-workers` refused claiming, or 'pruned' when
   * the worker is no longer registered (nothing was written: fenced).
   */
  async cycle(request: CycleRequest): Promise<ClaimedJob[] | 'paused' | 'pruned' | { throttledMs: number }> {
    const { finished, start, claim } = request;
    if (!start) this.clock.tick(); // `starting` just did
    const queues = claim > 0 ? request.queues : [];
    const recordQueues = this.ownQueue === null;
    const args: Array<string | number> = [1 + queues.length, this.recordKey];
    if (claim > 0) for (const key of this.keysOf(queues)) args.push(key);
    args.push(`${finished ? 1 : 0}${start ? 1 : 0}${recordQueues ? 1 : 0}`, claim, this.clock.unix);
    pushFinishedArgs(args, finished);
    pushStartArgs(args, start);
    args.push(this.workerId, finished?.retryKey ?? '', this.throttleSpec(finished, claim), uniqueCycleReleases(finished, start));
    if (recordQueues && claim > 0) for (const queue of queues) args.push(queue);
    if (this.shared) this.coalesce();
    return cycleReply((await this.cycleCall(...args)) as 0 | -1 | Array<number | string>, queues);
  }

  /**
   * After a failed cycle call (see WORKER_RESYNC_SCRIPT): applies what the unconfirmed cycles did not, and
   * returns the claim list as it is (the slot's claimed jobs from now on), or 'pruned' (fenced: nothing done).
   */
  async resync(unconfirmed: readonly CycleRequest[]): Promise<ClaimedJob[] | 'pruned'> {
    const k = this.store.keys;
    this.clock.tick();
    const args: Array<string | number> = [this.ownQueue === null ? '1' : '0', this.clock.unix];
    for (const request of unconfirmed) {
      if (!request.start) continue;
      args.push(request.finished ? '1' : '0', request.finished?.statusKey ?? '', request.finished?.resultJson ?? 'null', request.start.raw);
    }
    args.push(this.store.throttle?.runningKeysJson ?? '', this.workerId);
    const reply = await runScript<[string[], string[]] | -1>(
      this.store.redis,
      WORKER_RESYNC_SCRIPT,
      [k.worker(this.workerId), k.workerClaim(this.workerId), claimQueuesKey(k, this.workerId), k.statProcessed(), k.statProcessed(this.workerId), k.workers],
      args,
    );
    if (reply === -1) return 'pruned';
    const [raws, names] = reply;
    return raws.map((raw, i) => ({ raw, queue: names[i] ?? this.ownQueue ?? '' }));
  }

  /**
   * Records a failure, or counts a retry attempt and retries (`policy`); 'fenced' when the worker is no longer
   * registered (nothing but `stat:fenced`). `job` (class and raw payload) returns the concurrency slot the
   * job holds, if its class is capped (policy: throttle), whatever the outcome; and its 'finished' unique
   * lock unless the job is retried (policy: unique).
   */
  async fail(failureJson: string, statusKey: string | null, queue: string, policy: FailPolicy | null = null, job?: FailingJob): Promise<FailReply> {
    const args: Array<string | number> = [this.failKeys.length, ...this.failKeys, failureJson, statusKey ?? '', unixSeconds(), this.workerId];
    args.push(this.failTokenKey, job?.token ?? this.failToken(), ...this.failReleases(job));
    if (policy) pushFailPolicy(args, policy, queue, this.store.keys.prefix);
    const reply = (await this.failCall(...args)) as number | [number, number];
    if (Array.isArray(reply)) return { kind: 'retried', nextAttempt: reply[1] };
    if (reply === 2) return { kind: 'stopped' };
    return reply === 1 ? { kind: 'recorded' } : { kind: 'fenced' };
  }

  /**
   * A job TERM/INT interrupted, as the worker stops: the claimed jobs back to their queues, then this one
   * at the head of its queue, `worker:<id>` cleared (WORKER_REQUEUE_SCRIPT).
   */
  async requeue(raw: string, queue: string, statusKey: string | null): Promise<void> {
    const k = this.store.keys;
    await runScript(
      this.store.redis,
      WORKER_REQUEUE_SCRIPT,
      [k.queue(queue), k.queues, k.worker(this.workerId), k.workerClaim(this.workerId), claimQueuesKey(k, this.workerId)],
      [raw, queue, statusKey ?? '', unixSeconds(), k.prefix, this.ownQueue ?? '', this.workerId, this.store.throttle?.runningKeysJson ?? ''],
    );
  }

  /** Puts the claimed jobs back at the head of their queues. */
  async release(): Promise<number> {
    const k = this.store.keys;
    return runScript<number>(this.store.redis, WORKER_RELEASE_SCRIPT, [k.workerClaim(this.workerId), claimQueuesKey(k, this.workerId)], [
      k.prefix,
      this.ownQueue ?? '',
      this.workerId,
      this.store.throttle?.runningKeysJson ?? '',
    ]);
  }

  /** Removes every key of the worker; claimed jobs go back to the head of their queues. */
  unregister(): Promise<number> {
    return this.store.unregister(this.workerId, this.ownQueue);
  }

  /**
   * Slots resumed by one batch of replies send their next calls in the same tick: corking the socket until
   * the next tick makes them one write (one syscall) instead of one each.
   */
  private coalesce(): void {
    const stream = (this.store.redis as { stream?: { cork(): void; uncork(): void; writable?: boolean } }).stream;
    if (!stream || corked.has(stream) || typeof stream.cork !== 'function') return;
    corked.add(stream);
    stream.cork();
    process.nextTick(() => {
      corked.delete(stream);
      stream.uncork();
    });
  }

  /** A token for one failure write: its resends (ioredis, after a lost reply) carry it and are applied once. */
  failToken(): string {
    return `${process.pid}:${Date.now()}:${++this.failSeq}`;
  }

  /** The fail script's release slots: the concurrency slot (throttle), the 'finished' lock and its id (unique). */
  private failReleases(job: FailingJob | undefined): [string, string, string] {
    if (!job) return ['', '', ''];
    const release = this.store.throttle?.releaseOf(job.className, this.workerId, job.raw) ?? '';
    const held = job.unique?.until === 'finished' ? job.unique : null;
    return [release, held?.key ?? '', held?.id ?? ''];
  }

  /** The cycle's throttle ARGV: '' without a plan (the plain path), else the spec (see ThrottlePlan#cycleSpec). */
  private throttleSpec(finished: FinishedJob | null, claim: number): string {
    const plan = this.store.throttle;
    if (!plan) return '';
    const release = finished?.raw === undefined ? null : plan.releaseOf(finished.className, this.workerId, finished.raw);
    return plan.cycleSpec(claim, release);
  }

  private headOf(queue: string, second: number): string {
    const cached = this.heads.get(queue);
    if (cached && cached.second === second) return cached.head;
    const head = `{"queue":${JSON.stringify(queue)},"run_at":"${this.clock.runAt}","payload":`;
    this.heads.set(queue, { second, head });
    return head;
  }

  /** Queue keys, recomputed only when the list changes (globs re-resolve). */
  private keysOf(queues: readonly string[]): string[] {
    if (queues !== this.queueKeysFor) {
      const prev = this.queueKeysFor;
      const same = prev !== null && queues.length === prev.length && queues.every((q, i) => q === prev[i]);
      if (!same) this.queueKeys = queues.map((q) => this.store.keys.queue(q));
      this.queueKeysFor = queues;
    }
    return this.queueKeys;
  }
}

/** The worker's Redis writes shared by its slots, one script call each (resque-protocol.md §6–§8). */
export class WorkerStore {
  constructor(
    readonly redis: ResqueRedis,
    readonly keys: ResqueKeys,
    /** Published beside each heartbeat: other machines' pruners judge our workers by it. */
    readonly heartbeatIntervalSeconds: number = WORKER_DEFAULTS.heartbeatIntervalSeconds,
    /** The host's throttles and concurrency caps (policy: throttle), or null: the scripts' plain path. */
    readonly throttle: ThrottlePlan | null = null,
  ) {}

  async register(workerId: string, startedAt: Date, heartbeatAt: Date): Promise<void> {
    const k = this.keys;
    await runScript(
      this.redis,
      WORKER_REGISTER_SCRIPT,
      [k.workers, k.workerStarted(workerId), k.heartbeats, k.claimHeartbeats, k.heartbeatIntervals],
      [workerId, rubyTimeToS(startedAt), rubyHeartbeat(heartbeatAt), this.heartbeatIntervalSeconds],
    );
  }

  /**
   * Removes every key of the worker; jobs in its claim list go back to the head of their queues
   * (`claim:queues`, else `ownQueue`).
   */
  async unregister(workerId: string, ownQueue: string | null = null): Promise<number> {
    const k = this.keys;
    return runScript<number>(
      this.redis,
      WORKER_UNREGISTER_SCRIPT,
      [
        k.workers,
        k.worker(workerId),
        k.workerStarted(workerId),
        k.workerClaim(workerId),
        k.statProcessed(workerId),
        k.statFailed(workerId),
        k.heartbeats,
        claimQueuesKey(k, workerId),
        k.claimHeartbeats,
        k.heartbeatIntervals,
      ],
      [workerId, k.prefix, ownQueue ?? '', this.throttle?.runningKeysJson ?? ''],
    );
  }

  /** Refreshes the heartbeats of the ids still registered; resolves with the ids that are not (pruned). */
  async heartbeat(workerIds: readonly string[], at: Date): Promise<string[]> {
    if (workerIds.length === 0) return [];
    const k = this.keys;
    return runScript<string[]>(this.redis, WORKER_HEARTBEAT_SCRIPT, [k.heartbeats, k.claimHeartbeats, k.heartbeatIntervals, k.workers], [
      rubyHeartbeat(at),
      this.heartbeatIntervalSeconds,
      ...workerIds,
    ]);
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
    const prefix = typeof p['prefix'] === 'string' && p['prefix'] !== '' ? (p['prefix']) : null;
    return keys.status(id, prefix);
  } catch {
    return null;
  }
}

/** Whether a raw payload is a JSON object (embedded as is in `worker:<id>`), for payloads the codec rejects. */
export function isJsonObject(raw: string): boolean {
  try {
    const parsed: unknown = JSON.parse(raw);
    return parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed);
  } catch {
    return false;
  }
}

/** The cycle script's ARGV for the job finishing: its status key and result. */
function pushFinishedArgs(args: Array<string | number>, finished: FinishedJob | null): void {
  if (finished) args.push(finished.statusKey ?? '', finished.resultJson);
  else args.push('', 'null');
}

/** The cycle script's ARGV for the job starting: payload, record head, payload as a JSON string when not an object, status key. */
function pushStartArgs(args: Array<string | number>, start: StartingJob | null): void {
  if (start) args.push(start.raw, start.head, start.isObject ? '' : JSON.stringify(start.raw), start.statusKey ?? '');
  else args.push('', '', '', '');
}

/** The fail script's policy ARGV: the onFailure stop flag, then the retry (or '' for none). */
function pushFailPolicy(args: Array<string | number>, policy: FailPolicy, queue: string, prefix: string): void {
  const r = policy.retry;
  args.push(policy.stopRecord ? '1' : '');
  if (r) args.push(r.key, r.limit, r.delay, r.ttl, r.body, queue, prefix);
  else args.push('');
}

/** What a cycle's reply means: see WORKER_CYCLE_SCRIPT's return values. */
function cycleReply(reply: 0 | -1 | Array<number | string>, queues: readonly string[]): ClaimedJob[] | 'paused' | 'pruned' | { throttledMs: number } {
  if (reply === 0) return 'paused';
  if (reply === -1) return 'pruned';
  if (reply[0] === 0) return { throttledMs: Number(reply[1]) };
  return claimedJobs(reply, queues);
}

/** The locks a cycle releases: the finishing job's 'finished' lock and the starting job's 'started' lock. */
function uniqueCycleReleases(finished: FinishedJob | null, start: StartingJob | null): string {
  if (!finished?.unique && !start?.unique) return '';
  return uniqueReleaseArg([finished?.unique?.until === 'finished' ? finished.unique : null, start?.unique?.until === 'started' ? start.unique : null]);
}

/** The cycle's claim reply: `[queue index (1-based), payload, …]`. */
function claimedJobs(reply: Array<number | string>, queues: readonly string[]): ClaimedJob[] {
  const jobs: ClaimedJob[] = [];
  for (let i = 0; i < reply.length; i += 2) {
    const queue = queues[(reply[i] as number) - 1];
    const raw = reply[i + 1];
    if (queue === undefined || typeof raw !== 'string') throw new Error(`unexpected claim reply at ${i}: ${JSON.stringify(reply)}`);
    jobs.push({ queue, raw });
  }
  return jobs;
}

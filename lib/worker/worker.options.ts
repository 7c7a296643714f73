import type { ResqueAppOptions } from '../resque.host-types.js';
import type { ResqueConnectionInput } from '../resque.options.js';

/** `'pool'`: jobs run in reusable child processes (default). `'inline'`: in the host process itself. */
export type WorkerIsolation = 'pool' | 'inline';

/** What the pruner does with the in-flight job of a dead worker. */
export type DeadWorkerPolicy = 'fail' | 'requeue';

/**
 * What a worker does when it finds out it was pruned (unregistered by a pruner, its jobs taken back):
 * register again under a fresh id, or exit with code 75 (EX_TEMPFAIL) for a supervisor to restart it.
 */
export type PrunedPolicy = 'reregister' | 'exit';
/** What happens to a job that TERM/INT interrupted: recorded as failed (`Resque::TermException`), or put back at the head of its queue. */
export type InterruptedJobPolicy = 'fail' | 'requeue';

/** Log verbosity, as php-resque's LOGGING/VERBOSE ('verbose') and VVERBOSE ('debug'). */
export type WorkerLogLevel = 'verbose' | 'debug';

export interface ResqueWorkerHostOptions {
  /** Queues in priority order (or a comma list); `*` and Ruby globs (`critical,*`, `!low`) allowed. QUEUE. */
  queues?: string[] | string;
  /** Independent worker slots, each registered as its own Resque worker. COUNT. Default 1. */
  concurrency?: number;
  /** Seconds between polls of empty queues (fractions allowed), or the blocking-pop timeout. INTERVAL. Default 5. */
  interval?: number;
  /** Wait on the queue with BLMOVE instead of polling (single literal queue; otherwise short polling). BLOCKING. */
  blocking?: boolean;
  /** Default 'pool'. */
  isolation?: WorkerIsolation;
  /**
   * Jobs each slot claims ahead of the one it performs, held in its claim list `worker:<id>:claim` (so
   * Redis round trips overlap with performing). A claimed job was first in priority order when claimed:
   * a job pushed to a higher-priority queue later may run after up to this many. 0 = every job is picked
   * when it starts (strict priority, one unoverlapped round trip per job). Default 2.
   */
  prefetch?: number;
  /** Pool: recycle a child after this many jobs (1 = php-resque's fork per job). Default unlimited. */
  maxJobsPerChild?: number;
  /** Pool: recycle a child once its RSS passes this many MiB after a job. Default unlimited. */
  maxChildMemoryMb?: number;
  /** Milliseconds a job may run (a job's `@Job({ timeout })` wins); the child is then killed. Default none. */
  timeout?: number;
  /** In-flight job of a dead worker found by pruning: 'fail' (default, retryable in resque-web) or 'requeue'. */
  onDeadWorker?: DeadWorkerPolicy;
  /**
   * A worker whose heartbeat is older than this is dead — and never sooner than 3 × *its own* published
   * heartbeat interval (300 s for Ruby and php workers, which publish none), so a short value here cannot
   * prune a live worker of another machine. At least 3 × heartbeatIntervalSeconds. Default
   * 3 × heartbeatIntervalSeconds (30).
   */
  pruneAfterSeconds?: number;
  /** After this worker was pruned (e.g. frozen past the pruners' threshold): 'reregister' (default) or 'exit'. */
  onPruned?: PrunedPolicy;
  /** How often to prune dead workers after start-up. Default 15. */
  pruneIntervalSeconds?: number;
  /** How often to refresh `workers:heartbeat` (at most 60, for Ruby); published for other pruners. Default 10. */
  heartbeatIntervalSeconds?: number;
  /** Upper bound for a graceful shutdown (jobs finishing on QUIT are not bounded by it). Default 30000 ms. */
  shutdownTimeoutMs?: number;
  /**
   * TERM/INT: how long a running job may go on before it is asked to stop (Ruby's RESQUE_PRE_SHUTDOWN_TIMEOUT).
   * Default 0.
   */
  preShutdownTimeoutMs?: number;
  /**
   * TERM/INT, and a job past its timeout: how long a job whose `ctx.signal` was aborted may take to stop
   * before its child is SIGKILLed (inline: abandoned). Ruby's RESQUE_TERM_TIMEOUT. Default 4000.
   */
  termTimeoutMs?: number;
  /** A job interrupted by TERM/INT: 'fail' (default, `Resque::TermException`) or 'requeue' (head of its queue). */
  onInterrupted?: InterruptedJobPolicy;
  /** Host part of worker ids and the pruner's "same host" check. Default `os.hostname()`. */
  hostname?: string;
  /** Redis for the worker's own bookkeeping instead of the module's (REDIS_BACKEND). */
  connection?: ResqueConnectionInput;
  /** Key namespace for the worker's bookkeeping instead of the module's (PREFIX). */
  namespace?: string;
  /** LOGGING/VERBOSE/VVERBOSE. */
  logLevel?: WorkerLogLevel;
  /** Write the host's pid here (PIDFILE); removed on exit. */
  pidFile?: string;
  /** How many of a dead child's last stderr lines go into the failure's backtrace. Default 20. */
  childStderrLines?: number;
  /** Options for NestFactory.createApplicationContext (parent and children). */
  appOptions?: ResqueAppOptions;
  /** Prometheus job metrics of this host, from its parent (optional peer prom-client; README "Health and metrics"). */
  metrics?: WorkerMetricsOptions;
}

/** The worker host's `metrics` option. */
export interface WorkerMetricsOptions {
  /** Serve `GET /metrics` over node:http on this port (0: any free port). */
  port?: number;
  /** Interface to listen on. Default '0.0.0.0'. */
  host?: string;
  /** A prom-client `Registry` to add the metrics to (typed loosely so the core's types never name prom-client). */
  registry?: object;
}

export interface ResolvedWorkerOptions {
  queues: string[];
  concurrency: number;
  interval: number;
  blocking: boolean;
  isolation: WorkerIsolation;
  prefetch: number;
  maxJobsPerChild: number;
  maxChildMemoryMb: number;
  timeout: number | null;
  onDeadWorker: DeadWorkerPolicy;
  pruneAfterSeconds: number;
  onPruned: PrunedPolicy;
  pruneIntervalSeconds: number;
  heartbeatIntervalSeconds: number;
  shutdownTimeoutMs: number;
  preShutdownTimeoutMs: number;
  termTimeoutMs: number;
  onInterrupted: InterruptedJobPolicy;
  hostname: string;
  connection: ResqueConnectionInput | undefined;
  namespace: string | undefined;
  logLevel: WorkerLogLevel | undefined;
  pidFile: string | undefined;
  childStderrLines: number;
  appOptions: ResqueAppOptions;
  metrics: WorkerMetricsOptions | undefined;
}

/**
 * A worker is dead only after this many of its own heartbeat intervals without a heartbeat (one late beat
 * from a loaded host or a slow Redis must not look like a death); it is also the default pruneAfterSeconds.
 */
export const PRUNE_HEARTBEAT_MULTIPLE = 3;

/** Ruby's thresholds, kept for workers that publish no heartbeat interval (Ruby, php, older versions of ours). */
export const RUBY_HEARTBEAT_INTERVAL_SECONDS = 60;
export const RUBY_PRUNE_AFTER_SECONDS = 300;

export const WORKER_DEFAULTS = {
  concurrency: 1,
  interval: 5,
  blocking: false,
  isolation: 'pool',
  prefetch: 2,
  maxJobsPerChild: Number.POSITIVE_INFINITY,
  maxChildMemoryMb: Number.POSITIVE_INFINITY,
  onDeadWorker: 'fail',
  onPruned: 'reregister',
  pruneIntervalSeconds: 15,
  heartbeatIntervalSeconds: 10,
  shutdownTimeoutMs: 30_000,
  preShutdownTimeoutMs: 0,
  termTimeoutMs: 4_000,
  onInterrupted: 'fail',
  childStderrLines: 20,
} as const;

type Layer = Partial<ResqueWorkerHostOptions> | undefined;

/** Merges explicit options > environment (php's variables) > defaults, and validates the result. */
export function resolveWorkerOptions(explicit: Layer, fromEnv: Layer, hostname: string): ResolvedWorkerOptions {
  const pick = <K extends keyof ResqueWorkerHostOptions>(key: K): ResqueWorkerHostOptions[K] =>
    explicit?.[key] !== undefined ? explicit[key] : fromEnv?.[key];
  const queuesInput = pick('queues');
  if (queuesInput === undefined) throw new TypeError('queues is required (e.g. { queues: ["default"] } or QUEUE=default)');
  const queues = (typeof queuesInput === 'string' ? queuesInput.split(',') : queuesInput).map((q) => {
    if (typeof q !== 'string' || q.trim() === '') throw new TypeError('queues must be non-empty queue names');
    return q.trim();
  });
  if (queues.length === 0) throw new TypeError('queues must name at least one queue');

  const concurrency = pick('concurrency') ?? WORKER_DEFAULTS.concurrency;
  positiveInteger('concurrency', concurrency);
  const interval = pick('interval') ?? WORKER_DEFAULTS.interval;
  if (typeof interval !== 'number' || !Number.isFinite(interval) || interval <= 0) {
    throw new RangeError(`interval must be a positive number of seconds, got ${String(interval)}`);
  }
  const isolation = pick('isolation') ?? WORKER_DEFAULTS.isolation;
  if (isolation !== 'pool' && isolation !== 'inline') throw new RangeError(`isolation must be 'pool' or 'inline', got ${String(isolation)}`);
  const prefetch = pick('prefetch') ?? WORKER_DEFAULTS.prefetch;
  if (typeof prefetch !== 'number' || !Number.isSafeInteger(prefetch) || prefetch < 0) {
    throw new RangeError(`prefetch must be a non-negative integer, got ${String(prefetch)}`);
  }
  const maxJobsPerChild = pick('maxJobsPerChild') ?? WORKER_DEFAULTS.maxJobsPerChild;
  if (maxJobsPerChild !== Number.POSITIVE_INFINITY) positiveInteger('maxJobsPerChild', maxJobsPerChild);
  const maxChildMemoryMb = pick('maxChildMemoryMb') ?? WORKER_DEFAULTS.maxChildMemoryMb;
  positiveNumber('maxChildMemoryMb', maxChildMemoryMb);
  const timeout = pick('timeout') ?? null;
  if (timeout !== null) positiveNumber('timeout', timeout);
  const onDeadWorker = pick('onDeadWorker') ?? WORKER_DEFAULTS.onDeadWorker;
  if (onDeadWorker !== 'fail' && onDeadWorker !== 'requeue') {
    throw new RangeError(`onDeadWorker must be 'fail' or 'requeue', got ${String(onDeadWorker)}`);
  }
  const onPruned = pick('onPruned') ?? WORKER_DEFAULTS.onPruned;
  if (onPruned !== 'reregister' && onPruned !== 'exit') throw new RangeError(`onPruned must be 'reregister' or 'exit', got ${String(onPruned)}`);
  const pruneIntervalSeconds = pick('pruneIntervalSeconds') ?? WORKER_DEFAULTS.pruneIntervalSeconds;
  positiveNumber('pruneIntervalSeconds', pruneIntervalSeconds);
  const heartbeatIntervalSeconds = pick('heartbeatIntervalSeconds') ?? WORKER_DEFAULTS.heartbeatIntervalSeconds;
  positiveNumber('heartbeatIntervalSeconds', heartbeatIntervalSeconds);
  if (heartbeatIntervalSeconds > RUBY_HEARTBEAT_INTERVAL_SECONDS) {
    throw new RangeError('heartbeatIntervalSeconds must be at most 60 (Ruby workers prune staler ones)');
  }
  const safePruneAfter = PRUNE_HEARTBEAT_MULTIPLE * heartbeatIntervalSeconds;
  const pruneAfterSeconds = pick('pruneAfterSeconds') ?? safePruneAfter;
  positiveNumber('pruneAfterSeconds', pruneAfterSeconds);
  if (pruneAfterSeconds < safePruneAfter) {
    throw new RangeError(
      `pruneAfterSeconds must be at least ${PRUNE_HEARTBEAT_MULTIPLE} × heartbeatIntervalSeconds (${safePruneAfter}), got ${pruneAfterSeconds}: ` +
        'a worker that misses one or two heartbeats (a loaded host, a slow Redis) is not dead',
    );
  }
  const shutdownTimeoutMs = pick('shutdownTimeoutMs') ?? WORKER_DEFAULTS.shutdownTimeoutMs;
  positiveNumber('shutdownTimeoutMs', shutdownTimeoutMs);
  const preShutdownTimeoutMs = pick('preShutdownTimeoutMs') ?? WORKER_DEFAULTS.preShutdownTimeoutMs;
  nonNegativeNumber('preShutdownTimeoutMs', preShutdownTimeoutMs);
  const termTimeoutMs = pick('termTimeoutMs') ?? WORKER_DEFAULTS.termTimeoutMs;
  nonNegativeNumber('termTimeoutMs', termTimeoutMs);
  const onInterrupted = pick('onInterrupted') ?? WORKER_DEFAULTS.onInterrupted;
  if (onInterrupted !== 'fail' && onInterrupted !== 'requeue') {
    throw new RangeError(`onInterrupted must be 'fail' or 'requeue', got ${String(onInterrupted)}`);
  }
  const childStderrLines = pick('childStderrLines') ?? WORKER_DEFAULTS.childStderrLines;
  positiveInteger('childStderrLines', childStderrLines);
  const chosenHost = pick('hostname') ?? hostname;
  if (typeof chosenHost !== 'string' || chosenHost === '' || chosenHost.includes(':')) {
    throw new TypeError(`hostname must be a non-empty string without ':', got ${JSON.stringify(chosenHost)}`);
  }
  return {
    queues,
    concurrency,
    interval,
    blocking: pick('blocking') ?? WORKER_DEFAULTS.blocking,
    isolation,
    prefetch,
    maxJobsPerChild,
    maxChildMemoryMb,
    timeout,
    onDeadWorker,
    pruneAfterSeconds,
    onPruned,
    pruneIntervalSeconds,
    heartbeatIntervalSeconds,
    shutdownTimeoutMs,
    preShutdownTimeoutMs,
    termTimeoutMs,
    onInterrupted,
    hostname: chosenHost,
    connection: pick('connection'),
    namespace: pick('namespace'),
    logLevel: pick('logLevel'),
    pidFile: pick('pidFile'),
    childStderrLines,
    appOptions: pick('appOptions') ?? {},
    metrics: checkMetrics(pick('metrics')),
  };
}

function checkMetrics(metrics: WorkerMetricsOptions | undefined): WorkerMetricsOptions | undefined {
  if (metrics === undefined) return undefined;
  const { port, registry } = metrics;
  if (port === undefined && registry === undefined) throw new TypeError('metrics needs a port to serve /metrics on, or a registry to add to');
  if (port !== undefined && (typeof port !== 'number' || !Number.isSafeInteger(port) || port < 0 || port > 65535)) {
    throw new RangeError(`metrics.port must be a port number (0-65535), got ${String(port)}`);
  }
  return metrics;
}

function positiveInteger(name: string, value: unknown): void {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw new RangeError(`${name} must be a positive integer, got ${String(value)}`);
  }
}

function nonNegativeNumber(name: string, value: unknown): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new RangeError(`${name} must be a number of milliseconds >= 0, got ${String(value)}`);
  }
}

function positiveNumber(name: string, value: unknown): void {
  if (typeof value !== 'number' || Number.isNaN(value) || value <= 0) {
    throw new RangeError(`${name} must be a positive number, got ${String(value)}`);
  }
}

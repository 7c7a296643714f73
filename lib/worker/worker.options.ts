import type { ResqueAppOptions } from '../resque.host-types.js';
import { checkWorkerThrottle, type WorkerThrottleOptions } from '../policies/policy.throttle.js';
import type { ResqueConnectionInput } from '../resque.options.js';
import {
  hostPart,
  nonNegativeInteger,
  nonNegativeNumber,
  oneOf,
  positiveInteger,
  positiveNumber,
  positiveSeconds,
  queueNames,
} from './worker.options.checks.js';


/** `'pool'`: jobs run in reusable child processes (default). `'inline'`: in the host process itself. */
export type WorkerIsolation = 'pool' | 'inline';

/**
 * When pool slots after the first start their child: `'on-demand'` once the running children are busy, jobs
 * wait and a CPU has room (README "Pool children on demand"); `'eager'` all at start-up.
 */
export type ChildStartPolicy = 'on-demand' | 'eager';

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
  /**
   * Pool: slot 0's child boots at start-up; the other slots' children boot `'on-demand'` (default: one at a
   * time, while the running children are busy, jobs wait and the CPU has room for another) or all at start-up
   * (`'eager'`). A slot registers as a Resque worker once its child is up.
   */
  childStart?: ChildStartPolicy;
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
  /**
   * Rate limits per queue, shared by every worker on the Redis: `{ queues: { api: { max: 10, perSeconds: 1 } } }`
   * (README "Job policies"). Job classes declare theirs with `@Job({ throttle, maxConcurrent })`.
   */
  throttle?: WorkerThrottleOptions;
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
  childStart: ChildStartPolicy;
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
  throttle: WorkerThrottleOptions | undefined;
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
  childStart: 'on-demand',
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

type OptionPicker = <K extends keyof ResqueWorkerHostOptions>(key: K) => ResqueWorkerHostOptions[K];

/** Merges explicit options > environment (php's variables) > defaults, and validates the result. */
export function resolveWorkerOptions(explicit: Layer, fromEnv: Layer, hostname: string): ResolvedWorkerOptions {
  const pick: OptionPicker = (key) => (explicit?.[key] !== undefined ? explicit[key] : fromEnv?.[key]);
  const queues = queueNames(pick('queues'));
  const limits = resolveLimits(pick);
  const liveness = resolveLiveness(pick);
  const shutdown = resolveShutdown(pick);
  const childStderrLines = pick('childStderrLines') ?? WORKER_DEFAULTS.childStderrLines;
  positiveInteger('childStderrLines', childStderrLines);
  return {
    queues,
    ...limits,
    blocking: pick('blocking') ?? WORKER_DEFAULTS.blocking,
    ...liveness,
    ...shutdown,
    hostname: hostPart(pick('hostname') ?? hostname),
    connection: pick('connection'),
    namespace: pick('namespace'),
    logLevel: pick('logLevel'),
    pidFile: pick('pidFile'),
    childStderrLines,
    appOptions: pick('appOptions') ?? {},
    metrics: checkMetrics(pick('metrics')),
    throttle: checkWorkerThrottle(pick('throttle')),
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

type Limits = Pick<
  ResolvedWorkerOptions,
  'concurrency' | 'interval' | 'isolation' | 'childStart' | 'prefetch' | 'maxJobsPerChild' | 'maxChildMemoryMb' | 'timeout'
>;

/** How many slots, how often they poll, how far they claim ahead, when children are recycled or killed. */
function resolveLimits(pick: OptionPicker): Limits {
  const concurrency = pick('concurrency') ?? WORKER_DEFAULTS.concurrency;
  positiveInteger('concurrency', concurrency);
  const interval = pick('interval') ?? WORKER_DEFAULTS.interval;
  positiveSeconds('interval', interval);
  const isolation = oneOf('isolation', pick('isolation') ?? WORKER_DEFAULTS.isolation, ['pool', 'inline']);
  const childStart = oneOf('childStart', pick('childStart') ?? WORKER_DEFAULTS.childStart, ['on-demand', 'eager']);
  const prefetch = pick('prefetch') ?? WORKER_DEFAULTS.prefetch;
  nonNegativeInteger('prefetch', prefetch);
  const maxJobsPerChild = pick('maxJobsPerChild') ?? WORKER_DEFAULTS.maxJobsPerChild;
  if (maxJobsPerChild !== Number.POSITIVE_INFINITY) positiveInteger('maxJobsPerChild', maxJobsPerChild);
  const maxChildMemoryMb = pick('maxChildMemoryMb') ?? WORKER_DEFAULTS.maxChildMemoryMb;
  positiveNumber('maxChildMemoryMb', maxChildMemoryMb);
  const timeout = pick('timeout') ?? null;
  if (timeout !== null) positiveNumber('timeout', timeout);
  return { concurrency, interval, isolation, childStart, prefetch, maxJobsPerChild, maxChildMemoryMb, timeout };
}

type Liveness = Pick<ResolvedWorkerOptions, 'onDeadWorker' | 'onPruned' | 'pruneIntervalSeconds' | 'heartbeatIntervalSeconds' | 'pruneAfterSeconds'>;

/** Heartbeats and pruning: a live worker of a loaded host must never look dead. */
function resolveLiveness(pick: OptionPicker): Liveness {
  const onDeadWorker = oneOf('onDeadWorker', pick('onDeadWorker') ?? WORKER_DEFAULTS.onDeadWorker, ['fail', 'requeue']);
  const onPruned = oneOf('onPruned', pick('onPruned') ?? WORKER_DEFAULTS.onPruned, ['reregister', 'exit']);
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
  return { onDeadWorker, onPruned, pruneIntervalSeconds, heartbeatIntervalSeconds, pruneAfterSeconds };
}

type Shutdown = Pick<ResolvedWorkerOptions, 'shutdownTimeoutMs' | 'preShutdownTimeoutMs' | 'termTimeoutMs' | 'onInterrupted'>;

/** QUIT/TERM/INT: how long jobs may go on, and what becomes of an interrupted one. */
function resolveShutdown(pick: OptionPicker): Shutdown {
  const shutdownTimeoutMs = pick('shutdownTimeoutMs') ?? WORKER_DEFAULTS.shutdownTimeoutMs;
  positiveNumber('shutdownTimeoutMs', shutdownTimeoutMs);
  const preShutdownTimeoutMs = pick('preShutdownTimeoutMs') ?? WORKER_DEFAULTS.preShutdownTimeoutMs;
  nonNegativeNumber('preShutdownTimeoutMs', preShutdownTimeoutMs);
  const termTimeoutMs = pick('termTimeoutMs') ?? WORKER_DEFAULTS.termTimeoutMs;
  nonNegativeNumber('termTimeoutMs', termTimeoutMs);
  const onInterrupted = oneOf('onInterrupted', pick('onInterrupted') ?? WORKER_DEFAULTS.onInterrupted, ['fail', 'requeue']);
  return { shutdownTimeoutMs, preShutdownTimeoutMs, termTimeoutMs, onInterrupted };
}

import { Injectable } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import { ResqueConnection } from '../connection/connection.service.js';
import { errorMessage } from '../protocol/index.js';
import { ResqueReader } from '../metrics/metrics.snapshot.js';

export interface ResqueHealthOptions {
  /** Bound for the whole check (PING and every read): past it the check is down. Default 1000 ms. */
  timeoutMs?: number;
  /** At least `min` (default 1) live workers — fresh heartbeat, the pruner's rule — polling each of `queues`. */
  workers?: { queues: string[]; min?: number };
  /** Per queue: down when it holds more than `maxSize` jobs, or its head job is older than `maxAgeSeconds`. */
  queues?: Record<string, { maxSize?: number; maxAgeSeconds?: number }>;
  /**
   * Down when `stat:failed` grew by more than `maxPerMinute` per minute, measured from this indicator's own
   * samples of the last `windowSeconds` (default 300); the first check has nothing to compare and passes.
   */
  failures?: { maxPerMinute: number; windowSeconds?: number };
}

const DEFAULT_TIMEOUT_MS = 1000;
const DEFAULT_FAILURE_WINDOW_SECONDS = 300;

/**
 * A terminus health indicator for Resque: Redis answers PING within the timeout, and optionally enough live
 * workers, queues neither too big nor too old, failures not growing too fast. Use it in a HealthController:
 *
 *     @Get() @HealthCheck() check() { return this.health.check([() => this.resque.isHealthy('resque', { ... })]); }
 */
@Injectable()
export class ResqueHealthIndicator {
  /** Per check key: `stat:failed` samples (Redis time in ms, value) within the window. */
  private readonly failureSamples = new Map<string, Array<{ at: number; failed: number }>>();

  constructor(
    private readonly indicators: HealthIndicatorService,
    private readonly connection: ResqueConnection,
  ) {}

  async isHealthy<const Key extends string>(key: Key, options: ResqueHealthOptions = {}): Promise<HealthIndicatorResult<Key>> {
    const session = this.indicators.check(key);
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`Redis at ${this.connection.address} did not answer within ${timeoutMs} ms`)),
        timeoutMs,
      );
    });
    try {
      const problems = await Promise.race([this.problems(key, options), timedOut]);
      if (problems.length > 0) return session.down({ message: problems.join('; '), problems });
      return session.up();
    } catch (error) {
      const message = errorMessage(error).startsWith('Redis at ') ? errorMessage(error) : `Redis at ${this.connection.address}: ${errorMessage(error)}`;
      return session.down({ message });
    } finally {
      clearTimeout(timer);
    }
  }

  /** What is wrong, one sentence each; [] when healthy. Throws when Redis cannot be read. */
  private async problems(key: string, options: ResqueHealthOptions): Promise<string[]> {
    const { client, keys } = this.connection;
    const reader = new ResqueReader(client, keys);
    await client.ping();
    const problems: string[] = [];
    if (options.workers) {
      const min = options.workers.min ?? 1;
      const live = (await reader.workers()).filter((w) => w.live);
      for (const queue of options.workers.queues) {
        const count = live.filter((w) => w.serves(queue)).length;
        if (count < min) problems.push(`queue ${queue} has ${count} live worker(s), expected at least ${min}`);
      }
    }
    if (options.queues) {
      for (const q of await reader.queues(Object.keys(options.queues))) {
        const limit = options.queues[q.queue]!;
        if (limit.maxSize !== undefined && q.size > limit.maxSize) problems.push(`queue ${q.queue} holds ${q.size} jobs (more than ${limit.maxSize})`);
        if (limit.maxAgeSeconds !== undefined && q.oldestAgeSeconds !== null && q.oldestAgeSeconds > limit.maxAgeSeconds) {
          problems.push(`queue ${q.queue}'s oldest job waits for ${Math.round(q.oldestAgeSeconds)} s (more than ${limit.maxAgeSeconds} s)`);
        }
      }
    }
    if (options.failures) {
      const [failed, at] = await Promise.all([reader.failedTotal(), reader.now()]);
      const perMinute = this.failureRate(key, at, failed, options.failures.windowSeconds ?? DEFAULT_FAILURE_WINDOW_SECONDS);
      if (perMinute !== null && perMinute > options.failures.maxPerMinute) {
        problems.push(`failures grow by ${perMinute.toFixed(1)}/min (more than ${options.failures.maxPerMinute}/min)`);
      }
    }
    return problems;
  }

  /** Failures per minute since the oldest sample within the window; null until there is an earlier sample. */
  private failureRate(key: string, at: number, failed: number, windowSeconds: number): number | null {
    const kept = (this.failureSamples.get(key) ?? []).filter((s) => at - s.at <= windowSeconds * 1000 && s.failed <= failed);
    const oldest = kept[0];
    kept.push({ at, failed });
    this.failureSamples.set(key, kept);
    if (!oldest || at <= oldest.at) return null;
    return ((failed - oldest.failed) * 60_000) / (at - oldest.at);
  }
}

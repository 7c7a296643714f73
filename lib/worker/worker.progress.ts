import type { Logger } from '@nestjs/common';
import type { ResqueConnection } from '../connection/connection.service.js';
import { errorMessage, PROGRESS_SCRIPT, runScript, unixSeconds, type DecodedJob, type ResqueProgress } from '../protocol/index.js';

/** At most one status write per job in this many ms (the last value is always written before the outcome). */
export const PROGRESS_WRITE_INTERVAL_MS = 250;

/** Where a job's `ctx.progress()` values go besides the onProgress event: one target per job run. */
export interface ProgressSink {
  /** The job's target, or null when there is nothing to write to (a payload without id is untracked). */
  open(decoded: DecodedJob): ProgressTarget | null;
}

export interface ProgressTarget {
  /** Every accepted value (validated; `json` is its encoding). */
  report(value: ResqueProgress, json: string): void;
  /** Writes the last value not yet written and stops: awaited before the job's outcome is reported. */
  flush(): Promise<void>;
}

/** Writes progress into the job's status packet (PROGRESS_SCRIPT: only while it is RUNNING). */
export class RedisProgressSink implements ProgressSink {
  constructor(
    private readonly connection: ResqueConnection,
    private readonly logger: Logger,
    private readonly intervalMs = PROGRESS_WRITE_INTERVAL_MS,
  ) {}

  open(decoded: DecodedJob): ProgressTarget | null {
    if (!decoded.id) return null;
    const key = this.connection.keys.status(decoded.id, decoded.prefix);
    const write = async (json: string): Promise<boolean> => (await runScript<number>(this.connection.client, PROGRESS_SCRIPT, [key], [json, unixSeconds()])) === 1;
    return new ThrottledProgress(write, this.intervalMs, this.logger);
  }
}

/**
 * Coalesces a job's progress values: the first is written at once, later ones at most once per interval
 * (the newest wins), so a tight loop costs a few writes, not one per call. Writes go one after another.
 * Once the script reports the packet is not there or not RUNNING (untracked, or already finished), the
 * job's later values are not written at all.
 */
class ThrottledProgress implements ProgressTarget {
  private pending: string | null = null;
  private lastWriteAt = Number.NEGATIVE_INFINITY;
  private timer: NodeJS.Timeout | null = null;
  private writing: Promise<void> = Promise.resolve();
  /** flush() ran: the job is over. */
  private closed = false;
  /** The script found no RUNNING packet: nothing more is sent (values queued behind that write included). */
  private dead = false;

  constructor(
    private readonly write: (json: string) => Promise<boolean>,
    private readonly intervalMs: number,
    private readonly logger: Logger,
  ) {}

  report(_value: ResqueProgress, json: string): void {
    if (this.closed || this.dead) return;
    this.pending = json;
    if (this.timer) return;
    const wait = this.lastWriteAt + this.intervalMs - Date.now();
    if (wait <= 0) {
      this.writePending();
      return;
    }
    this.timer = setTimeout(() => {
      this.timer = null;
      this.writePending();
    }, wait);
    this.timer.unref();
  }

  async flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.writePending();
    this.closed = true;
    await this.writing;
  }

  private writePending(): void {
    const json = this.pending;
    if (json === null || this.closed || this.dead) return;
    this.pending = null;
    this.lastWriteAt = Date.now();
    this.writing = this.writing.then(async () => {
      if (this.dead) return;
      try {
        if (!(await this.write(json))) this.dead = true;
      } catch (error) {
        // Progress is informative: a failed write must not fail the job.
        this.logger.warn(`could not write job progress: ${errorMessage(error)}`);
      }
    });
  }
}

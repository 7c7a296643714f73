import { Logger } from '@nestjs/common';
import type { DecodedJob } from '../protocol/index.js';
import { processingTitle } from './worker.title.js';
import type { JobOutcome } from './worker.types.js';

/** `Echo (queue default, id 1f…)`: how log lines name a job. */
export function jobLabel(queue: string, decoded: DecodedJob): string {
  return `${decoded.className} (queue ${queue}${decoded.id ? `, id ${decoded.id}` : ''})`;
}

export function isVerbose(): boolean {
  return Logger.isLevelEnabled('verbose');
}

/** Verbose: each job's outcome. Always: failures (php logs them, Ruby at error level). */
export function logOutcome(
  logger: Logger,
  workerId: string,
  queue: string,
  decoded: DecodedJob | null,
  outcome: JobOutcome,
  requeueInterrupted: boolean,
): void {
  const label = decoded ? jobLabel(queue, decoded) : `${queue} (unreadable payload)`;
  if (outcome.kind === 'failed') {
    const requeued = outcome.interrupted && requeueInterrupted;
    const line = `${workerId} ${requeued ? 'interrupted, back at the head of its queue' : 'failed'}: ${label}: ${outcome.exception}: ${outcome.error}`;
    if (requeued) logger.warn(line);
    else logger.error(line);
  } else if (isVerbose()) {
    logger.verbose(`${workerId} ${outcome.kind === 'complete' ? 'done' : `skipped (${outcome.reason})`}: ${label}`);
  }
}

export function logFenced(logger: Logger, workerId: string, what: string, className: string, jobId: string | null): void {
  logger.warn(
    `worker ${workerId}: the ${what} of job ${className} (id ${jobId ?? 'none'}) was not recorded: the worker had been pruned and the job taken back (counted in stat:fenced)`,
  );
}

/** The `id` of a payload the codec rejected (for log lines), or null. */
export function jobIdOfRaw(raw: string): string | null {
  try {
    const parsed: unknown = JSON.parse(raw);
    const id = parsed !== null && typeof parsed === 'object' ? (parsed as Record<string, unknown>)['id'] : undefined;
    return typeof id === 'string' ? id : null;
  } catch {
    return null;
  }
}

/** The host's process title, set by slot 0 only (`set` is null on the others). */
export class SlotTitle {
  private second = -1;
  private queue = '';
  private className = '';

  constructor(private readonly setTitle: ((title: string) => void) | null) {}

  get enabled(): boolean {
    return this.setTitle !== null;
  }

  set(title: string): void {
    this.second = -1;
    this.setTitle?.(title);
  }

  /** "Processing <queue> since <s> [<class>]": rebuilt only when one of them changes. */
  processing(queue: string, className: string): void {
    const second = Math.floor(Date.now() / 1000);
    if (second === this.second && queue === this.queue && className === this.className) return;
    this.second = second;
    this.queue = queue;
    this.className = className;
    this.setTitle?.(processingTitle(queue, className, new Date(second * 1000)));
  }
}

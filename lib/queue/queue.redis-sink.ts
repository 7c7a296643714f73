import type { ResqueConnection } from '../connection/connection.service.js';
import { ENQUEUE_SCRIPT, JobStatus, encodeStatus, scriptCommand } from '../protocol/index.js';
import type { JobSink, PreparedJob } from './queue.enqueue.js';

/** Variadic commands are split so no single command carries an unbounded argument list. */
export const CHUNK = 5_000;

type EnqueueCall = (...args: Array<string | number>) => Promise<unknown>;

/**
 * Jobs land in Redis: one job in one round trip (SADD queues + RPUSH + the WAITING status when tracked, one
 * script); a batch in one MULTI (SADD + variadic RPUSH + MSET of the status packets).
 */
export class RedisJobSink implements JobSink {
  private enqueueCall: EnqueueCall | null = null;

  constructor(private readonly connection: ResqueConnection) {}

  async push(job: PreparedJob): Promise<string | undefined> {
    const { keys } = this.connection;
    if (!this.connection.isConnected) await this.connection.connect();
    const call = (this.enqueueCall ??= scriptCommand(this.connection.client, ENQUEUE_SCRIPT));
    const status = job.tracked ? waitingStatus(job.stampedAt) : '';
    const { unique } = job;
    if (!unique) {
      await call(3, keys.queues, keys.queue(job.queue), keys.status(job.id), job.queue, job.payload, status);
      return undefined;
    }
    // unique: the lock is taken (or its holder found) in the same script as the push ('queued' only checks).
    const take = unique.until === 'queued' ? '0' : '1';
    const reply = await call(3, keys.queues, keys.queue(job.queue), keys.status(job.id), job.queue, job.payload, status, keys.key(unique.lock), job.id, unique.ttl, take);
    return typeof reply === 'string' ? reply : undefined;
  }

  async pushBulk(queue: string, jobs: readonly PreparedJob[]): Promise<void> {
    const { keys } = this.connection;
    const payloads = jobs.map((job) => job.payload);
    const statusPairs: string[] = [];
    for (const job of jobs) if (job.tracked) statusPairs.push(keys.status(job.id), waitingStatus(job.stampedAt));
    if (!this.connection.isConnected) await this.connection.connect();
    const multi = this.connection.client.multi();
    multi.sadd(keys.queues, queue);
    const queueKey = keys.queue(queue);
    for (let at = 0; at < payloads.length; at += CHUNK) multi.rpush(queueKey, ...payloads.slice(at, at + CHUNK));
    for (let at = 0; at < statusPairs.length; at += 2 * CHUNK) multi.mset(...statusPairs.slice(at, at + 2 * CHUNK));
    // A command refused while queued (OOM under maxmemory) makes EXEC fail with EXECABORT, which hides the
    // cause: surface the first refusal itself (ioredis keeps them in previousErrors).
    const replies = await multi.exec().catch((error: unknown) => {
      throw (error as { previousErrors?: unknown[] } | null)?.previousErrors?.[0] ?? error;
    });
    if (!replies) throw new Error(`enqueueBulk: the MULTI on ${queueKey} was discarded`);
    const refusal = replies.find(([error]) => error)?.[0];
    if (refusal) throw refusal;
  }
}

function waitingStatus(nowMs: number): string {
  const seconds = Math.floor(nowMs / 1000);
  return encodeStatus({ status: JobStatus.WAITING, updated: seconds, started: seconds });
}

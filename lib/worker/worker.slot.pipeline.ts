import { errorMessage } from '../protocol/index.js';
import type { SlotContext } from './worker.slot.context.js';
import type { ClaimedJob, CycleRequest } from './worker.store.js';

/** A cycle sent without waiting; `done` never rejects (the outcome lands in the entry). */
export interface SentCycle {
  request: CycleRequest;
  settled: boolean;
  jobs: ClaimedJob[] | 'paused' | 'pruned';
  error: unknown;
  done: Promise<void>;
}

/**
 * A slot's pipelined cycle bookkeeping: the jobs it claimed ahead, the cycles in flight (their replies are
 * folded in send order, the order Redis applies them on the one connection) and the cycles that failed
 * with an unknown effect (resynced from the claim list once nothing is in flight).
 */
export class SlotPipeline {
  /** In the claim list, not started, oldest first. */
  claimed: ClaimedJob[] = [];
  /** A cycle found `pause-all-workers` set: stop claiming, put claimed jobs back, poll. */
  pausedByAll = false;
  /** Cycles sent and not folded in yet, in send order (their replies come in that order). */
  private sent: SentCycle[] = [];
  /** Jobs the sent cycles may still claim. */
  private claimsInFlight = 0;
  /** Cycles that failed with an unknown effect: resynced once nothing is in flight. */
  private unconfirmed: CycleRequest[] = [];
  /**
   * The connection dropped: a cycle whose reply was lost is sent again by ioredis on reconnect and runs
   * twice, so jobs its first run claimed are in the claim list but in no reply. Adopt the claim list.
   */
  private connectionLost = false;

  constructor(private readonly slot: SlotContext) {}

  get inFlight(): boolean {
    return this.sent.length > 0;
  }

  get needsResync(): boolean {
    return this.unconfirmed.length > 0 || this.connectionLost;
  }

  /** The connection closed (Redis restarted, a failover): replies may be lost or repeated; resync. */
  noteConnectionLost(): void {
    this.connectionLost = true;
  }

  /** How many more jobs to claim so that `prefetch` are claimed ahead, counting those in flight. */
  claimAhead(prefetch: number): number {
    return Math.max(0, prefetch - this.claimed.length - this.claimsInFlight);
  }

  send(request: CycleRequest): SentCycle {
    const entry: SentCycle = { request, settled: false, jobs: [], error: null, done: Promise.resolve() };
    entry.done = this.slot
      .store()
      .cycle(request)
      .then(
        (jobs) => {
          // A claim ahead that found every head throttled claimed nothing (policy: throttle).
          entry.jobs = Array.isArray(jobs) || typeof jobs === 'string' ? jobs : [];
          entry.settled = true;
          // Noticed now, not at the next fold: the running job's signal is aborted while it runs.
          if (jobs === 'pruned') this.slot.notePruned('job start', request);
        },
        (error: unknown) => {
          entry.error = error ?? new Error('cycle failed');
          entry.settled = true;
        },
      );
    this.claimsInFlight += request.claim;
    this.sent.push(entry);
    return entry;
  }

  /** Takes in the replies that arrived, in send order. */
  fold(): void {
    for (let entry = this.sent[0]; entry?.settled; entry = this.sent[0]) {
      this.sent.shift();
      this.claimsInFlight -= entry.request.claim;
      if (entry.error !== null) {
        this.slot.logger.error(`worker ${this.slot.id}: a job's bookkeeping call failed: ${errorMessage(entry.error)}; resyncing`);
        this.unconfirmed.push(entry.request);
      } else if (entry.jobs === 'paused') {
        this.pausedByAll = true;
      } else if (entry.jobs === 'pruned') {
        // noticed when the reply came (send)
      } else if (this.unconfirmed.length === 0 && !this.connectionLost && !this.slot.pruned) {
        // After a failure or a dropped connection the claim list is re-read instead (resync).
        for (const job of entry.jobs) this.claimed.push(job);
      }
    }
  }

  /** Waits for the oldest cycle in flight (if any). */
  async oldest(): Promise<void> {
    await this.sent[0]?.done;
  }

  /** Waits until no cycle is in flight. */
  async drain(): Promise<void> {
    for (let entry = this.sent[0]; entry; entry = this.sent[0]) {
      await entry.done;
      this.fold();
    }
  }

  /** Nothing in flight, nothing unknown: the claim list and `claimed` agree. */
  async settle(): Promise<void> {
    await this.drain();
    if (this.needsResync) await this.resync();
  }

  /** After a prune: what the failed cycles did no longer matters (the pruner took the jobs back). */
  forgetUnconfirmed(): void {
    this.unconfirmed = [];
  }

  /**
   * Cycles failed with an unknown effect: once none is in flight, apply what did not happen and adopt the
   * claim list as the claimed jobs (retried until it goes through, or a few times once stopping).
   */
  async resync(): Promise<void> {
    await this.drain();
    const unconfirmed = this.unconfirmed;
    this.connectionLost = false; // a drop from now on calls for another resync
    for (let attempt = 1; ; attempt++) {
      try {
        const claimed = await this.slot.store().resync(unconfirmed);
        this.unconfirmed = [];
        if (claimed === 'pruned') {
          this.slot.notePruned('resync');
          this.claimed = [];
        } else {
          this.claimed = claimed;
        }
        return;
      } catch (error) {
        if (this.slot.stopping && attempt >= 5) {
          this.slot.logger.error(`worker ${this.slot.id}: giving up resyncing its claimed jobs: ${errorMessage(error)}`);
          this.unconfirmed = [];
          this.claimed = [];
          return;
        }
        await new Promise((r) => setTimeout(r, Math.min(5_000, 200 * attempt)));
      }
    }
  }

  /** Puts the claimed jobs back at the head of their queues (paused: other workers may take them). */
  async release(): Promise<void> {
    try {
      await this.slot.store().release();
      this.claimed = [];
    } catch (error) {
      // They stay claimed: started after resuming, or put back by unregister.
      this.slot.logger.error(`worker ${this.slot.id}: could not put claimed jobs back: ${errorMessage(error)}`);
    }
  }
}

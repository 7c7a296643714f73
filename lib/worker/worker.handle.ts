/** 'quit': finish running jobs, then exit (QUIT). 'term': kill running jobs' children now, record them as dirty exits (TERM/INT). */
export type WorkerStopReason = 'quit' | 'term';

/** What `ResqueWorkerHost.run` returns. */
export interface ResqueWorkerHandle {
  /** The Resque worker ids of the slots (`host:pid:queues`); empty in a child process. */
  readonly workerIds: readonly string[];
  /** Stops the host (default 'quit'); resolves once everything is closed and unregistered. */
  stop(reason?: WorkerStopReason): Promise<void>;
  /** Resolves when the host has shut down (after a signal or stop()). */
  readonly closed: Promise<void>;
}

/**
 * A job's abort: TERM/INT, its timeout or a prune notice abort it; the job sees it as `ctx.signal`. Node 20
 * makes an AbortSignal slowly (several µs, a noticeable share of a no-op job), and most jobs never read
 * theirs: the AbortController is made only when the signal is read, already aborted if the abort came first.
 */
export class JobAbort {
  private controller: AbortController | null = null;
  private done = false;
  private why: unknown = undefined;
  private listeners: Array<(reason: unknown) => void> | null = null;

  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.done) this.controller.abort(this.why);
    }
    return this.controller.signal;
  }

  /** Aborts once (later calls are ignored, as AbortController's are). */
  abort(reason: unknown): void {
    if (this.done) return;
    this.done = true;
    this.why = reason;
    this.controller?.abort(reason);
    for (const listener of this.listeners ?? []) listener(reason);
  }

  /** Calls `listener` on abort (at once if already aborted); returns what removes it. */
  onAbort(listener: (reason: unknown) => void): () => void {
    if (this.done) {
      listener(this.why);
      return () => undefined;
    }
    (this.listeners ??= []).push(listener);
    return () => {
      const i = this.listeners?.indexOf(listener) ?? -1;
      if (i >= 0) this.listeners!.splice(i, 1);
    };
  }
}

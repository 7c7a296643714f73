/**
 * php-resque/Ruby worker signals (resque-protocol.md §6):
 * QUIT → finish the current job, then exit; TERM/INT → Ruby's TERM sequence (RESQUE_PRE_SHUTDOWN_TIMEOUT,
 * abort ctx.signal, RESQUE_TERM_TIMEOUT, then SIGKILL), then exit;
 * USR1 → kill the current child, keep working; USR2/CONT → pause/resume.
 */
export interface SignalActions {
  /** Every handled signal first: the log line (`meaning` says what the worker does). */
  received(signal: NodeJS.Signals, meaning: string): void;
  quit(signal: NodeJS.Signals): void;
  terminate(signal: NodeJS.Signals): void;
  killChildren(): void;
  pause(): void;
  resume(): void;
}

/** Installs the handlers; returns the remover. */
export function installSignalHandlers(actions: SignalActions): () => void {
  const stopJobs = 'stopping the running jobs (TERM sequence), then exiting';
  const table: Array<[NodeJS.Signals, string, (signal: NodeJS.Signals) => void]> = [
    ['SIGQUIT', 'finishing the running jobs, then exiting', (s) => actions.quit(s)],
    ['SIGTERM', stopJobs, (s) => actions.terminate(s)],
    ['SIGINT', stopJobs, (s) => actions.terminate(s)],
    // Node reserves USR1 for the inspector; a listener takes it over, as php/Ruby semantics require.
    ['SIGUSR1', 'killing the running children', () => actions.killChildren()],
    ['SIGUSR2', 'pausing', () => actions.pause()],
    ['SIGCONT', 'resuming', () => actions.resume()],
  ];
  const handlers = table.map(([signal, meaning, act]): [NodeJS.Signals, (s: NodeJS.Signals) => void] => [
    signal,
    (s) => {
      actions.received(s, meaning);
      act(s);
    },
  ]);
  for (const [signal, handler] of handlers) process.on(signal, handler);
  return () => {
    for (const [signal, handler] of handlers) process.off(signal, handler);
  };
}

/**
 * php-resque/Ruby worker signals (resque-protocol.md §6):
 * QUIT → finish the current job, then exit; TERM/INT → kill the child now (dirty exit), then exit;
 * USR1 → kill the current child, keep working; USR2/CONT → pause/resume.
 */
export interface SignalActions {
  quit(signal: NodeJS.Signals): void;
  terminate(signal: NodeJS.Signals): void;
  killChildren(): void;
  pause(): void;
  resume(): void;
}

/** Installs the handlers; returns the remover. */
export function installSignalHandlers(actions: SignalActions): () => void {
  const table: Array<[NodeJS.Signals, (signal: NodeJS.Signals) => void]> = [
    ['SIGQUIT', (s) => actions.quit(s)],
    ['SIGTERM', (s) => actions.terminate(s)],
    ['SIGINT', (s) => actions.terminate(s)],
    // Node reserves USR1 for the inspector; a listener takes it over, as php/Ruby semantics require.
    ['SIGUSR1', () => actions.killChildren()],
    ['SIGUSR2', () => actions.pause()],
    ['SIGCONT', () => actions.resume()],
  ];
  for (const [signal, handler] of table) process.on(signal, handler);
  return () => {
    for (const [signal, handler] of table) process.off(signal, handler);
  };
}

/** The env variable that turns a re-executed entrypoint into a child (value: the slot number). */
export const CHILD_ENV = 'NESTJS_RESQUE_CHILD';

/**
 * Signals a child leaves to its parent: a terminal, systemd (KillMode=control-group) or an init that forwards
 * to the group send them to every process, and the parent decides (TERM reaches a running job as an `abort`
 * message after `preShutdownTimeoutMs`).
 */
const PARENT_SIGNALS: NodeJS.Signals[] = ['SIGQUIT', 'SIGTERM', 'SIGINT', 'SIGUSR1', 'SIGUSR2', 'SIGCONT'];

/** How often a child compares its parent pid with the one it started under (a safety net for 'disconnect'). */
const PPID_CHECK_MS = 1_000;

let guarded = false;

/**
 * In a pool child, exit at once when the parent goes away, in every phase: importing, booting, idle or
 * mid-job (the dead parent's `worker:<id>` job belongs to the pruner, so nothing here is worth finishing).
 * This module installs it as a side effect as soon as the library is loaded in a child, because a parent that
 * dies before a listener exists only flips `process.connected`: no later 'disconnect' event comes. So the
 * flag is checked right away, and a cheap ppid check catches a lost channel event. A process that has the
 * env variable but no IPC channel (a user's own subprocess inheriting our env) is left alone. Idempotent.
 * From the same moment the child ignores the signals a terminal sends the whole group (Ctrl-C): only its
 * parent decides when it ends, also while it boots.
 */
export function guardParent(): void {
  if (guarded || process.env[CHILD_ENV] === undefined || typeof process.send !== 'function') return;
  guarded = true;
  for (const signal of PARENT_SIGNALS) process.on(signal, () => undefined);
  const leave = (): never => process.exit(1);
  process.once('disconnect', leave);
  if (!process.connected) leave();
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent || !process.connected) leave();
  }, PPID_CHECK_MS).unref();
}

guardParent();

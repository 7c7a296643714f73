/** Command-line parsing for the `nestjs-resque` bin: small and dependency-free. */
export type CliCommand =
  | { kind: 'help' }
  | { kind: 'version' }
  | { kind: 'worker' | 'scheduler'; path: string; moduleName: string | undefined };

/** A usage mistake: printed with the usage text, exit code 2 (the shell's convention). */
export class CliUsageError extends Error {
  override readonly name = 'CliUsageError';
}

export const USAGE = `Usage:
  nestjs-resque worker <path/to/worker-module.js> [--module ExportName]
  nestjs-resque scheduler <path/to/scheduler-module.js> [--module ExportName]
  nestjs-resque --help | --version

The file is imported and its Nest module is used: the export named by --module, else the default
export, else the only exported class with Nest module metadata.

Environment (php-resque's names; a bad value stops start-up, naming the variable):
  QUEUE             worker: comma list of queues in priority order, * = all (required)
  QUEUES            worker: Ruby's name, read when QUEUE is unset
  COUNT             worker: number of slots, each its own Resque worker and child (default 1)
  PREFIX            key namespace; "foo" and "foo:" are the same (default resque)
  INTERVAL          seconds, fractions allowed: worker poll sleep / blocking-pop timeout (default 5),
                    scheduler pass interval (default 1)
  BLOCKING          worker: any value, even 0 or empty, enables blocking pops
  LOGGING, VERBOSE  verbose logs (off when unset, empty or 0)
  VVERBOSE          debug logs, and stack traces of start-up errors
  PIDFILE           write the pid here, removed on exit
  REDIS_BACKEND     host:port | redis://[user:pass@]host:port[/db] | rediss://... | tcp://... | unix:///path.sock
                    (default localhost:6379)
  REDIS_BACKEND_DB  db index (a db in REDIS_BACKEND wins; default 0)
  APP_INCLUDE       a file imported before the module (must exist)
  RESQUE_PRE_SHUTDOWN_TIMEOUT  worker: seconds a job may go on after TERM/INT (default 0)
  RESQUE_TERM_TIMEOUT          worker: seconds an aborted job may take to stop, then SIGKILL (default 4)
  NO_COLOR          worker: any non-empty value turns log colours off
`;

export function parseCliArgs(argv: readonly string[]): CliCommand {
  const [command, ...rest] = argv;
  // No arguments is a usage mistake (exit 2), not a request for help: a script missing its command must fail.
  if (command === undefined) throw new CliUsageError('missing command');
  if (command === '--help' || command === '-h' || command === 'help') return { kind: 'help' };
  if (command === '--version' || command === '-v') return { kind: 'version' };
  if (command !== 'worker' && command !== 'scheduler') throw new CliUsageError(`unknown command "${command}"`);
  return readFileArgs(command, rest);
}

/** `<file> [--module Name]` of `worker`/`scheduler`; `--help` anywhere asks for help. */
function readFileArgs(command: 'worker' | 'scheduler', rest: readonly string[]): CliCommand {
  let path: string | undefined;
  let moduleName: string | undefined;
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i] ?? '';
    if (arg === '--help' || arg === '-h') return { kind: 'help' };
    if (arg === '--module' || arg === '-m') {
      moduleName = separateValue(arg, rest[++i]);
    } else if (arg.startsWith('--module=')) {
      moduleName = arg.slice('--module='.length);
      if (moduleName === '') throw new CliUsageError('--module needs an export name');
    } else if (arg.startsWith('-')) {
      throw new CliUsageError(`unknown option "${arg}"`);
    } else if (path === undefined) {
      path = arg;
    } else {
      throw new CliUsageError(`unexpected argument "${arg}"`);
    }
  }
  if (path === undefined) throw new CliUsageError(`${command} needs the path of a file exporting a Nest module`);
  return { kind: command, path, moduleName };
}

/** The value after `--module`/`-m`: an option in its place means it was left out. */
function separateValue(flag: string, value: string | undefined): string {
  if (value === undefined || value.startsWith('-')) throw new CliUsageError(`${flag} needs an export name`);
  return value;
}

#!/usr/bin/env node
// First: the worker's children re-run this entry, and must watch their parent before the app is imported.
import '../worker/worker.parent-guard.js';
import { readFileSync } from 'node:fs';
import { CliUsageError, parseCliArgs, USAGE, type CliCommand } from './cli.args.js';

/**
 * The `nestjs-resque` bin (dist/cli/cli.main.js):
 *   nestjs-resque worker <file> [--module Name]     QUEUE=… and the other php-resque variables apply
 *   nestjs-resque scheduler <file> [--module Name]
 * Exit codes: 0 done, 1 failure (bad environment, missing file, host error; logged through Nest's Logger),
 * 2 usage error, no arguments included (usage on stderr). Nest and the hosts are imported only for real
 * commands, so --help is quick.
 * The worker host starts its children by re-running this same entry with the same arguments (and the
 * parent's execArgv, so a TypeScript loader carries over), so everything here must be safe to run twice.
 */
function version(): string {
  // lib/cli and dist/cli both sit two levels below package.json.
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

export async function main(argv: readonly string[]): Promise<number> {
  let command: CliCommand;
  try {
    command = parseCliArgs(argv);
  } catch (error) {
    if (!(error instanceof CliUsageError)) throw error;
    process.stderr.write(`nestjs-resque: ${error.message}\n\n${USAGE}`);
    return 2;
  }
  if (command.kind === 'help') {
    process.stdout.write(USAGE);
    return 0;
  }
  if (command.kind === 'version') {
    process.stdout.write(`${version()}\n`);
    return 0;
  }
  const { runCommand } = await import('./cli.run.js');
  return runCommand(command.kind, command.path, command.moduleName);
}

main(process.argv.slice(2)).then(
  (code) => {
    // On success a host that keeps running (timers, sockets) decides when the process ends. A failure ends
    // it now: whatever is left open (a worker child's IPC channel, a half-built context) does no work.
    if (code !== 0) process.exit(code);
  },
  (error: unknown) => {
    process.stderr.write(`nestjs-resque: ${String(error)}\n`);
    process.exit(1);
  },
);

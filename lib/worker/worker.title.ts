import { readFileSync } from 'node:fs';

/**
 * Process titles in Ruby's shape, `resque-<version>: …`: Ruby's pruner greps `ps` for `resque-[0-9]` and
 * php-resque's for `resque`, so peers on the same host see our pids as live workers (resque-protocol.md §6).
 */
export const RESQUE_VERSION: string = readVersion();

function readVersion(): string {
  // lib/worker/ and dist/worker/ are both two levels below package.json.
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : '0.0.0';
  } catch {
    return '0.0.0';
  }
}

export function waitingTitle(queues: readonly string[]): string {
  return `resque-${RESQUE_VERSION}: Waiting for ${queues.join(',')}`;
}

export function processingTitle(queue: string, className: string, since: Date = new Date()): string {
  return `resque-${RESQUE_VERSION}: Processing ${queue} since ${Math.floor(since.getTime() / 1000)} [${className}]`;
}

export function pausedTitle(): string {
  return `resque-${RESQUE_VERSION}: Paused`;
}

export function childTitle(slot: number): string {
  return `resque-${RESQUE_VERSION}: Child of ${process.ppid} (slot ${slot})`;
}

let current = '';

/** Sets the process title when it changed (setting it rewrites the argv area: not free per job). */
export function setTitle(title: string): void {
  if (title === current) return;
  current = title;
  try {
    process.title = title;
  } catch {
    // some platforms refuse; the title only helps peers' pruners
  }
}

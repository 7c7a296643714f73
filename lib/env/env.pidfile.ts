import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * PIDFILE: writes this process's pid on start and removes the file on exit (normal exit, or the signals
 * a supervisor sends), but only if it still holds our pid, so a successor's file is never deleted.
 * Returns the remover (idempotent) for callers that shut down on their own.
 */
export function writePidFile(path: string, pid: number = process.pid): () => void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${pid}\n`);
  let removed = false;
  const remove = (): void => {
    if (removed) return;
    removed = true;
    process.off('exit', remove);
    try {
      if (readFileSync(path, 'utf8').trim() === String(pid)) rmSync(path, { force: true });
    } catch {
      // already gone
    }
  };
  // 'exit' covers every way a Node process ends on its own, including after signal handlers call exit().
  process.on('exit', remove);
  return remove;
}

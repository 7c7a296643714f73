// Holds a worker child in one phase of its life, so a test can kill it (or its parent) there. In a child
// whose T_HOLD names the phase: the file T_HOLD_DIR/<phase>-<pid> marks it, then the child waits T_HOLD_MS.
// T_HOLD_ONCE=1: only the first child that gets there holds (its replacement goes through). T_HOLD_SKIP=n:
// the first n children that get there go through (marked passed-<phase>-<pid>), the later ones hold.
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export async function holdIfAsked(phase: 'import' | 'boot'): Promise<void> {
  const dir = process.env['T_HOLD_DIR'];
  if (process.env['NESTJS_RESQUE_CHILD'] === undefined || process.env['T_HOLD'] !== phase || !dir) return;
  if (process.env['T_HOLD_ONCE'] && readdirSync(dir).some((name) => name.startsWith(`${phase}-`))) return;
  const skip = Number(process.env['T_HOLD_SKIP'] ?? 0);
  if (readdirSync(dir).filter((name) => name.startsWith(`passed-${phase}-`)).length < skip) {
    writeFileSync(join(dir, `passed-${phase}-${process.pid}`), '');
    return;
  }
  writeFileSync(join(dir, `${phase}-${process.pid}`), '');
  await new Promise((resolve) => setTimeout(resolve, Number(process.env['T_HOLD_MS'] ?? 60_000)));
}

// Evaluated before the library and the app (the entrypoint imports this file first): the import phase.
await holdIfAsked('import');

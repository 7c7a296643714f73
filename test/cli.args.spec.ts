import 'reflect-metadata';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Module } from '@nestjs/common';
import { describe, expect, it } from 'vitest';
import { CliUsageError, parseCliArgs, USAGE } from '../lib/cli/cli.args.js';
import { DEFAULT_SCHEDULER_INTERVAL } from '../lib/scheduler/scheduler.engine.js';
import { CHILD_ENV } from '../lib/worker/worker.parent-guard.js';
import { WORKER_DEFAULTS } from '../lib/worker/worker.options.js';
import { isNestModuleClass, pickModuleClass } from '../lib/cli/cli.module-loader.js';

@Module({ imports: [] })
class AModule {}
@Module({})
class EmptyModule {}
@Module({ providers: [] })
class BModule {}
class NotAModule {}

describe('parseCliArgs', () => {
  it('parses worker and scheduler commands with --module', () => {
    expect(parseCliArgs(['worker', 'dist/w.js'])).toEqual({ kind: 'worker', path: 'dist/w.js', moduleName: undefined });
    expect(parseCliArgs(['worker', 'w.js', '--module', 'WorkerModule'])).toEqual({ kind: 'worker', path: 'w.js', moduleName: 'WorkerModule' });
    expect(parseCliArgs(['scheduler', '--module=S', 's.js'])).toEqual({ kind: 'scheduler', path: 's.js', moduleName: 'S' });
    expect(parseCliArgs(['--help'])).toEqual({ kind: 'help' });
    expect(parseCliArgs(['worker', '--help'])).toEqual({ kind: 'help' });
    expect(parseCliArgs(['--version'])).toEqual({ kind: 'version' });
  });

  it('rejects usage mistakes with CliUsageError', () => {
    const cases: Array<[string[], string]> = [
      [[], 'missing command'],
      [['work'], 'unknown command "work"'],
      [['worker'], 'worker needs the path'],
      [['worker', 'a.js', 'b.js'], 'unexpected argument "b.js"'],
      [['worker', 'a.js', '--module'], '--module needs an export name'],
      [['worker', 'a.js', '--queue', 'x'], 'unknown option "--queue"'],
    ];
    for (const [argv, message] of cases) {
      expect(() => parseCliArgs(argv)).toThrow(CliUsageError);
      expect(() => parseCliArgs(argv)).toThrow(message);
    }
  });
});

describe('pickModuleClass', () => {
  it('recognises Nest module classes', () => {
    expect(isNestModuleClass(AModule)).toBe(true);
    expect(isNestModuleClass(NotAModule)).toBe(false);
    expect(isNestModuleClass({})).toBe(false);
    expect(isNestModuleClass(EmptyModule)).toBe(false); // Nest stores no metadata for @Module({})
  });

  it('takes the named export, else the default export, else the only module', () => {
    expect(pickModuleClass({ AModule, BModule }, 'f.js', 'BModule')).toBe(BModule);
    expect(pickModuleClass({ default: AModule, BModule }, 'f.js')).toBe(AModule);
    expect(pickModuleClass({ AModule, NotAModule, helper: 1 }, 'f.js')).toBe(AModule);
    expect(pickModuleClass({ AModule, default: AModule }, 'f.js')).toBe(AModule);
    // an empty module: only by name or as the default export
    expect(pickModuleClass({ EmptyModule }, 'f.js', 'EmptyModule')).toBe(EmptyModule);
    expect(pickModuleClass({ default: EmptyModule }, 'f.js')).toBe(EmptyModule);
  });

  it('explains what is wrong', () => {
    expect(() => pickModuleClass({ AModule, BModule }, 'f.js')).toThrow('f.js exports several Nest modules (AModule, BModule): choose one with --module <name>');
    expect(() => pickModuleClass({ NotAModule }, 'f.js')).toThrow('f.js exports no Nest module class');
    expect(() => pickModuleClass({ AModule }, 'f.js', 'Nope')).toThrow('f.js has no export named "Nope" (Nest modules exported: AModule)');
    expect(() => pickModuleClass({ x: 1 }, 'f.js', 'x')).toThrow('export "x" of f.js is not a Nest module class');
  });
});

describe('--help says what the code does', () => {
  /** Variables the library reads: names quoted in lib/env (its readers take the name), and env['X'] anywhere. */
  function variablesRead(): Set<string> {
    const names = new Set<string>();
    for (const entry of readdirSync('lib', { recursive: true, withFileTypes: true })) {
      if (!entry.isFile() || !entry.name.endsWith('.ts')) continue;
      const path = join(entry.parentPath, entry.name);
      const source = readFileSync(path, 'utf8');
      if (path.startsWith(join('lib', 'env'))) for (const m of source.matchAll(/'([A-Z][A-Z0-9_]{2,})'/g)) names.add(m[1]!);
      for (const m of source.matchAll(/(?:process\.env|\benv)\[['"]([A-Z][A-Z0-9_]*)['"]\]/g)) names.add(m[1]!);
    }
    names.delete(CHILD_ENV); // ours, set for the worker's children
    return names;
  }

  /** The variables --help lists: `  NAME` or `  NAME, OTHER` at the start of a line of the Environment part. */
  function variablesListed(): Map<string, string> {
    const lines = new Map<string, string>();
    const text = USAGE.slice(USAGE.indexOf('Environment'));
    let last = '';
    for (const line of text.split('\n').slice(1)) {
      const m = /^ {2}([A-Z][A-Z0-9_]*)(?:, ([A-Z][A-Z0-9_]*))? /.exec(line);
      if (m) {
        last = line;
        for (const name of [m[1]!, m[2]].filter((n): n is string => n !== undefined)) lines.set(name, line);
      } else if (/^ {10,}/.test(line) && last !== '') {
        // A continuation line belongs to the variable above.
        for (const [name, text] of lines) if (text === last) lines.set(name, `${text} ${line.trim()}`);
        last = `${last} ${line.trim()}`;
      }
    }
    return lines;
  }

  it('lists every environment variable the library reads, and none it does not', () => {
    const read = [...variablesRead()].sort();
    expect(read).toEqual(expect.arrayContaining(['QUEUE', 'PREFIX', 'REDIS_BACKEND', 'RESQUE_TERM_TIMEOUT', 'NO_COLOR']));
    expect([...variablesListed().keys()].sort()).toEqual(read);
  });

  it("gives the code's defaults: INTERVAL per command, COUNT as slots, the TERM timeouts", () => {
    const listed = variablesListed();
    expect(listed.get('INTERVAL')).toContain(`worker poll sleep / blocking-pop timeout (default ${WORKER_DEFAULTS.interval})`);
    expect(listed.get('INTERVAL')).toContain(`scheduler pass interval (default ${DEFAULT_SCHEDULER_INTERVAL})`);
    expect(listed.get('COUNT')).toContain(`number of slots, each its own Resque worker and child (default ${WORKER_DEFAULTS.concurrency})`);
    expect(listed.get('RESQUE_PRE_SHUTDOWN_TIMEOUT')).toContain(`(default ${WORKER_DEFAULTS.preShutdownTimeoutMs / 1000})`);
    expect(listed.get('RESQUE_TERM_TIMEOUT')).toContain(`(default ${WORKER_DEFAULTS.termTimeoutMs / 1000})`);
  });
});

import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { describe, expect, it } from 'vitest';
import { CliUsageError, parseCliArgs } from '../lib/cli/cli.args.js';
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

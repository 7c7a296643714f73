// The API report (scripts/api-report.mjs), which `npm test` runs in check mode: it finds the entries in
// package.json `exports`, gives each exported name its kind, catches a JavaScript export the declarations do
// not declare, and names what a change adds and removes. Fixture packages are written to a temp dir.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { collect, differences, entries, render, runtimeMismatches } from '../scripts/api-report.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dir = mkdtempSync(join(tmpdir(), 'api-report-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function write(files: Record<string, string>): void {
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
}

describe('api-report', () => {
  it('takes every entry with typings from package.json exports, so a new entry point is reported', () => {
    const list = entries({
      exports: {
        '.': { types: './dist/index.d.ts', default: './dist/index.js' },
        './health': { import: { types: './dist/health/index.d.ts', default: './dist/health/index.js' } },
        './metrics': './dist/metrics/index.js',
        './package.json': './package.json',
        './features/*': { types: './dist/features/*.d.ts', default: './dist/features/*.js' },
      },
    });
    expect(list).toEqual([
      { subpath: '.', types: './dist/index.d.ts', js: './dist/index.js' },
      { subpath: './health', types: './dist/health/index.d.ts', js: './dist/health/index.js' },
      { subpath: './metrics', types: './dist/metrics/index.d.ts', js: './dist/metrics/index.js' },
    ]);
    const ours = entries(JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { exports: unknown });
    expect(ours.map((e) => e.subpath)).toEqual(expect.arrayContaining(['.', './testing']));
  });

  it('gives each exported name its kind, through re-exports, and marks type-only exports of values', () => {
    write({
      'package.json': '{ "type": "module" }',
      'b.d.ts': 'export declare class B {}\nexport declare class C {}\n',
      'index.d.ts': [
        'export declare class A {}',
        'export declare function f(): void;',
        'export interface I { x: number }',
        'export type T = string;',
        'export declare const c: number;',
        'export declare let l: number;',
        'export declare enum E { X = 0 }',
        'export declare const S: { readonly a: 1 };',
        'export type S = typeof S;',
        "export { B } from './b.js';",
        "export type { C } from './b.js';",
      ].join('\n'),
    });
    const [report] = collect([{ subpath: '.', types: join(dir, 'index.d.ts'), js: undefined }]);
    expect(report!.names).toEqual([
      { name: 'A', kinds: ['class'] },
      { name: 'B', kinds: ['class'] },
      { name: 'C', kinds: ['type-only class'] },
      { name: 'E', kinds: ['enum'] },
      { name: 'I', kinds: ['interface'] },
      { name: 'S', kinds: ['const', 'type'] },
      { name: 'T', kinds: ['type'] },
      { name: 'c', kinds: ['const'] },
      { name: 'f', kinds: ['function'] },
      { name: 'l', kinds: ['let'] },
    ]);
  });

  it('reports a runtime export that the declarations do not declare as a value, and a declared value missing at runtime', async () => {
    write({
      'rt/package.json': '{ "type": "module" }',
      'rt/index.d.ts': 'export declare class A {}\nexport declare function gone(): void;\nexport interface I {}\n',
      'rt/index.js': 'export class A {}\nexport const internal = 1;\n',
    });
    const report = collect([{ subpath: '.', types: join(dir, 'rt/index.d.ts'), js: join(dir, 'rt/index.js') }]);
    expect((await runtimeMismatches(report)).sort()).toEqual([
      '.: gone is declared as a value but missing at runtime',
      '.: internal is exported at runtime but not declared as a value',
    ]);
  });

  it('names what a change adds and removes, per entry', () => {
    const entry = (names: Array<[string, string[]]>) => ({
      subpath: './testing',
      types: 'x.d.ts',
      js: undefined,
      names: names.map(([name, kinds]) => ({ name, kinds })),
    });
    const before = render([entry([['A', ['class']], ['Old', ['function']]])]);
    const after = render([entry([['A', ['interface']], ['New', ['const']]])]);
    expect(differences(before, before)).toEqual({ added: [], removed: [] });
    const { added, removed } = differences(before, after);
    expect(added.map((l) => l.replace(/\s+/g, ' '))).toEqual(['nestjs-resque/testing: interface A', 'nestjs-resque/testing: const New']);
    expect(removed.map((l) => l.replace(/\s+/g, ' '))).toEqual(['nestjs-resque/testing: class A', 'nestjs-resque/testing: function Old']);
  });
});

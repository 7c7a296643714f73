#!/usr/bin/env node
// The public API report: every name each package entry exports, with its kind, in api/nestjs-resque.api.md.
//
// - The entries come from package.json `exports` (each one with a `types` condition), so a new entry point
//   (`./health`, `./dashboard`, ...) is reported without touching this script.
// - Names and kinds are read from the built declarations (dist/**/*.d.ts, run `npm run build` first) with the
//   TypeScript compiler API; the runtime exports of each entry's JavaScript must match the value names of its
//   declarations (a type-only export that is a value at runtime, or the reverse, is reported too).
// - `node scripts/api-report.mjs --check` (run by `npm test`) fails when the committed report differs from
//   the build, naming each added and removed export; `npm run api:update` (build, then this script) rewrites
//   the report after an intended change, which then shows up in review as a diff of that file.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const reportPath = join(root, 'api', 'nestjs-resque.api.md');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

/** The file a condition (`types`, `default`, ...) selects in an `exports` target, following nested conditions. */
function pick(target, condition) {
  if (typeof target === 'string') return condition === 'types' ? target.replace(/\.m?js$/, '.d.ts') : target;
  if (target === null || typeof target !== 'object') return undefined;
  if (typeof target[condition] === 'string') return target[condition];
  for (const key of ['import', 'node', 'default']) {
    const nested = target[key] !== undefined ? pick(target[key], condition) : undefined;
    if (nested !== undefined) return nested;
  }
  return undefined;
}

/** Each `exports` entry with typings: its subpath ('.' for the root), its .d.ts and its JavaScript file. */
export function entries(packageJson) {
  const exports = packageJson.exports;
  if (exports === undefined) return [{ subpath: '.', types: packageJson.types, js: packageJson.main }];
  const map = typeof exports === 'string' || !Object.keys(exports).some((k) => k.startsWith('.')) ? { '.': exports } : exports;
  const list = [];
  for (const [subpath, target] of Object.entries(map)) {
    const types = pick(target, 'types');
    // package.json and patterns have no API of their own.
    if (types === undefined || !types.endsWith('.d.ts') || subpath.includes('*')) continue;
    list.push({ subpath, types, js: pick(target, 'default') ?? pick(target, 'import') });
  }
  return list.sort((a, b) => a.subpath.localeCompare(b.subpath));
}

/** The kinds one exported symbol stands for (a name can be a value and a type at once). */
function kindsOf(symbol) {
  const f = symbol.flags;
  const kinds = [];
  if (f & ts.SymbolFlags.Class) kinds.push('class');
  if (f & ts.SymbolFlags.Enum) kinds.push('enum');
  if (f & ts.SymbolFlags.Function) kinds.push('function');
  if (f & ts.SymbolFlags.Variable) {
    const declaration = symbol.declarations?.find(ts.isVariableDeclaration);
    const list = declaration?.parent;
    kinds.push(list && ts.isVariableDeclarationList(list) && !(list.flags & ts.NodeFlags.Const) ? 'let' : 'const');
  }
  if (f & ts.SymbolFlags.ValueModule) kinds.push('namespace');
  else if (f & ts.SymbolFlags.NamespaceModule) kinds.push('type namespace');
  if (f & ts.SymbolFlags.Interface && !(f & ts.SymbolFlags.Class)) kinds.push('interface');
  if (f & ts.SymbolFlags.TypeAlias) kinds.push('type');
  return kinds;
}

const VALUE_KINDS = new Set(['class', 'enum', 'function', 'const', 'let', 'namespace']);

/** `{ subpath, names: [{ name, kinds }] }` for each entry, read from the built declarations. */
export function collect(entryList) {
  const files = entryList.map((e) => resolve(root, e.types));
  for (const file of files) {
    if (!existsSync(file)) throw new Error(`api-report: ${relative(root, file)} is missing; run \`npm run build\` first`);
  }
  const program = ts.createProgram(files, {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    skipLibCheck: true,
    noEmit: true,
    types: ['node'],
  });
  const checker = program.getTypeChecker();
  return entryList.map((entry, i) => {
    const source = program.getSourceFile(files[i]);
    const moduleSymbol = source && checker.getSymbolAtLocation(source);
    if (!moduleSymbol) throw new Error(`api-report: ${entry.types} is not a module`);
    const names = checker.getExportsOfModule(moduleSymbol).map((exported) => {
      const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
      // `export type { X }` of a class exposes only its type: record it as such.
      const typeOnly = exported.declarations?.some((d) => ts.isTypeOnlyImportOrExportDeclaration?.(d)) ?? false;
      let kinds = kindsOf(symbol);
      if (typeOnly) kinds = kinds.map((k) => (VALUE_KINDS.has(k) ? `type-only ${k}` : k));
      return { name: exported.name, kinds };
    });
    names.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    return { subpath: entry.subpath, types: entry.types, js: entry.js, names };
  });
}

/** The report's text: one section per entry, one line per export. */
export function render(report) {
  const out = [
    '# nestjs-resque public API',
    '',
    '<!-- Generated by scripts/api-report.mjs from the built declarations. Do not edit by hand:',
    '     run `npm run api:update` after an intended change of the public API. -->',
    '',
  ];
  for (const entry of report) {
    const name = entry.subpath === '.' ? pkg.name : `${pkg.name}/${entry.subpath.replace(/^\.\//, '')}`;
    const values = entry.names.filter((n) => n.kinds.some((k) => VALUE_KINDS.has(k))).length;
    out.push(`## ${name}`, '', `${entry.names.length} exports (${values} runtime values)`, '', '```');
    for (const n of entry.names) out.push(`${n.kinds.join(' + ').padEnd(18)} ${n.name}`);
    out.push('```', '');
  }
  return out.join('\n');
}

/** Runtime exports that the declarations do not declare as values, and declared values missing at runtime. */
export async function runtimeMismatches(report) {
  const problems = [];
  for (const entry of report) {
    if (entry.js === undefined) continue;
    const module = await import(pathToFileURL(resolve(root, entry.js)).href);
    const runtime = new Set(Object.keys(module));
    const declared = new Set(
      entry.names.filter((n) => n.kinds.some((k) => VALUE_KINDS.has(k))).map((n) => n.name),
    );
    for (const name of runtime) if (!declared.has(name)) problems.push(`${entry.subpath}: ${name} is exported at runtime but not declared as a value`);
    for (const name of declared) if (!runtime.has(name)) problems.push(`${entry.subpath}: ${name} is declared as a value but missing at runtime`);
  }
  return problems;
}

/** `section: line` strings of a report text, to name what was added and removed. */
function lines(text) {
  const result = new Set();
  let section = '';
  let inBlock = false;
  for (const line of text.split('\n')) {
    if (line.startsWith('## ')) section = line.slice(3);
    else if (line === '```') inBlock = !inBlock;
    else if (inBlock && line.trim() !== '') result.add(`${section}: ${line.replace(/\s+/g, ' ').trim()}`);
  }
  return result;
}

/** What a new report adds to and removes from a committed one, as `<entry>: <kind> <name>` lines. */
export function differences(committed, current) {
  const before = lines(committed);
  const after = lines(current);
  return { added: [...after].filter((l) => !before.has(l)), removed: [...before].filter((l) => !after.has(l)) };
}

async function main(argv) {
  const mode = argv.includes('--check') ? 'check' : 'update';
  const report = collect(entries(pkg));
  const problems = await runtimeMismatches(report);
  if (problems.length > 0) {
    console.error(`api-report: the JavaScript and the declarations disagree:\n  ${problems.join('\n  ')}`);
    return 1;
  }
  const text = render(report);
  const shown = relative(root, reportPath).split(sep).join('/');
  const summary = report.map((e) => `${e.subpath} ${e.names.length}`).join(', ');
  if (mode === 'update') {
    mkdirSync(dirname(reportPath), { recursive: true });
    writeFileSync(reportPath, text);
    console.log(`api-report: wrote ${shown} (${summary})`);
    return 0;
  }
  const committed = existsSync(reportPath) ? readFileSync(reportPath, 'utf8') : '';
  if (committed === text) {
    console.log(`api-report: the public API matches ${shown} (${summary})`);
    return 0;
  }
  const { added, removed } = differences(committed, text);
  console.error(`api-report: the public API differs from ${shown}:`);
  for (const l of added) console.error(`  + ${l}`);
  for (const l of removed) console.error(`  - ${l}`);
  if (added.length === 0 && removed.length === 0) console.error('  (only the layout differs)');
  console.error(
    '\nIf the change is intended, run `npm run api:update` and commit the report; ' +
      'otherwise stop exporting what was added (lib/index.ts lists the public names explicitly).',
  );
  return 1;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  process.exitCode = await main(process.argv.slice(2)).catch((error) => {
    console.error(error instanceof Error ? error.message : error);
    return 1;
  });
}

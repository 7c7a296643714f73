#!/usr/bin/env node
// Type-checks every ```ts block of README.md against the built package (run `npm run build` first).
//
// - Each block becomes build/readme-snippets/snippet-<n>.ts: a self-contained module with its own imports.
//   'nestjs-resque' and 'nestjs-resque/testing' resolve to dist/ through the package's self-reference
//   `exports`, exactly as they do for a user.
// - A block whose first line is `// file: <relative path>` is written to build/readme-snippets/files/<path>
//   instead, so the quick-start files can import each other (`./jobs.module.js`) like a real project.
// - A block whose first line is `// not-compiled` is skipped (fragments only; use sparingly).
// - One tsc run (a tsconfig there extends the root one: rootDir that folder, only the snippets, noEmit).
// Exit code 0 when every block compiles; otherwise 1, with each error mapped to its README.md line.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, normalize, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const readmePath = join(root, 'README.md');
const outDir = join(root, 'build', 'readme-snippets');
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');

/** Every fenced ```ts block: its body lines and the README line number of its first body line. */
export function extractTsBlocks(markdown) {
  const lines = markdown.split('\n');
  const blocks = [];
  let open = null;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (open === null) {
      const fence = /^(\s*)(`{3,}|~{3,})\s*(ts|typescript)\s*$/.exec(line);
      if (fence) open = { indent: fence[1].length, fence: fence[2], firstLine: i + 2, body: [] };
    } else if (line.trim() === open.fence) {
      blocks.push({ firstLine: open.firstLine, body: open.body });
      open = null;
    } else {
      open.body.push(open.indent > 0 ? line.slice(Math.min(open.indent, line.length - line.trimStart().length)) : line);
    }
  }
  if (open !== null) throw new Error(`README.md:${open.firstLine - 1}: a \`\`\`ts block is never closed`);
  return blocks;
}

function main() {
  if (!existsSync(join(root, 'dist', 'index.d.ts'))) {
    console.error('check-readme: dist/ is missing; run `npm run build` first');
    return 1;
  }
  const blocks = extractTsBlocks(readFileSync(readmePath, 'utf8'));
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });

  const files = new Map(); // snippet path (relative to outDir, '/' separators) → README line of its first body line
  let n = 0;
  let skipped = 0;
  for (const block of blocks) {
    const first = (block.body[0] ?? '').trim();
    if (first === '// not-compiled') {
      skipped++;
      continue;
    }
    n++;
    let name = `snippet-${n}.ts`;
    const named = /^\/\/ file: (\S+\.ts)$/.exec(first);
    if (named) {
      const target = normalize(named[1]);
      if (target.startsWith('..') || target.startsWith(sep)) {
        console.error(`README.md:${block.firstLine}: "// file:" must name a relative path inside the project`);
        return 1;
      }
      name = join('files', target).split(sep).join('/');
      if (files.has(name)) {
        console.error(`README.md:${block.firstLine}: "${named[1]}" is already the file of the block at README.md:${files.get(name)}`);
        return 1;
      }
    }
    const path = join(outDir, name);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, `${block.body.join('\n')}\n`);
    files.set(name, block.firstLine);
  }

  writeFileSync(
    join(outDir, 'tsconfig.json'),
    `${JSON.stringify(
      {
        extends: relative(outDir, join(root, 'tsconfig.json')).split(sep).join('/'),
        // Snippets show signatures (a hook's parameters) without using every one: unused names are the point.
        compilerOptions: { rootDir: '.', noEmit: true, sourceMap: false, noUnusedLocals: false, noUnusedParameters: false },
        include: ['**/*.ts'],
        exclude: [],
      },
      null,
      2,
    )}\n`,
  );

  const result = spawnSync(process.execPath, [tsc, '-p', join(outDir, 'tsconfig.json'), '--pretty', 'false'], {
    cwd: root,
    encoding: 'utf8',
  });
  if (result.error) throw result.error;
  if (result.status === 0) {
    console.log(`check-readme: ${files.size} TypeScript block(s) of README.md compile (${skipped} marked // not-compiled)`);
    return 0;
  }

  // tsc: `<path>(<line>,<col>): error TSxxxx: message` (+ indented continuation lines).
  const output = `${result.stdout}${result.stderr}`;
  const failing = new Set();
  const mapped = [];
  for (const line of output.split('\n')) {
    const m = /^(.*?)\((\d+),(\d+)\): (error|warning) (.*)$/.exec(line);
    if (!m) {
      if (line.trim() !== '') mapped.push(`  ${line}`);
      continue;
    }
    const file = relative(outDir, resolve(root, m[1])).split(sep).join('/');
    const start = files.get(file);
    if (start === undefined) {
      mapped.push(line);
      continue;
    }
    failing.add(start);
    const readmeLine = start + Number(m[2]) - 1;
    mapped.push(`README.md:${readmeLine}:${m[3]} (${file}): ${m[4]} ${m[5]}`);
  }
  console.error(mapped.join('\n'));
  const blocksList = [...failing].sort((a, b) => a - b).map((line) => `README.md:${line}`);
  console.error(`\ncheck-readme: ${failing.size || 'some'} block(s) of README.md do not compile${blocksList.length ? `: ${blocksList.join(', ')}` : ''}`);
  return 1;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) process.exitCode = main();

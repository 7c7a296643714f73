// What `npm pack` ships: the compiled library with its types, and the sources its source and declaration
// maps point at (so a debugger or "go to definition" lands in real TypeScript, not in a missing file).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { describe, expect, it } from 'vitest';

interface PackFile {
  path: string;
}

describe('the npm package', () => {
  it('ships dist/ with every source its .map files point at, and nothing from the repo besides', () => {
    // --ignore-scripts: the build already ran (npm test builds first); prepack would rebuild.
    const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { encoding: 'utf8' });
    const files = new Set((JSON.parse(out) as Array<{ files: PackFile[] }>)[0]!.files.map((f) => f.path));
    expect([...files].filter((f) => !/^(dist|lib)\//.test(f)).sort()).toEqual(['LICENSE', 'README.md', 'package.json']);
    expect(files.has('dist/index.js') && files.has('dist/index.d.ts') && files.has('dist/cli/cli.main.js')).toBe(true);
    const maps = [...files].filter((f) => f.endsWith('.map'));
    expect(maps.length).toBeGreaterThan(0);
    const missing: string[] = [];
    for (const map of maps) {
      const { sources } = JSON.parse(readFileSync(map, 'utf8')) as { sources: string[] };
      for (const source of sources) {
        const target = normalize(join(dirname(map), source));
        if (!files.has(target)) missing.push(`${map} → ${target}`);
      }
    }
    expect(missing).toEqual([]);
  });
});

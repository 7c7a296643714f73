// The optional peers stay optional: with prom-client and @nestjs/terminus made unresolvable, the root entry
// loads; only the ./health and ./metrics entries need them.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dir = mkdtempSync(join(tmpdir(), 'nestjs-resque-entries-'));
const hooks = join(dir, 'hooks.mjs');
const register = join(dir, 'register.mjs');

beforeAll(() => {
  if (!existsSync(join(root, 'dist', 'index.js'))) {
    spawnSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'], { cwd: root });
  }
  writeFileSync(
    hooks,
    `export async function resolve(specifier, context, next) {
  if (specifier === 'prom-client' || specifier.startsWith('@nestjs/terminus')) throw new Error('not installed: ' + specifier);
  return next(specifier, context);
}\n`,
  );
  writeFileSync(register, `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(hooks).href)});\n`);
}, 120_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Imports `entry` (a package specifier) in a fresh node without the optional peers. */
function importWithoutPeers(entry: string): { code: number | null; stderr: string } {
  const script = `import ${JSON.stringify(entry)}; console.log('loaded');`;
  const result = spawnSync(process.execPath, ['--import', pathToFileURL(register).href, '--input-type=module', '-e', script], {
    cwd: root,
    encoding: 'utf8',
    timeout: 20_000,
  });
  return { code: result.status, stderr: result.stderr };
}

describe('optional peers', () => {
  it('the root entry loads without prom-client and @nestjs/terminus', () => {
    expect(importWithoutPeers('nestjs-resque')).toEqual({ code: 0, stderr: '' });
  });

  it('nestjs-resque/metrics and nestjs-resque/health are the entries that need them', () => {
    const metrics = importWithoutPeers('nestjs-resque/metrics');
    expect(metrics.code).not.toBe(0);
    expect(metrics.stderr).toContain('not installed: prom-client');
    const health = importWithoutPeers('nestjs-resque/health');
    expect(health.code).not.toBe(0);
    expect(health.stderr).toContain('not installed: @nestjs/terminus');
  });
});

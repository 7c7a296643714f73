#!/usr/bin/env node
// The oldest peers package.json claims (Nest 11, ioredis 5), tested: the repo's tracked files (as they are in
// the working tree) are copied into a temporary directory, `npm ci` installs there, the peers are replaced by
// their oldest supported major, then the library is built and a named subset of the suite runs against them.
// The repo's own node_modules is never touched. Run by `npm test` last; alone: `npm run test:oldest-peers`.
// Exit code: that of the first step that failed (0 when all passed). KEEP_OLDEST_PEERS_DIR=1 keeps the copy.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** The oldest majors the peer ranges allow (package.json peerDependencies), with the Nest packages tests use. */
export const OLDEST_PEERS = ['@nestjs/common@11', '@nestjs/core@11', '@nestjs/platform-express@11', '@nestjs/testing@11', 'ioredis@5'];

/** Quick and meaningful on the old peers: DI and module options, producing, pooled workers, the scheduler, the testing module, the built package. */
export const SPECS = [
  'test/module.spec.ts',
  'test/queue.spec.ts',
  'test/worker.pool.spec.ts',
  'test/scheduler.spec.ts',
  'test/testing.module.spec.ts',
  'test/dist-import.spec.ts',
];

function run(dir, command, args) {
  process.stdout.write(`\n[oldest-peers] $ ${command} ${args.join(' ')}\n`);
  const result = spawnSync(command, args, { cwd: dir, stdio: 'inherit', env: { ...process.env, npm_config_fund: 'false', npm_config_audit: 'false' } });
  if (result.error) throw result.error;
  if (result.status !== 0) {
    const error = new Error(`${command} ${args.join(' ')} exited with ${result.status ?? result.signal}`);
    error.exitCode = result.status ?? 1;
    throw error;
  }
}

function trackedFiles() {
  const out = spawnSync('git', ['ls-files', '-z'], { cwd: root, encoding: 'utf8' });
  if (out.status !== 0) throw new Error(`git ls-files failed: ${out.stderr}`);
  return out.stdout.split('\0').filter(Boolean);
}

function installedVersion(dir, name) {
  return JSON.parse(readFileSync(join(dir, 'node_modules', name, 'package.json'), 'utf8')).version;
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'nestjs-resque-oldest-peers-'));
  let code = 0;
  try {
    for (const file of trackedFiles()) {
      mkdirSync(join(dir, dirname(file)), { recursive: true });
      // A tracked file deleted in the working tree is skipped (dereference: copy what a symlink points at).
      try {
        cpSync(join(root, file), join(dir, file), { dereference: true });
      } catch (error) {
        if (error.code !== 'ENOENT') throw error;
      }
    }
    run(dir, 'npm', ['ci', '--no-audit', '--no-fund', '--loglevel=error']);
    // --legacy-peer-deps: dev-only packages of the Nest 12 line (@nestjs/terminus, platform-fastify) would
    // otherwise refuse Nest 11; none of them is used by the specs run here.
    run(dir, 'npm', ['install', '--no-save', '--legacy-peer-deps', '--no-audit', '--no-fund', '--loglevel=error', ...OLDEST_PEERS]);
    const versions = OLDEST_PEERS.map((spec) => spec.replace(/@\d+$/, '')).map((name) => `${name}@${installedVersion(dir, name)}`);
    process.stdout.write(`\n[oldest-peers] testing against ${versions.join(', ')}\n`);
    run(dir, 'npm', ['run', 'build']);
    run(dir, 'npx', ['vitest', 'run', ...SPECS]);
    process.stdout.write(`\n[oldest-peers] passed on ${versions.join(', ')}\n`);
  } catch (error) {
    process.stderr.write(`\n[oldest-peers] failed: ${error.message}\n`);
    code = error.exitCode ?? 1;
  } finally {
    if (process.env.KEEP_OLDEST_PEERS_DIR) process.stdout.write(`[oldest-peers] kept ${dir}\n`);
    else rmSync(dir, { recursive: true, force: true });
  }
  return code;
}

process.exitCode = await main();

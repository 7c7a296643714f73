import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  EnvConfigError,
  importAppInclude,
  redisOptionsFromEnv,
  requireQueues,
  schedulerOptionsFromEnv,
  workerOptionsFromEnv,
  writePidFile,
} from '../lib/env/index.js';
import { runWithHostEnv } from '../lib/env/env.host-scope.js';
import { ResqueConnection, ResqueModule } from '../lib/index.js';
import { startRedis, type TestRedis } from './support/redis-server.js';

const dir = mkdtempSync(join(tmpdir(), 'nestjs-resque-env-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function rejects(env: Record<string, string>, variable: string, value: string): void {
  let caught: unknown;
  try {
    workerOptionsFromEnv(env);
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(EnvConfigError);
  const error = caught as EnvConfigError;
  expect(error.variable).toBe(variable);
  expect(error.message.startsWith(`${variable} `)).toBe(true);
  expect(error.message).toContain(JSON.stringify(value));
}

describe('workerOptionsFromEnv', () => {
  it('returns nothing for an empty environment, so explicit options and defaults apply', () => {
    expect(workerOptionsFromEnv({})).toEqual({});
  });

  it('reads QUEUE as a trimmed comma list, keeping * and the order', () => {
    expect(workerOptionsFromEnv({ QUEUE: 'critical, default ,low' }).queues).toEqual(['critical', 'default', 'low']);
    expect(workerOptionsFromEnv({ QUEUE: '*' }).queues).toEqual(['*']);
    expect(workerOptionsFromEnv({ QUEUE: 'critical,*' }).queues).toEqual(['critical', '*']);
    expect(workerOptionsFromEnv({ QUEUES: 'a,b' }).queues).toEqual(['a', 'b']);
    expect(workerOptionsFromEnv({ QUEUE: 'php', QUEUES: 'ruby' }).queues).toEqual(['php']);
    rejects({ QUEUE: 'a,,b' }, 'QUEUE', 'a,,b');
    rejects({ QUEUE: ' , ' }, 'QUEUE', ' , ');
  });

  it('requires QUEUE for the CLI worker', () => {
    expect(() => requireQueues({})).toThrow(/^QUEUE is required/);
    expect(requireQueues({ QUEUE: 'x' })).toEqual(['x']);
  });

  it('reads COUNT as a positive integer', () => {
    expect(workerOptionsFromEnv({ COUNT: '4' }).concurrency).toBe(4);
    expect(workerOptionsFromEnv({ COUNT: '' }).concurrency).toBeUndefined();
    rejects({ COUNT: 'abc' }, 'COUNT', 'abc');
    rejects({ COUNT: '0' }, 'COUNT', '0');
    rejects({ COUNT: '-2' }, 'COUNT', '-2');
    rejects({ COUNT: '1.5' }, 'COUNT', '1.5');
    expect(() => workerOptionsFromEnv({ COUNT: 'abc' })).toThrow('COUNT must be a positive integer, got "abc"');
  });

  it('reads PREFIX: foo and foo: are the same namespace', () => {
    expect(workerOptionsFromEnv({ PREFIX: 'foo' }).namespace).toBe('foo');
    expect(workerOptionsFromEnv({ PREFIX: 'foo:' }).namespace).toBe('foo');
    expect(workerOptionsFromEnv({ PREFIX: '' }).namespace).toBeUndefined();
    rejects({ PREFIX: ':' }, 'PREFIX', ':');
  });

  it('reads INTERVAL in seconds, keeping fractions (never truncated to a forever-blocking 0)', () => {
    expect(workerOptionsFromEnv({ INTERVAL: '5' }).interval).toBe(5);
    expect(workerOptionsFromEnv({ INTERVAL: '0.5' }).interval).toBe(0.5);
    expect(workerOptionsFromEnv({ INTERVAL: '.25' }).interval).toBe(0.25);
    for (const bad of ['0', '-1', 'abc', '1e3', 'Infinity', '5s']) rejects({ INTERVAL: bad }, 'INTERVAL', bad);
  });

  it("reads Ruby's RESQUE_PRE_SHUTDOWN_TIMEOUT and RESQUE_TERM_TIMEOUT in seconds (fractions, 0 allowed) as milliseconds", () => {
    expect(workerOptionsFromEnv({ RESQUE_PRE_SHUTDOWN_TIMEOUT: '1.5', RESQUE_TERM_TIMEOUT: '0' })).toEqual({ preShutdownTimeoutMs: 1_500, termTimeoutMs: 0 });
    expect(workerOptionsFromEnv({ RESQUE_TERM_TIMEOUT: '.25' }).termTimeoutMs).toBe(250);
    expect(workerOptionsFromEnv({ RESQUE_TERM_TIMEOUT: '' })).toEqual({});
    for (const bad of ['-1', 'abc', '4s', 'Infinity']) rejects({ RESQUE_TERM_TIMEOUT: bad }, 'RESQUE_TERM_TIMEOUT', bad);
    rejects({ RESQUE_PRE_SHUTDOWN_TIMEOUT: 'soon' }, 'RESQUE_PRE_SHUTDOWN_TIMEOUT', 'soon');
  });

  it('turns BLOCKING on for any value, even 0 or empty (php-resque\'s getenv() !== false)', () => {
    expect(workerOptionsFromEnv({}).blocking).toBeUndefined();
    for (const value of ['1', '0', '', 'false', 'no']) expect(workerOptionsFromEnv({ BLOCKING: value }).blocking).toBe(true);
  });

  it('maps LOGGING/VERBOSE to verbose and VVERBOSE to debug; empty and 0 are off (php empty())', () => {
    expect(workerOptionsFromEnv({ LOGGING: '1' }).logLevel).toBe('verbose');
    expect(workerOptionsFromEnv({ VERBOSE: 'yes' }).logLevel).toBe('verbose');
    expect(workerOptionsFromEnv({ VVERBOSE: '1' }).logLevel).toBe('debug');
    expect(workerOptionsFromEnv({ VERBOSE: '1', VVERBOSE: '1' }).logLevel).toBe('debug');
    expect(workerOptionsFromEnv({ LOGGING: '0', VERBOSE: '' }).logLevel).toBeUndefined();
  });

  it('resolves PIDFILE to an absolute path', () => {
    expect(workerOptionsFromEnv({ PIDFILE: 'run/w.pid' }).pidFile).toBe(resolve('run/w.pid'));
  });

  it('checks APP_INCLUDE exists and imports it', async () => {
    const file = join(dir, 'include.mjs');
    writeFileSync(file, 'globalThis.__appIncluded = (globalThis.__appIncluded ?? 0) + 1;\n');
    expect(workerOptionsFromEnv({ APP_INCLUDE: file }).appInclude).toBe(file);
    rejects({ APP_INCLUDE: join(dir, 'missing.js') }, 'APP_INCLUDE', join(dir, 'missing.js'));
    await importAppInclude({ APP_INCLUDE: file });
    expect((globalThis as { __appIncluded?: number }).__appIncluded).toBe(1);
    await expect(importAppInclude({ APP_INCLUDE: join(dir, 'nope.js') })).rejects.toThrow(/^APP_INCLUDE must name an existing file/);
  });

  it('parses every REDIS_BACKEND form; a db in the DSN wins over REDIS_BACKEND_DB', () => {
    expect(redisOptionsFromEnv({})).toBeUndefined();
    expect(redisOptionsFromEnv({ REDIS_BACKEND: 'redis.local:6380' })).toMatchObject({ host: 'redis.local', port: 6380, db: 0 });
    expect(redisOptionsFromEnv({ REDIS_BACKEND: 'redis.local' })).toMatchObject({ host: 'redis.local', port: 6379 });
    expect(redisOptionsFromEnv({ REDIS_BACKEND: 'redis://u:p%40ss@h:6390/4?timeout=1.5&persistent=x' })).toMatchObject({
      host: 'h',
      port: 6390,
      db: 4,
      username: 'u',
      password: 'p@ss',
      connectTimeout: 1500,
    });
    expect(redisOptionsFromEnv({ REDIS_BACKEND: 'tcp://h:6391' })).toMatchObject({ host: 'h', port: 6391 });
    expect(redisOptionsFromEnv({ REDIS_BACKEND: 'unix:///tmp/redis.sock' })).toMatchObject({ path: '/tmp/redis.sock' });
    // precedence
    expect(redisOptionsFromEnv({ REDIS_BACKEND: 'h:1', REDIS_BACKEND_DB: '5' })?.db).toBe(5);
    expect(redisOptionsFromEnv({ REDIS_BACKEND: 'redis://h:1/2', REDIS_BACKEND_DB: '5' })?.db).toBe(2);
    // REDIS_BACKEND_DB alone: php's default backend (localhost:6379) with that db
    expect(redisOptionsFromEnv({ REDIS_BACKEND_DB: '7' })).toMatchObject({ host: 'localhost', port: 6379, db: 7 });
    expect(workerOptionsFromEnv({ REDIS_BACKEND: 'h:1' }).connection).toMatchObject({ host: 'h', port: 1 });
  });

  it('rejects bad REDIS_BACKEND and REDIS_BACKEND_DB values, naming the variable', () => {
    for (const bad of ['h:notaport', 'h:70000', 'http://h:1', 'redis://h:1/abc', 'a:b:c:d']) rejects({ REDIS_BACKEND: bad }, 'REDIS_BACKEND', bad);
    for (const bad of ['x', '-1', '1.5']) rejects({ REDIS_BACKEND: 'h:1', REDIS_BACKEND_DB: bad }, 'REDIS_BACKEND_DB', bad);
  });
});

describe('schedulerOptionsFromEnv', () => {
  it('reads the scheduler subset', () => {
    expect(schedulerOptionsFromEnv({ PREFIX: 'app:', INTERVAL: '2', VERBOSE: '1', QUEUE: 'ignored' })).toEqual({
      namespace: 'app',
      interval: 2,
      logLevel: 'verbose',
    });
    expect(() => schedulerOptionsFromEnv({ INTERVAL: 'soon' })).toThrow('INTERVAL must be a positive number of seconds');
  });
});

describe('the parsed connection against a real Redis', () => {
  let redis: TestRedis;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis.stop();
  });

  it('host:port plus REDIS_BACKEND_DB selects that db; the DSN db wins', async () => {
    const check = async (env: Record<string, string>, db: number): Promise<void> => {
      const client = new Redis({ ...redisOptionsFromEnv(env), lazyConnect: true });
      try {
        await client.set('probe', JSON.stringify(env));
        expect(await redis.client(db).get('probe')).toBe(JSON.stringify(env));
      } finally {
        await client.quit();
      }
    };
    await check({ REDIS_BACKEND: `127.0.0.1:${redis.port}`, REDIS_BACKEND_DB: '3' }, 3);
    await check({ REDIS_BACKEND: `redis://127.0.0.1:${redis.port}/4`, REDIS_BACKEND_DB: '3' }, 4);
  });
});

describe('PREFIX/REDIS_BACKEND inside a host (runWithHostEnv, as ResqueWorkerHost, ResqueSchedulerHost and the CLI run)', () => {
  it('fill what the module leaves unset; an app booted outside the host in the same process is unaffected', async () => {
    const redis = await startRedis();
    @Module({ imports: [ResqueModule.forRoot({ logger: false })] })
    class Unset {}
    @Module({ imports: [ResqueModule.forRoot({ connection: redis.url, logger: false })] })
    class Outside {}
    const env = { PREFIX: 'hostns:', REDIS_BACKEND: `redis://127.0.0.1:${redis.port}/6` };
    try {
      const [inHost, outside] = await Promise.all([
        runWithHostEnv(env, () => NestFactory.createApplicationContext(Unset, { logger: false, abortOnError: false })),
        NestFactory.createApplicationContext(Outside, { logger: false, abortOnError: false }),
      ]);
      try {
        const connection = inHost.get(ResqueConnection);
        expect(connection.keys.namespace).toBe('hostns');
        expect(connection.address).toBe(`127.0.0.1:${redis.port}/6`);
        expect(outside.get(ResqueConnection).keys.namespace).toBe('resque');
      } finally {
        await Promise.all([inHost.close(), outside.close()]);
      }
    } finally {
      await redis.stop();
    }
  });
});

describe('writePidFile', () => {
  it('writes the pid and removes the file only while it still holds our pid', () => {
    const file = join(dir, 'nested', 'w.pid');
    const remove = writePidFile(file);
    expect(readFileSync(file, 'utf8')).toBe(`${process.pid}\n`);
    remove();
    expect(existsSync(file)).toBe(false);
    const removeAgain = writePidFile(file);
    writeFileSync(file, '999999\n'); // a successor took over
    removeAgain();
    expect(readFileSync(file, 'utf8')).toBe('999999\n');
  });

  it('removes the file when the process exits', () => {
    const file = join(dir, 'exit.pid');
    const script = `import { readFileSync } from 'node:fs';
      import { writePidFile } from ${JSON.stringify(resolve('lib/env/env.pidfile.ts'))};
      writePidFile(${JSON.stringify(file)}); console.log(readFileSync(${JSON.stringify(file)}, 'utf8').trim() === String(process.pid)); process.exit(0);`;
    const out = spawnSync(process.execPath, ['--import', './test/support/ts-register.mjs', '--input-type=module', '-e', script], {
      encoding: 'utf8',
    });
    expect(out.stderr).toBe('');
    expect(out.stdout.trim()).toBe('true');
    expect(existsSync(file)).toBe(false);
  });
});

describe('resqueLogLevels', () => {
  it('gets louder monotonically: VERBOSE and VVERBOSE never hide what the default shows', async () => {
    const { resqueLogLevels } = await import('../lib/env/env.common.js');
    for (const role of ['parent', 'child'] as const) {
      const quiet = resqueLogLevels(undefined, role);
      const verbose = resqueLogLevels('verbose', role);
      const debug = resqueLogLevels('debug', role);
      expect(quiet.every((l) => verbose.includes(l))).toBe(true);
      expect(verbose.every((l) => debug.includes(l))).toBe(true);
      expect(verbose).toContain('verbose');
      expect(debug).toContain('debug');
      expect(quiet).not.toContain('verbose');
    }
    expect(resqueLogLevels(undefined, 'parent')).toContain('log');
    expect(resqueLogLevels(undefined, 'child')).not.toContain('log');
    expect(resqueLogLevels('verbose', 'child')).toContain('log');
  });
});

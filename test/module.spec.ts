import { Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { INestApplicationContext } from '@nestjs/common';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Job, JobStatus, Perform, ResqueConnection, ResqueModule, ResqueQueue } from '../lib/index.js';
import { ResqueJobRegistry } from '../lib/jobs/index.js';
import { PhpEchoJob, TransientJob, TrackedJob, type EchoParams } from './apps/surface-jobs.js';
import { dumpKeys, readFixture } from './support/fixtures.js';
import { startRedis, type TestRedis } from './support/redis-server.js';

let redis: TestRedis;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});
beforeEach(async () => {
  await redis.client().flushall();
});

async function boot(imports: unknown[], providers: unknown[] = []): Promise<INestApplicationContext> {
  @Module({ imports: imports as never[], providers: providers as never[] })
  class AppModule {}
  return NestFactory.createApplicationContext(AppModule, { logger: false, abortOnError: false });
}

describe('Done-when: a Nest app enqueues a php-shaped job, tracks it and dequeues it', () => {
  it('writes what php-resque writes (php-enqueue-tracked), reads its status, and dequeues it', async () => {
    const fixture = readFixture('php-enqueue-tracked');
    const app = await boot([ResqueModule.forRoot({ connection: redis.url })], [PhpEchoJob]);
    try {
      const queue = app.get(ResqueQueue);
      const phpPayload = JSON.parse((fixture.keys['resque:queue:default']!.value as string[])[0]!) as Record<string, unknown>;
      const params = (phpPayload['args'] as unknown[])[0] as EchoParams;
      const before = Date.now() / 1000;
      const id = await queue.enqueue('default', PhpEchoJob, params, { track: true });
      expect(id).toMatch(/^[0-9a-f]{32}$/);

      // Same keys, types and ttl classes as the fixture, once ids are replaced by a placeholder.
      const ours = await dumpKeys(redis.client());
      const shape = (keys: Record<string, { type: string; ttl: number }>) =>
        Object.fromEntries(
          Object.entries(keys).map(([k, v]) => [k.replace(/[0-9a-f]{32}/, '<id>'), { type: v.type, ttl: v.ttl > 0 ? 'ttl' : v.ttl }]),
        );
      expect(shape(ours)).toEqual(shape(fixture.keys));

      const raw = (ours['resque:queue:default']!.value as string[])[0]!;
      const payload = JSON.parse(raw) as Record<string, unknown>;
      expect(Object.keys(payload)).toEqual(Object.keys(phpPayload)); // class, args, id, queue_time in order
      expect(payload['class']).toBe('PhpEcho');
      expect(payload['args']).toEqual(phpPayload['args']); // same values as PHP's (escaping aside)
      expect(payload['id']).toBe(id);
      expect(typeof payload['queue_time']).toBe('number');
      expect(payload['queue_time']).toBeGreaterThanOrEqual(Math.floor(before));
      expect(ours['resque:queues']!.value).toEqual(['default']);

      const packet = JSON.parse(ours[`resque:job:${id}:status`]!.value as string) as Record<string, unknown>;
      const phpPacket = JSON.parse(fixture.keys['resque:job:96402b8a278ea1aaef323f6b322ff84b:status']!.value as string) as Record<
        string,
        unknown
      >;
      expect(Object.keys(packet)).toEqual(Object.keys(phpPacket));
      expect(packet['status']).toBe(1);
      expect(Number.isInteger(packet['updated'])).toBe(true);
      expect(packet['started']).toBe(packet['updated']);

      const status = await queue.status(id as string);
      expect(status).toEqual({ status: JobStatus.WAITING, updated: packet['updated'], started: packet['started'], result: null, progress: null });

      expect(await queue.dequeue('default', [{ PhpEcho: id as string }])).toBe(1);
      expect(await queue.size('default')).toBe(0);
    } finally {
      await app.close();
    }
  });
});

describe('ResqueModule options', () => {
  it('forRootAsync takes a factory with injected config from an imported module', async () => {
    @Injectable()
    class Config {
      readonly url = redis.url;
    }
    @Module({ providers: [Config], exports: [Config] })
    class ConfigModule {}
    const app = await boot([
      ResqueModule.forRootAsync({
        imports: [ConfigModule],
        inject: [Config],
        useFactory: (config: Config) => ({ connection: config.url, namespace: 'asyncns' }),
      }),
    ]);
    try {
      const id = await app.get(ResqueQueue).enqueue('q1', 'SomeJob', { a: 1 });
      expect(await redis.client().lrange('asyncns:queue:q1', 0, -1)).toHaveLength(1);
      expect(JSON.parse((await redis.client().lindex('asyncns:queue:q1', 0))!).id).toBe(id);
      expect(app.get(ResqueConnection).keys.prefix).toBe('asyncns:');
    } finally {
      await app.close();
    }
  });

  it.each([
    [undefined, 'resque:'],
    ['foo', 'foo:'],
    ['foo:', 'foo:'],
  ])('namespace %s gives keys starting %s (checklist 1)', async (namespace, prefix) => {
    const app = await boot([ResqueModule.forRoot({ connection: redis.url, namespace })]);
    try {
      await app.get(ResqueQueue).enqueue('ns', 'Job', null);
      const keys = Object.keys(await dumpKeys(redis.client()));
      expect(keys.sort()).toEqual([`${prefix}queue:ns`, `${prefix}queues`]);
    } finally {
      await app.close();
    }
  });

  it('is global: a feature module injects ResqueQueue without importing ResqueModule', async () => {
    @Injectable()
    class Producer {
      constructor(readonly queue: ResqueQueue) {}
    }
    @Module({ providers: [Producer], exports: [Producer] })
    class FeatureModule {}
    const app = await boot([ResqueModule.forRoot({ connection: redis.url }), FeatureModule]);
    try {
      expect(app.get(Producer).queue).toBe(app.get(ResqueQueue));
    } finally {
      await app.close();
    }
  });

  it('closes the connection it owns on application shutdown', async () => {
    const app = await boot([ResqueModule.forRoot({ connection: redis.url })]);
    const connection = app.get(ResqueConnection);
    const extra = connection.duplicate('blocking');
    await extra.ping();
    expect(connection.client.status).toBe('ready');
    await app.close();
    expect(connection.client.status).toBe('end');
    expect(extra.status).toBe('end');
  });

  it('never closes a client the user passed in (but closes its duplicates)', async () => {
    const mine = redis.client();
    const app = await boot([ResqueModule.forRoot({ connection: mine })]);
    const connection = app.get(ResqueConnection);
    const dup = connection.duplicate();
    await dup.ping();
    await app.get(ResqueQueue).enqueue('q', 'J', {});
    await app.close();
    expect(mine.status).toBe('ready');
    expect(await mine.llen('resque:queue:q')).toBe(1);
    expect(dup.status).toBe('end');
  });

  /** Runs `fn` with PREFIX and REDIS_BACKEND (db 5 of the test Redis) set in process.env, then restores them. */
  async function withPhpEnv<T>(fn: () => Promise<T>): Promise<T> {
    const saved = { PREFIX: process.env['PREFIX'], REDIS_BACKEND: process.env['REDIS_BACKEND'] };
    process.env['PREFIX'] = '/usr/local';
    process.env['REDIS_BACKEND'] = `redis://127.0.0.1:${redis.port}/5`;
    try {
      return await fn();
    } finally {
      for (const [name, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    }
  }

  it('ignores the generic PREFIX and REDIS_BACKEND in the environment unless fromEnv: true', async () => {
    await withPhpEnv(async () => {
      const app = await boot([ResqueModule.forRoot({ connection: redis.url })]);
      try {
        expect(app.get(ResqueConnection).keys.namespace).toBe('resque');
      } finally {
        await app.close();
      }
      // Neither option set: the default address, not REDIS_BACKEND's (nothing connects here).
      const plain = ResqueConnection.create();
      expect(plain.address).toBe('127.0.0.1:6379/0');
      expect(plain.keys.namespace).toBe('resque');
      await plain.close();
      // fromEnv: false keeps them out even inside a host; true takes them.
      const off = new ResqueConnection({ fromEnv: false });
      expect(off.keys.namespace).toBe('resque');
      await off.close();
    });
  });

  it('fromEnv: true takes PREFIX and REDIS_BACKEND, and logs where it ended up at debug level', async () => {
    const lines: string[] = [];
    const capture = (level: string) => (message: unknown, context?: unknown) => lines.push(`${level} [${String(context)}] ${String(message)}`);
    const logger = { log: capture('log'), error: capture('error'), warn: capture('warn'), debug: capture('debug'), verbose: capture('verbose') };
    await withPhpEnv(async () => {
      @Module({ imports: [ResqueModule.forRoot({ fromEnv: true })] })
      class AppModule {}
      const app = await NestFactory.createApplicationContext(AppModule, { logger, abortOnError: false });
      try {
        await app.get(ResqueQueue).enqueue('q', 'J', {});
        expect(await redis.client(5).llen('/usr/local:queue:q')).toBe(1);
        expect(await redis.client().dbsize()).toBe(0);
      } finally {
        await app.close();
      }
    });
    expect(lines).toContain(`debug [Resque] Redis 127.0.0.1:${redis.port}/5, namespace "/usr/local" (unset options read from PREFIX/REDIS_BACKEND)`);
  });

  it('fails bootstrap with an error naming an unreachable address', async () => {
    const error = await boot([ResqueModule.forRoot({ connection: 'redis://127.0.0.1:1/0' })]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(/could not connect to Redis at 127\.0\.0\.1:1\/0: ECONNREFUSED/);
  });
});

describe('ResqueJobRegistry', () => {
  it('collects @Job providers with their methods, hooks and scope', async () => {
    const app = await boot([ResqueModule.forRoot({ connection: redis.url })], [PhpEchoJob, TrackedJob, TransientJob]);
    try {
      const registry = app.get(ResqueJobRegistry);
      expect(registry.all().map((j) => j.name).sort()).toEqual(['PerRequest', 'PhpEcho', 'TrackedByDefault']);
      const echo = registry.get('PhpEcho')!;
      expect(echo).toMatchObject({
        name: 'PhpEcho',
        classRef: PhpEchoJob,
        options: { queue: 'default' },
        setUp: 'prepare',
        perform: 'perform',
        tearDown: 'cleanup',
        isStatic: true,
        hooks: {
          beforePerform: [{ method: 'checkFirst', isStatic: true }],
          afterPerform: [{ method: 'after', isStatic: false }],
          onFailure: [{ method: 'failed', isStatic: false }],
        },
      });
      expect(registry.get('TrackedByDefault')!.perform).toBe('run');
      expect(registry.get('PerRequest')!.isStatic).toBe(false);
      expect(registry.nameOf(TrackedJob)).toBe('TrackedByDefault');
      expect(() => registry.nameOf(class Nope {})).toThrow(TypeError);
      expect(registry.get('Missing')).toBeUndefined();

      // A @Job({ track: true }) class is tracked unless told otherwise.
      const queue = app.get(ResqueQueue);
      const tracked = (await queue.enqueue('t', TrackedJob)) as string;
      expect(await redis.client().exists(`resque:job:${tracked}:status`)).toBe(1);
      const untracked = (await queue.enqueue('t', TrackedJob, undefined, { track: false })) as string;
      expect(await redis.client().exists(`resque:job:${untracked}:status`)).toBe(0);
    } finally {
      await app.close();
    }
  });

  it('fails bootstrap when two classes share a job name, naming both', async () => {
    @Job('Same')
    @Injectable()
    class First {
      @Perform() perform(): void {}
    }
    @Job('Same')
    @Injectable()
    class Second {
      @Perform() perform(): void {}
    }
    const admin = redis.client();
    const clients = async () => String(await admin.client('LIST')).split('\n').filter(Boolean).length;
    const before = await clients();
    const error = await boot([ResqueModule.forRoot({ connection: redis.url })], [First, Second]).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/two job classes are named 'Same': First and Second/);
    // The jobs are checked before the module connects: the failed bootstrap left no connection open.
    expect(await clients()).toBe(before);
  });

  it('fails bootstrap for a @Job without @Perform()', async () => {
    @Job('Lazy')
    @Injectable()
    class LazyJob {
      perform(): void {}
    }
    const error = await boot([ResqueModule.forRoot({ connection: redis.url })], [LazyJob]).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/@Job\('Lazy'\) class LazyJob has no @Perform\(\) method/);
  });

  it('fails bootstrap for a @Job with two @Perform() methods', async () => {
    @Job('Greedy')
    @Injectable()
    class GreedyJob {
      @Perform() one(): void {}
      @Perform() two(): void {}
    }
    const error = await boot([ResqueModule.forRoot({ connection: redis.url })], [GreedyJob]).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/@Job\('Greedy'\) class GreedyJob has 2 @Perform\(\) methods \(one, two\)/);
  });
});

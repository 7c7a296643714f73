import { Module } from '@nestjs/common';
import type { INestApplicationContext, LoggerService } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { Redis } from 'ioredis';
import { filter, firstValueFrom, map, type Subscription } from 'rxjs';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  DoNotCreateError,
  DoNotPerformError,
  ResqueEvents,
  ResqueModule,
  ResqueQueue,
  type EnqueueEvent,
  type JobEvent,
  type ResqueEventError,
} from '../lib/index.js';
import { PhpEchoJob } from './apps/surface-jobs.js';
import { dumpKeys } from './support/fixtures.js';
import { startRedis, type TestRedis } from './support/redis-server.js';

let redis: TestRedis;
let app: INestApplicationContext;
let queue: ResqueQueue;
let events: ResqueEvents;
let raw: Redis;
const subscriptions: Subscription[] = [];
const removers: Array<() => void> = [];
const uncaught: unknown[] = [];
const onUncaught = (error: unknown) => uncaught.push(error);

beforeAll(async () => {
  redis = await startRedis();
  raw = redis.client();
  @Module({ imports: [ResqueModule.forRoot({ connection: redis.url, logger: false })], providers: [PhpEchoJob] })
  class AppModule {}
  app = await NestFactory.createApplicationContext(AppModule, { logger: false });
  queue = app.get(ResqueQueue);
  events = app.get(ResqueEvents);
  process.on('uncaughtException', onUncaught);
});
afterAll(async () => {
  process.off('uncaughtException', onUncaught);
  await app?.close();
  await redis?.stop();
});
beforeEach(async () => {
  await raw.flushall();
  uncaught.length = 0;
});
afterEach(async () => {
  subscriptions.splice(0).forEach((s) => s.unsubscribe());
  removers.splice(0).forEach((r) => r());
  // RxJS reports unhandled subscriber errors on a later tick: give it one, then check nothing escaped.
  await new Promise((resolve) => setTimeout(resolve, 10));
  expect(uncaught).toEqual([]);
});

const seedQueue = async () => {
  await raw.rpush('resque:queue:q', '{"class":"Existing","args":[{}]}');
  await raw.sadd('resque:queues', 'q');
  return dumpKeys(raw);
};

describe('beforeEnqueue / afterEnqueue', () => {
  it('fire with class, args, queue, id and params', async () => {
    const seen: Array<[string, EnqueueEvent]> = [];
    subscriptions.push(events.beforeEnqueue$.subscribe((e) => seen.push(['before', e])));
    subscriptions.push(events.afterEnqueue$.subscribe((e) => seen.push(['after', e])));
    const id = await queue.enqueue('q', PhpEchoJob, { name: 'x', path: '', uni: '', n: 1, list: [] }, { track: true });
    expect(seen.map(([when]) => when)).toEqual(['before', 'after']);
    const event = seen[0]![1];
    expect(Object.keys(event).slice(0, 4)).toEqual(['className', 'args', 'queue', 'id']);
    expect(event).toEqual({
      className: 'PhpEcho',
      args: [{ name: 'x', path: '', uni: '', n: 1, list: [] }],
      queue: 'q',
      id,
      params: { name: 'x', path: '', uni: '', n: 1, list: [] },
      jobClass: PhpEchoJob,
      tracked: true,
    });
    expect(seen[1]![1]).toBe(event);
  });

  it('afterEnqueue happens after the write', async () => {
    let lengthSeen = -1;
    removers.push(
      events.listen('afterEnqueue', async (e) => {
        lengthSeen = await raw.llen(`resque:queue:${e.queue}`);
      }),
    );
    await queue.enqueue('q', 'J', {});
    expect(lengthSeen).toBe(1);
  });

  it('firstValueFrom and piped operators see events', async () => {
    const next = firstValueFrom(events.afterEnqueue$.pipe(map((e) => e.className)));
    await queue.enqueue('q', 'Piped', {});
    expect(await next).toBe('Piped');
  });
});

describe('veto (checklist 15): enqueue returns false and Redis is untouched', () => {
  const vetoes: Array<[string, () => void]> = [
    [
      'a listener throws DoNotCreateError',
      () =>
        removers.push(
          events.listen('beforeEnqueue', () => {
            throw new DoNotCreateError();
          }),
        ),
    ],
    [
      'an async listener throws DoNotCreateError',
      () =>
        removers.push(
          events.listen('beforeEnqueue', async () => {
            await Promise.resolve();
            throw new DoNotCreateError();
          }),
        ),
    ],
  ];

  it.each(vetoes)('%s', async (_label, install) => {
    const before = await seedQueue();
    let afterFired = false;
    subscriptions.push(events.afterEnqueue$.subscribe(() => (afterFired = true)));
    install();
    expect(await queue.enqueue('q', 'Vetoed', { a: 1 }, { track: true })).toBe(false);
    expect(await dumpKeys(raw)).toEqual(before);
    expect(afterFired).toBe(false);
  });

  it('the first veto stops the later listeners', async () => {
    const called: string[] = [];
    removers.push(
      events.listen('beforeEnqueue', () => {
        called.push('first');
        throw new DoNotCreateError();
      }),
    );
    removers.push(events.listen('beforeEnqueue', () => void called.push('second')));
    expect(await queue.enqueue('q', 'J', {})).toBe(false);
    expect(called).toEqual(['first']);
  });

  it('vetoes single jobs of a bulk enqueue', async () => {
    removers.push(
      events.listen('beforeEnqueue', (e) => {
        if ((e.params as { i: number }).i === 1) throw new DoNotCreateError();
      }),
    );
    const ids = await queue.enqueueBulk('bulk', [0, 1, 2].map((i) => ({ job: 'B', params: { i } })));
    expect(ids[1]).toBe(false);
    expect(ids[0]).toMatch(/^[0-9a-f]{32}$/);
    const items = (await raw.lrange('resque:queue:bulk', 0, -1)).map((s) => JSON.parse(s).args[0].i);
    expect(items).toEqual([0, 2]);
  });

  it('removing a vetoing listener restores enqueue', async () => {
    const remove = events.listen('beforeEnqueue', () => {
      throw new DoNotCreateError();
    });
    expect(await queue.enqueue('q', 'J', {})).toBe(false);
    remove();
    expect(events.hasListeners('beforeEnqueue')).toBe(false);
    expect(await queue.enqueue('q', 'J', {})).toMatch(/^[0-9a-f]{32}$/);
  });
});

describe('what no longer vetoes (the job is written)', () => {
  const ignored: Array<[string, () => void]> = [
    // A cast: ResqueEventListener's return type (void) already rejects `false` at compile time.
    ['a listener returns false', () => removers.push(events.listen('beforeEnqueue', (() => false) as () => void))],
    ['an async listener returns false', () => removers.push(events.listen('beforeEnqueue', (async () => false) as unknown as () => Promise<void>))],
    ['a stream subscriber returns false', () => subscriptions.push(events.beforeEnqueue$.subscribe((() => false)))],
    [
      'a stream subscriber throws DoNotCreateError',
      () =>
        subscriptions.push(
          events.beforeEnqueue$.subscribe(() => {
            throw new DoNotCreateError();
          }),
        ),
    ],
    [
      'a piped stream subscriber throws DoNotCreateError',
      () =>
        subscriptions.push(
          events.beforeEnqueue$.pipe(filter((e) => e.className === 'Kept')).subscribe(() => {
            throw new DoNotCreateError();
          }),
        ),
    ],
  ];

  it.each(ignored)('%s', async (label, install) => {
    install();
    const errors: ResqueEventError[] = [];
    subscriptions.push(events.errors$.subscribe((e) => errors.push(e)));
    const id = await queue.enqueue('q', 'Kept', {});
    expect(id).toMatch(/^[0-9a-f]{32}$/);
    expect((await raw.lrange('resque:queue:q', 0, -1)).map((item) => JSON.parse(item).id)).toEqual([id]);
    // A Do-Not error from a stream subscriber is that subscriber's error, reported like any other.
    expect(errors.map((e) => (e.error as Error).name)).toEqual(label.includes('throws') ? ['DoNotCreateError'] : []);
  });
});

describe('subscriber errors never break enqueue', () => {
  it('go to errors$ with the event and payload', async () => {
    const errors: ResqueEventError[] = [];
    subscriptions.push(events.errors$.subscribe((e) => errors.push(e)));
    subscriptions.push(
      events.beforeEnqueue$.subscribe(() => {
        throw new Error('boom before');
      }),
    );
    subscriptions.push(
      events.afterEnqueue$.pipe(map(() => 1)).subscribe(() => {
        throw new Error('boom after');
      }),
    );
    removers.push(
      events.listen('afterEnqueue', async () => {
        throw new Error('boom listener');
      }),
    );
    const id = await queue.enqueue('q', 'J', { a: 1 });
    expect(id).toMatch(/^[0-9a-f]{32}$/);
    expect(await raw.llen('resque:queue:q')).toBe(1);
    expect(errors.map((e) => [e.event, (e.error as Error).message])).toEqual([
      ['beforeEnqueue', 'boom before'],
      ['afterEnqueue', 'boom after'],
      ['afterEnqueue', 'boom listener'],
    ]);
    expect((errors[0]!.payload as EnqueueEvent).id).toBe(id);
  });

  it('an error inside an operator reaches errors$ too (not the process)', async () => {
    const errors: ResqueEventError[] = [];
    subscriptions.push(events.errors$.subscribe((e) => errors.push(e)));
    subscriptions.push(
      events.afterEnqueue$
        .pipe(
          map(() => {
            throw new Error('in map');
          }),
        )
        .subscribe(() => undefined),
    );
    expect(await queue.enqueue('q', 'J', {})).toMatch(/^[0-9a-f]{32}$/);
    expect(errors.map((e) => (e.error as Error).message)).toEqual(['in map']);
  });

  it('a throwing subscriber does not break the stream: it and the others keep receiving', async () => {
    const errors: ResqueEventError[] = [];
    subscriptions.push(events.errors$.subscribe((e) => errors.push(e)));
    const thrower: string[] = [];
    const other: string[] = [];
    subscriptions.push(
      events.afterEnqueue$.subscribe((e) => {
        thrower.push(e.className);
        if (e.className === 'First') throw new Error('only the first');
      }),
    );
    subscriptions.push(events.afterEnqueue$.subscribe((e) => other.push(e.className)));
    await queue.enqueue('q', 'First', {});
    await queue.enqueue('q', 'Second', {});
    expect(thrower).toEqual(['First', 'Second']);
    expect(other).toEqual(['First', 'Second']);
    expect(errors.map((e) => (e.error as Error).message)).toEqual(['only the first']);
  });

  it('an errors$ subscriber that throws is contained', async () => {
    subscriptions.push(
      events.errors$.subscribe(() => {
        throw new Error('errors$ handler broke');
      }),
    );
    subscriptions.push(
      events.beforeEnqueue$.subscribe(() => {
        throw new Error('x');
      }),
    );
    expect(await queue.enqueue('q', 'J', {})).toMatch(/^[0-9a-f]{32}$/);
  });
});

describe('worker and scheduler events (declared here, emitted by them)', () => {
  const job = { workerId: 'h:1:q', queue: 'q', className: 'C', args: [], params: {}, id: null } as unknown as JobEvent;

  it('emitAsync returns false when a beforePerform listener throws DoNotPerformError; subscribers only observe', async () => {
    expect(await events.emitAsync('beforePerform', job)).toBe(true); // nobody listens
    const seen: JobEvent[] = [];
    subscriptions.push(events.beforePerform$.subscribe((e) => seen.push(e)));
    expect(await events.emitAsync('beforePerform', job)).toBe(true);
    removers.push(
      events.listen('beforePerform', async () => {
        throw new DoNotPerformError();
      }),
    );
    expect(await events.emitAsync('beforePerform', job)).toBe(false);
    expect(seen).toEqual([job, job]);
  });

  it('emitAsync rethrows a listener error only when asked (the worker fails the job)', async () => {
    removers.push(
      events.listen('afterFork', () => {
        throw new Error('fork hook failed');
      }),
    );
    const errors: ResqueEventError[] = [];
    subscriptions.push(events.errors$.subscribe((e) => errors.push(e)));
    await expect(events.emitAsync('afterFork', job, { rethrow: true })).rejects.toThrow('fork hook failed');
    expect(await events.emitAsync('afterFork', job)).toBe(true);
    expect(errors).toHaveLength(1);
  });

  it('every declared event has an observable, and on(name) returns it', () => {
    for (const name of [
      'beforeFirstFork',
      'beforeFork',
      'afterFork',
      'beforePerform',
      'afterPerform',
      'onFailure',
      'onProgress',
      'beforeEnqueue',
      'afterEnqueue',
      'beforeSchedule',
      'afterSchedule',
      'beforeDelayedEnqueue',
    ] as const) {
      expect(events.on(name)).toBe(events[`${name}$`]);
    }
    expect(() => events.listen('nope' as never, () => undefined)).toThrow(RangeError);
  });
});

describe('migration: an ignored old-style veto is logged once per event', () => {
  let logged: INestApplicationContext;
  const warnings: string[] = [];
  // A real LoggerService for the application: Nest's Logger instances (ResqueEvents' too) write through it.
  const collector: LoggerService = {
    log: () => undefined,
    error: () => undefined,
    warn: (message: unknown) => void warnings.push(String(message)),
  };

  beforeAll(async () => {
    @Module({ imports: [ResqueModule.forRoot({ connection: redis.url, logger: true })] })
    class LoggedModule {}
    logged = await NestFactory.createApplicationContext(LoggedModule, { logger: collector });
  });
  afterAll(async () => {
    await logged?.close();
  });

  it('a listener returning false: warned once, with the way to veto now', async () => {
    const loggedEvents = logged.get(ResqueEvents);
    const loggedQueue = logged.get(ResqueQueue);
    removers.push(loggedEvents.listen('beforeEnqueue', (() => false) as () => void));
    removers.push(loggedEvents.listen('afterEnqueue', (() => false) as () => void)); // not vetoable: no warning
    expect(await loggedQueue.enqueue('q', 'J', {})).toMatch(/^[0-9a-f]{32}$/);
    expect(await loggedQueue.enqueue('q', 'J', {})).toMatch(/^[0-9a-f]{32}$/);
    const vetoWarnings = warnings.filter((w) => w.includes('no longer vetoes'));
    expect(vetoWarnings).toEqual([
      'a beforeEnqueue listener returned false: that no longer vetoes beforeEnqueue; throw DoNotCreateError from a listen() listener or an @OnResqueEvent() method',
    ]);
  });
});

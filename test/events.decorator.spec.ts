// @OnResqueEvent() in a real Nest application context: discovered at init, called on the provider instance,
// counted by hasListeners (which decides what a worker bridges), vetoing the way listen() listeners do.
// The pooled-child side is in test/worker.pool.spec.ts (EventsProbe in test/apps/worker-module.ts).
import { Injectable, Module, Scope, type INestApplicationContext } from '@nestjs/common';
import { DiscoveryModule, NestFactory } from '@nestjs/core';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  DoNotCreateError,
  OnResqueEvent,
  ResqueEvents,
  ResqueModule,
  ResqueQueue,
  type EnqueueEvent,
  type ResqueEventError,
} from '../lib/index.js';
import { readEventListenerMetadata } from '../lib/decorators/index.js';
import { startRedis, type TestRedis } from './support/redis-server.js';

@Injectable()
class FreezeList {
  readonly frozen = new Set(['frozen']);
}

@Injectable()
class EnqueueAudit {
  readonly seen: string[] = [];
  constructor(private readonly freezeList: FreezeList) {}

  @OnResqueEvent('beforeEnqueue')
  async gate(e: EnqueueEvent): Promise<void> {
    await Promise.resolve();
    if (this.freezeList.frozen.has(e.queue)) throw new DoNotCreateError(`queue ${e.queue} is frozen`);
  }

  @OnResqueEvent('beforeEnqueue')
  @OnResqueEvent('afterEnqueue')
  record(e: EnqueueEvent): void {
    this.seen.push(`${e.queue}:${e.className}`);
  }

  @OnResqueEvent('afterSchedule')
  broken(): void {
    throw new Error('decorated listener broke');
  }

  notAListener(): void {
    this.seen.push('never');
  }
}

let redis: TestRedis;
let raw: Redis;
let app: INestApplicationContext;
let queue: ResqueQueue;
let events: ResqueEvents;
let audit: EnqueueAudit;

beforeAll(async () => {
  redis = await startRedis();
  raw = redis.client();
  @Module({
    imports: [ResqueModule.forRoot({ connection: redis.url, logger: false })],
    // The alias resolves to the same instance: its methods must be registered once, not twice.
    providers: [FreezeList, EnqueueAudit, { provide: 'AUDIT_ALIAS', useExisting: EnqueueAudit }],
  })
  class AppModule {}
  app = await NestFactory.createApplicationContext(AppModule, { logger: false });
  queue = app.get(ResqueQueue);
  events = app.get(ResqueEvents);
  audit = app.get(EnqueueAudit);
});
afterAll(async () => {
  await app?.close();
  await redis?.stop();
});
beforeEach(async () => {
  await raw.flushall();
  audit.seen.length = 0;
});

describe('@OnResqueEvent() methods of a provider', () => {
  it('are listeners once the application is initialised: hasListeners counts them', () => {
    expect(events.hasListeners('beforeEnqueue')).toBe(true);
    expect(events.hasListeners('afterEnqueue')).toBe(true);
    expect(events.hasListeners('afterSchedule')).toBe(true);
    expect(events.hasListeners('onFailure')).toBe(false);
  });

  it('run on the provider instance (with its dependencies), once each, for each stacked event', async () => {
    const id = await queue.enqueue('q', 'Audited', {});
    expect(id).toMatch(/^[0-9a-f]{32}$/);
    expect(audit.seen).toEqual(['q:Audited', 'q:Audited']);
  });

  it('veto like listen() listeners: an async method throwing DoNotCreateError stops the enqueue', async () => {
    expect(await queue.enqueue('frozen', 'Audited', {})).toBe(false);
    expect(await raw.dbsize()).toBe(0);
    // `gate` is declared (so registered) before `record`, and the first veto stops the later listeners.
    expect(audit.seen).toEqual([]);
  });

  it('report another error on errors$, like listen() listeners', async () => {
    const errors: ResqueEventError[] = [];
    const sub = events.errors$.subscribe((e) => errors.push(e));
    try {
      expect(await queue.enqueueIn(60, 'q', 'Later', {})).toBe(true);
    } finally {
      sub.unsubscribe();
    }
    expect(errors.map((e) => [e.event, (e.error as Error).message])).toEqual([['afterSchedule', 'decorated listener broke']]);
  });

  it('store their events through the one accessor; unknown names and non-methods are refused', () => {
    expect(readEventListenerMetadata(EnqueueAudit.prototype.record)).toEqual(['afterEnqueue', 'beforeEnqueue']);
    expect(readEventListenerMetadata(EnqueueAudit.prototype.notAListener)).toEqual([]);
    expect(() => OnResqueEvent('afterEnqueu' as never)).toThrow(RangeError);
    // Compile time: the method must take the event's payload (tsc runs on the tests).
    class Mismatched {
      // @ts-expect-error -- onFailure delivers a FailureEvent, not an EnqueueEvent
      @OnResqueEvent('onFailure')
      wrong(e: EnqueueEvent): string {
        return e.queue;
      }
    }
    expect(readEventListenerMetadata(Mismatched.prototype.wrong)).toEqual(['onFailure']);
    expect(() => OnResqueEvent('afterEnqueue')(EnqueueAudit.prototype, 'seen', {})).toThrow(TypeError);
  });

  it('on a request-scoped provider fail the bootstrap, naming the method', async () => {
    @Injectable({ scope: Scope.REQUEST })
    class ScopedAudit {
      @OnResqueEvent('onFailure')
      failed(): void {}
    }
    // No ResqueModule: nothing to connect, so nothing is left open by the failed bootstrap.
    @Module({ imports: [DiscoveryModule], providers: [ResqueEvents, ScopedAudit] })
    class ScopedModule {}
    const booting = NestFactory.createApplicationContext(ScopedModule, { logger: false, abortOnError: false });
    await expect(booting).rejects.toThrow(/ScopedAudit\.failed: @OnResqueEvent\(\) needs a singleton provider/);
  });
});

// ResqueTestingModule honours throttles (README "Job policies"): a job over its class's rate or cap is left
// waiting at the head of its queue, as a worker would leave it, instead of being performed; no waiting.
import 'reflect-metadata';
import { Injectable } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Job, Perform, ResqueQueue } from '../lib/index.js';
import { ResqueTestingModule, ResqueTestingQueue } from '../lib/testing/index.js';

@Job('Rated', { throttle: { max: 2, perSeconds: 10 } })
@Injectable()
class RatedJob {
  @Perform()
  perform(): void {}
}

@Job('Plain')
@Injectable()
class PlainJob {
  @Perform()
  perform(): void {}
}

/** One at a time; its first run enqueues another one (inline mode performs enqueues at once). */
@Job('Nested', { maxConcurrent: 1 })
@Injectable()
class NestedJob {
  constructor(private readonly queue: ResqueQueue) {}

  @Perform()
  async perform(params: { spawn: boolean }): Promise<void> {
    if (params.spawn) await this.queue.enqueue('n', 'Nested', { spawn: false });
  }
}

async function build(mode: 'inline' | 'record'): Promise<{ moduleRef: TestingModule; queue: ResqueTestingQueue }> {
  const moduleRef = await Test.createTestingModule({ imports: [ResqueTestingModule.forRoot({ mode })], providers: [RatedJob, PlainJob, NestedJob] }).compile();
  await moduleRef.init();
  return { moduleRef, queue: moduleRef.get(ResqueTestingQueue) };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('ResqueTestingModule honours throttle and maxConcurrent', () => {
  it('record mode: runAll leaves a job over its rate at the head of its queue, runs the other queues, and runs it once the window has room', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const { moduleRef, queue } = await build('record');
    const [, , third] = [await queue.enqueue('a', 'Rated', { n: 1 }), await queue.enqueue('a', 'Rated', { n: 2 }), await queue.enqueue('a', 'Rated', { n: 3 })];
    await queue.enqueue('a', 'Plain', {});
    await queue.enqueue('b', 'Plain', {});
    const ran = await queue.runAll();
    // Two Rated, then queue a is blocked at its head (the third Rated, the Plain behind it waits too); b runs.
    expect(ran.map((j) => `${j.queue}:${j.className}`)).toEqual(['a:Rated', 'a:Rated', 'b:Plain']);
    expect(queue.jobs().map((j) => j.className)).toEqual(['Rated', 'Plain']);
    expect(queue.jobs()[0]!.id).toBe(third);
    vi.setSystemTime(Date.now() + 10_001);
    expect((await queue.runAll()).map((j) => j.className)).toEqual(['Rated', 'Plain']);
    expect(queue.jobs()).toEqual([]);
    await moduleRef.close();
  });

  it('inline mode: an enqueue over the rate is recorded as waiting instead of performed', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const { moduleRef, queue } = await build('inline');
    for (let n = 0; n < 3; n++) await queue.enqueue('a', 'Rated', { n });
    expect(queue.performed()).toHaveLength(2);
    expect(queue.jobs().map((j) => j.params)).toEqual([{ n: 2 }]);
    vi.setSystemTime(Date.now() + 10_001);
    expect(await queue.runAll()).toHaveLength(1);
    await moduleRef.close();
  });

  it('inline mode: a capped job enqueued by a running job of its class waits for it (cap 1), then runs', async () => {
    const { moduleRef, queue } = await build('inline');
    await queue.enqueue('n', 'Nested', { spawn: true });
    expect(queue.performed().map((j) => j.params)).toEqual([{ spawn: true }]);
    expect(queue.jobs().map((j) => j.params)).toEqual([{ spawn: false }]);
    expect((await queue.runAll()).map((j) => j.params)).toEqual([{ spawn: false }]);
    await moduleRef.close();
  });
});

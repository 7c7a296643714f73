// The testing module honours unique jobs in memory, with the rules the Redis scripts follow: an equal
// enqueue returns the holder's id (no afterEnqueue) or rejects; 'queued' ends at promotion, 'started' when
// the job starts, 'finished' when it ends (completed or failed).
import 'reflect-metadata';
import { Injectable } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DuplicateJobError, Job, Perform, ResqueEvents, ResqueQueue, type ResqueJobContext } from '../lib/index.js';
import { ResqueTestingModule, ResqueTestingQueue } from '../lib/testing/index.js';

interface P {
  tag: string;
  fail?: boolean;
}

/** What the jobs saw: an equal enqueue made from inside the first perform of each class. */
@Injectable()
class Seen {
  readonly inside = new Map<string, { self: string | null; again: string | false }>();
}

@Injectable()
class Body {
  constructor(
    private readonly queue: ResqueQueue,
    private readonly seen: Seen,
  ) {}

  async run(job: typeof MFinished | typeof MStarted, params: P, ctx: ResqueJobContext): Promise<void> {
    if (!this.seen.inside.has(ctx.className)) {
      this.seen.inside.set(ctx.className, { self: ctx.id, again: false });
      this.seen.inside.get(ctx.className)!.again = await this.queue.enqueue('m', job, params);
    }
    if (params.fail) throw new Error('fails');
  }
}

@Job('MFinished', { unique: { until: 'finished' } })
@Injectable()
class MFinished {
  constructor(private readonly body: Body) {}
  @Perform()
  perform(params: P, ctx: ResqueJobContext): Promise<void> {
    return this.body.run(MFinished, params, ctx);
  }
}

@Job('MStarted', { unique: { until: 'started' } })
@Injectable()
class MStarted {
  constructor(private readonly body: Body) {}
  @Perform()
  perform(params: P, ctx: ResqueJobContext): Promise<void> {
    return this.body.run(MStarted, params, ctx);
  }
}

@Job('MQueued', { unique: { until: 'queued', onDuplicate: 'reject' } })
@Injectable()
class MQueued {
  @Perform()
  perform(): void {}
}

describe('ResqueTestingModule honours unique jobs', () => {
  let moduleRef: TestingModule;
  let queue: ResqueTestingQueue;
  let seen: Seen;
  const announced: string[] = [];
  beforeAll(async () => {
    moduleRef = await Test.createTestingModule({ imports: [ResqueTestingModule.forRoot({ mode: 'record' })], providers: [Seen, Body, MFinished, MStarted, MQueued] }).compile();
    await moduleRef.init();
    queue = moduleRef.get(ResqueTestingQueue);
    seen = moduleRef.get(Seen);
    moduleRef.get(ResqueEvents).listen('afterEnqueue', (e) => void announced.push(e.id ?? ''));
  });
  afterAll(async () => {
    await moduleRef.close();
  });
  afterEach(() => {
    queue.clear();
    seen.inside.clear();
    announced.length = 0;
  });

  it("'finished': an equal enqueue returns the holder id, inside its perform too; the outcome releases it", async () => {
    const first = await queue.enqueue('m', MFinished, { tag: 'a' });
    expect(await queue.enqueue('m', MFinished, { tag: 'a' })).toBe(first);
    expect(queue.jobs()).toHaveLength(1);
    expect(announced).toEqual([first]);
    expect(JSON.parse(queue.jobs()[0]!.raw)).toMatchObject({ unique: { lock: 'unique:MFinished:{"tag":"a"}', until: 'finished' } });
    await queue.runAll();
    expect(seen.inside.get('MFinished')).toEqual({ self: first, again: first });
    const next = await queue.enqueue('m', MFinished, { tag: 'a' });
    expect(next).not.toBe(first);

    // A failure releases it too.
    queue.clear();
    const failing = await queue.enqueue('m', MFinished, { tag: 'f', fail: true });
    expect(await queue.enqueue('m', MFinished, { tag: 'f', fail: true })).toBe(failing);
    expect((await queue.runAll()).map((j) => j.outcome.kind)).toEqual(['failed']);
    expect(await queue.enqueue('m', MFinished, { tag: 'f', fail: true })).not.toBe(failing);
  });

  it("'started': released as the job starts, so its perform can enqueue an equal job", async () => {
    const first = await queue.enqueue('m', MStarted, { tag: 's' });
    expect(await queue.enqueue('m', MStarted, { tag: 's' })).toBe(first);
    const [ran] = await queue.runAll();
    expect(ran!.id).toBe(first);
    const inside = seen.inside.get('MStarted')!;
    expect(inside.again).not.toBe(first);
    expect(inside.again).toMatch(/^[0-9a-f]{32}$/);
  });

  it("delayed: enqueueIn returns the job's id, equal enqueues get it, promotion keeps it; 'queued' rejects until promotion", async () => {
    const id = await queue.enqueueIn(600, 'm', MFinished, { tag: 'd' });
    expect(id).toMatch(/^[0-9a-f]{32}$/);
    expect(await queue.enqueueAt(Math.floor(Date.now() / 1000) + 60, 'm', MFinished, { tag: 'd' })).toBe(id);
    expect(await queue.enqueue('m', MFinished, { tag: 'd' })).toBe(id);
    expect(queue.delayedJobs()).toHaveLength(1);
    expect(await queue.enqueueDelayed()).toEqual([id]);
    expect(queue.jobs().map((j) => j.id)).toEqual([id]);
    expect(await queue.enqueue('m', MFinished, { tag: 'd' })).toBe(id);

    const queued = await queue.enqueueIn(600, 'm', MQueued, { tag: 'q' });
    await expect(queue.enqueue('m', MQueued, { tag: 'q' })).rejects.toBeInstanceOf(DuplicateJobError);
    await expect(queue.enqueueIn(5, 'm', MQueued, { tag: 'q' })).rejects.toThrow(/already enqueued or running/);
    expect(await queue.enqueueDelayed()).toEqual([queued]);
    const again = await queue.enqueue('m', MQueued, { tag: 'q' });
    expect(again).not.toBe(queued);
    expect(await queue.enqueue('m', MQueued, { tag: 'q' })).not.toBe(again); // an immediate 'queued' enqueue takes no lock
  });

  it('removeDelayed and dequeue with selectors release the removed jobs\' locks', async () => {
    const delayed = await queue.enqueueIn(600, 'm', MFinished, { tag: 'r' });
    expect(await queue.removeDelayed('m', MFinished, { tag: 'r' })).toBe(1);
    const queued = await queue.enqueue('m', MFinished, { tag: 'r' });
    expect(queued).not.toBe(delayed);
    expect(await queue.dequeue('m', [{ MFinished: { tag: 'r' } }])).toBe(1);
    expect(await queue.enqueue('m', MFinished, { tag: 'r' })).not.toBe(queued);
  });
});

describe('ResqueTestingModule inline mode honours unique jobs', () => {
  let moduleRef: TestingModule;
  let queue: ResqueTestingQueue;
  let seen: Seen;
  beforeAll(async () => {
    moduleRef = await Test.createTestingModule({ imports: [ResqueTestingModule.forRoot({ mode: 'inline' })], providers: [Seen, Body, MFinished, MStarted, MQueued] }).compile();
    await moduleRef.init();
    queue = moduleRef.get(ResqueTestingQueue);
    seen = moduleRef.get(Seen);
  });
  afterAll(async () => {
    await moduleRef.close();
  });

  it("the lock is held while the job runs inside enqueue ('finished') and released when it returns", async () => {
    const first = await queue.enqueue('m', MFinished, { tag: 'i' });
    expect(seen.inside.get('MFinished')).toEqual({ self: first, again: first });
    const next = await queue.enqueue('m', MFinished, { tag: 'i' });
    expect(next).not.toBe(first);
    expect(queue.performed().map((j) => j.id)).toEqual([first, next]);
  });
});

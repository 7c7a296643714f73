import 'reflect-metadata';
import { Test, type TestingModule } from '@nestjs/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DoNotCreateError, DoNotScheduleError, JobStatus, ResqueDelayedJobs, ResqueEvents, ResqueFailures, ResqueModule, ResqueQueue, ResqueWorkers } from '../lib/index.js';
import { ResqueTestingModule, ResqueTestingQueue } from '../lib/testing/index.js';
import { FailingJob, Mailer, OnboardJob, SignupService, WelcomeMailJob } from './apps/testing-jobs.js';
import { startRedis, type TestRedis } from './support/redis-server.js';

const providers = [Mailer, WelcomeMailJob, OnboardJob, FailingJob, SignupService];

async function build(mode: 'inline' | 'record'): Promise<TestingModule> {
  const moduleRef = await Test.createTestingModule({ imports: [ResqueTestingModule.forRoot({ mode })], providers }).compile();
  await moduleRef.init();
  return moduleRef;
}

describe('ResqueTestingModule, record mode (no Redis)', () => {
  let moduleRef: TestingModule;
  let queue: ResqueTestingQueue;
  beforeAll(async () => {
    moduleRef = await build('record');
    queue = moduleRef.get(ResqueTestingQueue);
  });
  afterAll(async () => {
    await moduleRef.close();
  });
  afterEach(() => queue.clear());

  it('is what code injecting ResqueQueue gets', () => {
    expect(moduleRef.get(ResqueQueue)).toBe(queue);
    expect(queue).toBeInstanceOf(ResqueQueue);
    expect(() => queue.connection.client).toThrow(/ResqueTestingModule has no Redis/);
  });

  it('records enqueued jobs without running them; runAll performs them with DI', async () => {
    const id = await moduleRef.get(SignupService).signUp('ann@example.com');
    expect(id).toMatch(/^[0-9a-f]{32}$/);
    const jobs = queue.jobs('mail');
    expect(jobs).toHaveLength(1);
    expect(jobs[0]).toMatchObject({ id, className: 'WelcomeMail', params: { to: 'ann@example.com' }, tracked: true });
    expect(JSON.parse(jobs[0]!.raw)).toMatchObject({ class: 'WelcomeMail', args: [{ to: 'ann@example.com' }], id });
    expect(queue.jobs('other')).toEqual([]);
    expect(await queue.size('mail')).toBe(1);
    expect(await queue.queues()).toEqual(['mail']);
    expect((await queue.status(id as string))?.status).toBe(JobStatus.WAITING);
    expect(moduleRef.get(Mailer).sent).toEqual([]);

    const ran = await queue.runAll();
    expect(ran).toHaveLength(1);
    expect(ran[0]!.outcome.kind).toBe('complete');
    expect(ran[0]!.result).toEqual({ sentTo: 'ann@example.com' });
    expect(moduleRef.get(Mailer).sent).toEqual(['ann@example.com']);
    expect(moduleRef.get(WelcomeMailJob).calls).toEqual(['setUp', 'perform', 'tearDown']);
    expect(queue.jobs()).toEqual([]);
    expect(await queue.status(id as string)).toMatchObject({ status: JobStatus.COMPLETE, result: { sentTo: 'ann@example.com' } });
  });

  it('runAll also performs jobs enqueued by jobs, and can be limited to a queue', async () => {
    moduleRef.get(Mailer).sent.length = 0;
    await queue.enqueue('onboarding', OnboardJob, { to: 'bo' });
    await queue.enqueue('mail', 'WelcomeMail', { to: 'cy' });
    expect((await queue.runAll('onboarding')).map((j) => j.className)).toEqual(['Onboard']);
    expect(queue.jobs().map((j) => j.params)).toEqual([{ to: 'cy' }, { to: 'bo' }]);
    expect((await queue.runAll()).length).toBe(2);
    expect(moduleRef.get(Mailer).sent).toEqual(['cy', 'bo']);
    expect(queue.enqueued().map((j) => j.className)).toEqual(['Onboard', 'WelcomeMail', 'WelcomeMail']);
  });

  it('dequeue, peek and removeQueue work on the recorded jobs', async () => {
    await queue.enqueue('mail', WelcomeMailJob, { to: 'a' });
    await queue.enqueue('mail', WelcomeMailJob, { to: 'b' });
    expect((await queue.peek('mail', 1, 5)).map((j) => ('params' in j ? j.params : null))).toEqual([{ to: 'b' }]);
    expect(await queue.dequeue('mail', [{ WelcomeMail: { to: 'a' } }])).toBe(1);
    expect(queue.jobs().map((j) => j.params)).toEqual([{ to: 'b' }]);
    expect(await queue.removeQueue('mail')).toBe(1);
    expect(await queue.queues()).toEqual([]);
  });

  it('a failing job is reported, not thrown', async () => {
    const id = (await queue.enqueue('q', FailingJob, { why: 'nope' })) as string;
    const [ran] = await queue.runAll();
    expect(ran!.outcome).toMatchObject({ kind: 'failed', exception: 'RangeError', error: 'nope' });
    expect(queue.failures().map((f) => f.id)).toEqual([id]);
    expect((await queue.status(id))?.status).toBe(JobStatus.FAILED); // tracked by @Job({ track: true })
  });

  it('ResqueFailures lists the failure records of failed jobs, and requeue/remove work on them; no workers are registered', async () => {
    const failures = moduleRef.get(ResqueFailures);
    const id = (await queue.enqueue('q', FailingJob, { why: 'again' })) as string;
    await queue.runAll();
    expect(await failures.count()).toBe(1);
    const [entry] = await failures.list();
    expect(entry).toMatchObject({ index: 0, className: 'AlwaysFails', record: { exception: 'RangeError', error: 'again', queue: 'q' } });
    expect((entry!.record!.payload as { id: string }).id).toBe(id);
    expect(entry!.record!.worker).toMatch(/^testing:\d+:q$/);

    expect(await failures.requeue(entry!)).toBe('q');
    expect(queue.jobs('q').map((j) => j.id)).toEqual([id]);
    expect((await queue.status(id))?.status).toBe(JobStatus.WAITING);
    expect((await failures.get(0))?.retriedAt).toBeInstanceOf(Date);
    await queue.runAll();
    expect(await failures.count()).toBe(2);
    expect(await failures.removeWhere({ class: 'AlwaysFails' })).toBe(2);
    expect(await failures.count()).toBe(0);

    expect(await moduleRef.get(ResqueWorkers).list()).toEqual([]);
    expect(await moduleRef.get(ResqueWorkers).pruneNow()).toEqual([]);
  });

  it('beforeEnqueue listeners can veto, as with ResqueQueue', async () => {
    const events = moduleRef.get(ResqueEvents);
    const remove = events.listen('beforeEnqueue', (e) => {
      if (e.queue === 'blocked') throw new DoNotCreateError('blocked');
    });
    try {
      expect(await queue.enqueue('blocked', WelcomeMailJob, { to: 'x' })).toBe(false);
      expect(queue.enqueued()).toEqual([]);
    } finally {
      remove();
    }
  });
});

describe('ResqueTestingModule, delayed jobs in memory', () => {
  let moduleRef: TestingModule;
  let queue: ResqueTestingQueue;
  beforeAll(async () => {
    moduleRef = await build('record');
    queue = moduleRef.get(ResqueTestingQueue);
  });
  afterAll(async () => {
    await moduleRef.close();
  });
  afterEach(() => queue.clear());

  it('enqueueIn/enqueueAt record delayed jobs; the size, peek and remove methods see them', async () => {
    const delayed = moduleRef.get(ResqueDelayedJobs);
    expect(delayed).toBe(queue.delayed);
    const at = 1_900_000_000;
    expect(await queue.enqueueAt(at, 'mail', WelcomeMailJob, { to: 'gus' })).toBe(true);
    expect(await queue.enqueueAt(new Date(at * 1000), 'mail', 'WelcomeMail', { to: 'hal' })).toBe(true);
    expect(await queue.enqueueIn(3600, 'mail', WelcomeMailJob, { to: 'ida' })).toBe(true);
    expect(queue.jobs()).toEqual([]);
    expect(queue.delayedJobs().map((j) => [j.className, j.params])).toEqual([
      ['WelcomeMail', { to: 'ida' }],
      ['WelcomeMail', { to: 'gus' }],
      ['WelcomeMail', { to: 'hal' }],
    ]);
    expect(JSON.parse(queue.delayedJobs().at(-1)!.raw)).toEqual({ class: 'WelcomeMail', args: [{ to: 'hal' }], queue: 'mail' });
    expect(await queue.delayedQueueScheduleSize()).toBe(2);
    expect(await queue.delayedTimestampSize(at)).toBe(2);
    expect(await delayed.nextDelayedTimestamp()).toBeLessThan(at);
    expect(await delayed.scheduledAt('mail', WelcomeMailJob, { to: 'gus' })).toEqual([at]);
    expect((await delayed.peekDelayed(1, 1))[0]).toMatchObject({ at, items: [{ className: 'WelcomeMail' }, { className: 'WelcomeMail' }] });

    expect(await queue.removeDelayed('mail', WelcomeMailJob, { to: 'gus' })).toBe(1);
    expect(await queue.removeDelayedJobFromTimestamp(at, 'mail', 'WelcomeMail', { to: 'hal' })).toBe(1);
    expect(await queue.delayedQueueScheduleSize()).toBe(1);
    expect(await delayed.scheduledAt('mail', WelcomeMailJob, { to: 'gus' })).toEqual([]);
  });

  it('a time already past is enqueued at once; enqueueDelayed moves the due ones to their queues', async () => {
    const now = Math.floor(Date.now() / 1000);
    expect(await queue.enqueueAt(now - 10, 'mail', WelcomeMailJob, { to: 'jo' })).toBe(true);
    expect(queue.jobs('mail').map((j) => [j.params, j.tracked])).toEqual([[{ to: 'jo' }, false]]);
    await queue.enqueueAt(now + 100, 'mail', WelcomeMailJob, { to: 'kim' });
    await queue.enqueueAt(now + 10_000, 'mail', WelcomeMailJob, { to: 'lu' });
    const ids = await queue.enqueueDelayed(now + 100);
    expect(ids).toHaveLength(1);
    expect(queue.jobs('mail').map((j) => j.params)).toEqual([{ to: 'jo' }, { to: 'kim' }]);
    expect(queue.delayedJobs().map((j) => j.params)).toEqual([{ to: 'lu' }]);
    await queue.enqueueDelayed();
    expect(queue.delayedJobs()).toEqual([]);
    expect((await queue.runAll()).map((j) => j.outcome.kind)).toEqual(['complete', 'complete', 'complete']);
  });

  it('beforeSchedule listeners can veto; bad arguments throw before anything is recorded', async () => {
    const events = moduleRef.get(ResqueEvents);
    const stop = events.listen('beforeSchedule', (e) => {
      if (e.queue === 'blocked') throw new DoNotScheduleError('blocked');
    });
    try {
      expect(await queue.enqueueIn(60, 'blocked', WelcomeMailJob, { to: 'x' })).toBe(false);
    } finally {
      stop();
    }
    await expect(queue.enqueueIn(-1, 'mail', 'WelcomeMail')).rejects.toThrow(/seconds must not be negative/);
    await expect(queue.enqueueAt(1_900_000_000, 'mail', class NotAJob {})).rejects.toThrow(/class NotAJob has no @Job/);
    expect(queue.delayedJobs()).toEqual([]);
  });
});

describe('ResqueTestingModule, inline mode', () => {
  let moduleRef: TestingModule;
  let queue: ResqueTestingQueue;
  beforeAll(async () => {
    moduleRef = await build('inline');
    queue = moduleRef.get(ResqueTestingQueue);
  });
  afterAll(async () => {
    await moduleRef.close();
  });

  it('performs the job inside enqueue, with the injected service, and returns its id', async () => {
    const id = await moduleRef.get(SignupService).signUp('dee');
    expect(id).toMatch(/^[0-9a-f]{32}$/);
    expect(moduleRef.get(Mailer).sent).toEqual(['dee']);
    expect(queue.jobs()).toEqual([]);
    expect(queue.performed().map((j) => [j.id, j.result])).toEqual([[id, { sentTo: 'dee' }]]);
    expect(await queue.status(id as string)).toMatchObject({ status: JobStatus.COMPLETE, result: { sentTo: 'dee' } });
  });

  it('nested enqueues run too; failures are collected', async () => {
    await queue.enqueue('onboarding', OnboardJob, { to: 'eve' });
    expect(moduleRef.get(Mailer).sent).toContain('eve');
    await queue.enqueueBulk('q', [{ job: FailingJob, params: { why: 'bulk' } }, { job: 'WelcomeMail', params: { to: 'fay' } }]);
    expect(queue.failures().map((f) => f.outcome)).toMatchObject([{ kind: 'failed', error: 'bulk' }]);
    expect(moduleRef.get(Mailer).sent).toContain('fay');
  });

  it('a delayed job already due is performed at once', async () => {
    moduleRef.get(Mailer).sent.length = 0;
    expect(await queue.enqueueAt(new Date(0), 'mail', WelcomeMailJob, { to: 'max' })).toBe(true);
    expect(moduleRef.get(Mailer).sent).toEqual(['max']);
  });

  it('an unknown job name fails like on a worker', async () => {
    await queue.enqueue('q', 'NoSuchJob', {});
    expect(queue.failures().at(-1)!.outcome).toMatchObject({ kind: 'failed' });
  });
});

describe('argument validation is the same as ResqueQueue', () => {
  let server: TestRedis;
  let real: TestingModule;
  let testing: TestingModule;
  beforeAll(async () => {
    server = await startRedis();
    real = await Test.createTestingModule({ imports: [ResqueModule.forRoot({ connection: server.url, logger: false })], providers }).compile();
    await real.init();
    testing = await build('record');
  });
  afterAll(async () => {
    await real.close();
    await testing.close();
    await server.stop();
  });

  it('throws the same errors, before anything is recorded', async () => {
    class NotAJob {}
    const cycle: Record<string, unknown> = {};
    cycle['self'] = cycle;
    const calls: Array<(q: ResqueQueue) => Promise<unknown>> = [
      (q) => q.enqueue('', WelcomeMailJob, { to: 'x' }),
      (q) => q.enqueue('a,b', WelcomeMailJob, { to: 'x' }),
      (q) => q.enqueue(5 as unknown as string, 'X'),
      (q) => q.enqueue('q', NotAJob as never),
      (q) => q.enqueue('q', ''),
      (q) => q.enqueue('q', 'X', { f: () => 1 }),
      (q) => q.enqueue('q', 'X', { n: 10n }),
      (q) => q.enqueue('q', 'X', cycle),
      (q) => q.enqueue('q', 'X', {}, { track: 'yes' as unknown as boolean }),
      (q) => q.enqueueBulk('q', [{ job: 'X', params: { u: undefined } }]),
      (q) => q.enqueueBulk('q', 'nope' as never),
      (q) => q.peek('q', -1),
      (q) => q.status(''),
    ];
    const realQueue = real.get(ResqueQueue);
    const testingQueue = testing.get(ResqueTestingQueue);
    for (const call of calls) {
      const expected = await call(realQueue).then(
        () => null,
        (e: Error) => e,
      );
      expect(expected).toBeInstanceOf(Error);
      await expect(call(testingQueue)).rejects.toThrow(expected!.message);
      await call(testingQueue).catch((e: Error) => expect(e.constructor).toBe(expected!.constructor));
    }
    expect(testingQueue.enqueued()).toEqual([]);
    expect(await server.client().dbsize()).toBe(0);
  });
});

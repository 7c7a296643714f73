// One real worker process (pool mode, one slot, a reusable child) driven through the compatibility
// checklist (resque-protocol.md §13 items 2, 7, 8, 9, 10, 13, 16, 24, 26): jobs go in as raw payloads the way
// php-resque and Ruby write them, and everything is checked in Redis and /proc.
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseResqueTime } from '../lib/protocol/index.js';
import { cmdlineOf, isAlive, killAllWorkers, spawnWorker, waitFor, type WorkerProcess } from './apps/worker-harness.js';
import { loadKeys, readFixture } from './support/fixtures.js';
import { startRedis, type TestRedis } from './support/redis-server.js';

const VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
const RUN_AT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;

let server: TestRedis;
let redis: Redis;
let worker: WorkerProcess;
let id: string;

const k = (key: string) => `resque:${key}`;
async function push(...payloads: Array<string | Record<string, unknown>>): Promise<void> {
  await redis.sadd(k('queues'), 'default');
  await redis.rpush(k('queue:default'), ...payloads.map((p) => (typeof p === 'string' ? p : JSON.stringify(p))));
}
async function track(jobId: string, started = 1700000000): Promise<void> {
  await redis.set(k(`job:${jobId}:status`), JSON.stringify({ status: 1, updated: started, started }));
}
async function status(jobId: string): Promise<Record<string, unknown> | null> {
  const raw = await redis.get(k(`job:${jobId}:status`));
  return raw === null ? null : (JSON.parse(raw) as Record<string, unknown>);
}
/** Queue and claim list empty, `worker:<id>` gone: everything pushed so far has been performed and recorded. */
async function idle(): Promise<void> {
  await waitFor(
    'the worker to go idle',
    async () => (await redis.llen(k('queue:default'))) === 0 && (await redis.exists(k(`worker:${id}`), k(`worker:${id}:claim`))) === 0,
  );
}
async function failures(): Promise<Array<Record<string, unknown>>> {
  return (await redis.lrange(k('failed'), 0, -1)).map((f) => JSON.parse(f) as Record<string, unknown>);
}
async function stats(): Promise<number[]> {
  const values = await redis.mget(k('stat:processed'), k(`stat:processed:${id}`), k('stat:failed'), k(`stat:failed:${id}`));
  return values.map((v) => Number(v ?? 0));
}

beforeAll(async () => {
  server = await startRedis();
  redis = server.client();
  // termTimeoutMs: a timed-out job that ignores ctx.signal (Slow) is SIGKILLed that long after its timeout.
  worker = spawnWorker(server.url, { QUEUE: 'default', INTERVAL: '0.05' }, { heartbeatIntervalSeconds: 1, termTimeoutMs: 200 });
  [id] = (await worker.ready) as [string];
}, 60_000);

afterAll(async () => {
  await killAllWorkers();
  await server.stop();
});

describe('pool worker (a real process with a reusable child)', () => {
  it('registers as host:pid:queues with a Ruby :started time and a fresh heartbeat (items 8, 24)', async () => {
    expect(id).toBe(`${hostname()}:${worker.pid}:default`);
    expect(await redis.smembers(k('workers'))).toEqual([id]);
    const started = await redis.get(k(`worker:${id}:started`));
    expect(started).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} \+0000$/);
    const beat = await redis.hget(k('workers:heartbeat'), id);
    expect(beat).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+00:00$/);
    // Fresh: written at or after registration, then refreshed (every second in this test), so Ruby's
    // heartbeat pruner never sees it expire.
    const firstBeat = parseResqueTime(beat)!.getTime();
    expect(firstBeat).toBeGreaterThanOrEqual(parseResqueTime(started)!.getTime());
    await waitFor('the heartbeat to be refreshed', async () => {
      const next = await redis.hget(k('workers:heartbeat'), id);
      return next !== null && parseResqueTime(next)!.getTime() > firstBeat;
    });
    expect(cmdlineOf(worker.pid)).toMatch(new RegExp(`^resque-${VERSION.replace(/\./g, '\\.')}: Waiting for default`));
    await waitFor('beforeFirstFork in the parent', async () => (await redis.lrange('t:events', 0, -1)).includes('parent:beforeFirstFork:worker'));
  });

  it('performs a php-resque tracked payload in a child: params = the PHP array, id, status 1→2→4 kept started (items 2, 13)', async () => {
    const fixture = readFixture('php-enqueue-tracked');
    const jobId = fixture.returns['Resque::enqueue'] as string;
    await loadKeys(redis, fixture.keys);
    const seen = await waitFor('the PhpEcho job', async () => (await redis.lrange('t:seen', 0, -1)).map((s) => JSON.parse(s) as Record<string, unknown>).find((s) => s['id'] === jobId));
    expect(seen['params']).toEqual({ name: 'x', path: 'a/b', uni: 'café', n: 1, list: [1, 2] });
    expect(seen).toMatchObject({ job: 'PhpEcho', queue: 'default', className: 'PhpEcho', workerId: id });
    expect(seen['pid']).not.toBe(worker.pid); // performed in the child
    const final = await waitFor('COMPLETE', async () => ((await status(jobId))?.['status'] === 4 ? status(jobId) : null));
    expect(final).toEqual({ status: 4, updated: expect.any(Number), started: 1795726920, result: 'php ok' });
    const ttl = await redis.ttl(k(`job:${jobId}:status`));
    expect(ttl).toBeGreaterThan(86_000);
    expect(ttl).toBeLessThanOrEqual(86_400);
  });

  it('writes worker:<id> in the Ruby shape with the payload bytes kept, RUNNING, and Processing titles while a job runs (items 7, 13, 24)', async () => {
    const raw = '{"class":"Sleep","args":[{"ms":1500,"tag":"t7","path":"a\\/b","uni":"caf\\u00e9"}],"id":"7777aaaa7777aaaa7777aaaa7777aaaa","queue_time":1795726922.961377}';
    await track('7777aaaa7777aaaa7777aaaa7777aaaa', 1795726922);
    await push(raw);
    const childPid = Number(await waitFor('the Sleep job to start', () => redis.get('t:running:t7')));
    const record = await redis.get(k(`worker:${id}`));
    const runAt = (JSON.parse(record!) as { run_at: string }).run_at;
    expect(runAt).toMatch(RUN_AT);
    expect(record).toBe(`{"queue":"default","run_at":"${runAt}","payload":${raw}}`);
    expect(await status('7777aaaa7777aaaa7777aaaa7777aaaa')).toEqual({ status: 2, updated: expect.any(Number), started: 1795726922 });
    expect(await redis.ttl(k('job:7777aaaa7777aaaa7777aaaa7777aaaa:status'))).toBe(-1);
    expect(cmdlineOf(worker.pid)).toMatch(new RegExp(`^resque-${VERSION.replace(/\./g, '\\.')}: Processing default since \\d+ \\[Sleep\\]`));
    expect(cmdlineOf(childPid)).toMatch(/^resque-\S+: Processing default since \d+ \[Sleep\]/);
    await idle();
    expect(await status('7777aaaa7777aaaa7777aaaa7777aaaa')).toEqual({ status: 4, updated: expect.any(Number), started: 1795726922, result: 't7' });
    // The title goes back once the slot has taken the cycle's reply in, a moment after Redis was written.
    await waitFor('the title back to waiting', () => /: Waiting for default/.test(cmdlineOf(worker.pid)));
  });

  it('counts processed for every job and failed for failures; a failure has the 7 Ruby members (items 9, 10, 13)', async () => {
    await redis.del(k('failed'));
    const before = await stats();
    await track('fa11fa11fa11fa11fa11fa11fa11fa11', 1700000001);
    const failing = { class: 'Fail', args: [{ name: 'x', path: 'a/b' }], id: 'fa11fa11fa11fa11fa11fa11fa11fa11', queue_time: 1.5 };
    await push(failing, { class: 'Echo', args: [{ ok: 1 }], id: 'ec40ec40ec40ec40ec40ec40ec40ec40' });
    await idle();
    const after = await stats();
    expect(after.map((v, i) => v - before[i]!)).toEqual([2, 2, 1, 1]);
    const [failure] = await failures();
    expect(Object.keys(failure!)).toEqual(['failed_at', 'payload', 'exception', 'error', 'backtrace', 'worker', 'queue']);
    expect(failure).toMatchObject({ payload: failing, exception: 'RangeError', error: 'boom x', worker: id, queue: 'default' });
    expect(failure!['failed_at']).toMatch(/^\d{4}\/\d{2}\/\d{2} \d{2}:\d{2}:\d{2} UTC$/);
    expect(Math.abs(parseResqueTime(failure!['failed_at'] as string)!.getTime() - Date.now())).toBeLessThan(60_000);
    expect((failure!['backtrace'] as string[]).some((line) => line.includes('FailJob.perform'))).toBe(true);
    expect(await status('fa11fa11fa11fa11fa11fa11fa11fa11')).toEqual({ status: 3, updated: expect.any(Number), started: 1700000001 });
    expect(await redis.ttl(k('job:fa11fa11fa11fa11fa11fa11fa11fa11:status'))).toBeGreaterThan(86_000);
    expect(await redis.exists(k('job:ec40ec40ec40ec40ec40ec40ec40ec40:status'))).toBe(0); // untracked: no key
  });

  it('records unreadable payloads and unknown classes as failures, never drops them', async () => {
    await redis.del(k('failed'));
    await push('garbage', '{"args":[]}', '{"class":"Nope","args":[[]]}');
    await idle();
    const list = await failures();
    expect(list.map((f) => [f['payload'], f['exception']])).toEqual([
      ['garbage', 'PayloadDecodeError'],
      [{ args: [] }, 'PayloadDecodeError'],
      [{ class: 'Nope', args: [[]] }, 'UnknownJobError'],
    ]);
    expect(list[0]!['error']).toMatch(/not valid JSON/);
    expect(list[1]!['error']).toMatch(/no "class"/);
    expect(list[2]!['error']).toMatch(/Nope.*registered: .*Echo/);
    expect(list.every((f) => f['worker'] === id && f['queue'] === 'default')).toBe(true);
  });

  it('skips a job vetoed with DoNotPerformError: no failure, processed +1, status COMPLETE (item 16); runs per-job hooks', async () => {
    await redis.del(k('failed'), 't:hooks');
    const before = await stats();
    await track('5e705e705e705e705e705e705e705e70');
    await push(
      { class: 'Vetoed', args: [{}], id: '5e705e705e705e705e705e705e705e70' },
      { class: 'Hooked', args: [{ skip: true }] },
      { class: 'Hooked', args: [{}] },
      { class: 'Hooked', args: [{ fail: true }] },
    );
    await idle();
    expect((await stats()).map((v, i) => v - before[i]!)).toEqual([4, 4, 1, 1]);
    expect((await failures()).map((f) => f['error'])).toEqual(['hooked failure']);
    expect(await status('5e705e705e705e705e705e705e705e70')).toEqual({ status: 4, updated: expect.any(Number), started: 1700000000, result: null });
    expect(await redis.lrange('t:hooks', 0, -1)).toEqual([
      'setUp',
      'perform',
      'tearDown',
      'afterPerform',
      'setUp',
      'perform',
      'tearDown',
      'onFailure:hooked failure',
    ]);
  });

  it('bridges child events to the parent ResqueEvents, after the child saw them', async () => {
    await redis.del('t:events');
    await push({ class: 'Echo', args: [{}] }, { class: 'Fail', args: [{}] });
    await idle();
    const expected = [
      'parent:beforeFork:Echo',
      'parent:listen:beforeFork:Echo',
      'child:afterFork:Echo',
      'parent:afterFork:Echo',
      'child:beforePerform:Echo',
      'parent:beforePerform:Echo',
      'child:afterPerform:Echo',
      'parent:afterPerform:Echo',
      'child:onFailure:Fail:RangeError',
      'parent:onFailure:Fail:RangeError',
      // @OnResqueEvent() methods: found in the child's context, and in the parent's for the bridged event.
      'child:decorated:onFailure:Fail',
      'parent:decorated:onFailure:Fail',
    ];
    const events = await waitFor('bridged events', async () => {
      const list = await redis.lrange('t:events', 0, -1);
      return expected.every((e) => list.includes(e)) ? list : null;
    });
    // The child's own listeners had their say (awaited) before the parent heard of the event.
    expect(events).toContain('child:awaited:beforePerform:Echo');
    expect(events.indexOf('child:awaited:beforePerform:Echo')).toBeLessThan(events.indexOf('parent:beforePerform:Echo'));
    expect(events.indexOf('child:decorated:onFailure:Fail')).toBeLessThan(events.indexOf('parent:decorated:onFailure:Fail'));
  });

  it('injects a fresh transient-scoped job instance per job, with the job context as REQUEST', async () => {
    await redis.del('t:scoped');
    await push({ class: 'Scoped', args: [{}], id: 'scoped-1' }, { class: 'Scoped', args: [{}], id: 'scoped-2' });
    await idle();
    const rows = (await redis.lrange('t:scoped', 0, -1)).map((r) => JSON.parse(r) as { serial: number; requestId: string });
    expect(rows.map((r) => r.requestId)).toEqual(['scoped-1', 'scoped-2']);
    expect(rows[0]!.serial).not.toBe(rows[1]!.serial);
  });

  it('fails a job whose child exits with a dirty exit naming the code and keeping its stderr, then carries on', async () => {
    await redis.del(k('failed'), 't:seen');
    await track('e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1');
    await push({ class: 'Exit', args: [{ code: 3 }], id: 'e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1' }, { class: 'Echo', args: [{ after: 'exit' }] });
    await waitFor('the Echo after the exit', async () => (await redis.llen('t:seen')) === 1);
    await idle();
    const [failure] = await failures();
    expect(failure).toMatchObject({ exception: 'Resque::DirtyExit', error: 'Child process exited with code 3 while performing Exit', worker: id });
    expect(failure!['backtrace']).toContain('exit job: about to leave');
    expect((await status('e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1'))?.['status']).toBe(3);
  });

  it('fails a job whose child is SIGKILLed mid-job, and one past its timeout that ignores ctx.signal (child killed termTimeoutMs later)', async () => {
    await redis.del(k('failed'));
    await push({ class: 'Sleep', args: [{ ms: 20_000, tag: 'killed' }] });
    const childPid = Number(await waitFor('the Sleep job to start', () => redis.get('t:running:killed')));
    process.kill(childPid, 'SIGKILL');
    await waitFor('the dirty exit', async () => (await redis.llen(k('failed'))) === 1);
    await push({ class: 'Slow', args: [{}] });
    await waitFor('the timeout', async () => (await redis.llen(k('failed'))) === 2);
    await idle();
    const [killed, slow] = await failures();
    expect(killed).toMatchObject({ exception: 'Resque::DirtyExit', error: 'Child process was killed by signal SIGKILL while performing Sleep' });
    expect(killed!['backtrace']).toContain('sleep job killed: started');
    expect(slow).toMatchObject({ exception: 'Resque::DirtyExit', error: 'Job Slow exceeded its timeout of 300 ms; the child process was killed (SIGKILL)' });
    expect(isAlive(childPid)).toBe(false);
  });

  it('USR1 kills the running child and keeps working; USR2/CONT pause and resume (item 26)', async () => {
    await redis.del(k('failed'), 't:seen');
    await push({ class: 'Sleep', args: [{ ms: 20_000, tag: 'usr1' }] });
    await waitFor('the Sleep job to start', () => redis.get('t:running:usr1'));
    worker.signal('SIGUSR1');
    await waitFor('the USR1 dirty exit', async () => (await redis.llen(k('failed'))) === 1);
    expect((await failures())[0]).toMatchObject({ exception: 'Resque::DirtyExit', error: expect.stringContaining('SIGKILL') });

    worker.signal('SIGUSR2');
    await waitFor('the paused title', () => cmdlineOf(worker.pid).includes(': Paused'));
    await push({ class: 'Echo', args: [{ when: 'paused' }] });
    await new Promise((r) => setTimeout(r, 400)); // several poll intervals
    expect(await redis.llen(k('queue:default'))).toBe(1);
    worker.signal('SIGCONT');
    await waitFor('the job after CONT', async () => (await redis.llen('t:seen')) === 1);
    await idle();
  });

  it('QUIT finishes the running job, then unregisters every key of the worker and exits (items 8, 26)', async () => {
    await redis.del(k('failed'), 't:finished');
    await push({ class: 'Sleep', args: [{ ms: 800, tag: 'quit' }] });
    const childPid = Number(await waitFor('the Sleep job to start', () => redis.get('t:running:quit')));
    worker.signal('SIGQUIT');
    const exit = await worker.exited;
    expect(exit).toEqual({ code: 0, signal: null });
    expect(await redis.lrange('t:finished', 0, -1)).toEqual(['quit']);
    expect(await redis.llen(k('failed'))).toBe(0);
    expect(await redis.smembers(k('workers'))).toEqual([]);
    for (const key of [`worker:${id}`, `worker:${id}:started`, `stat:processed:${id}`, `stat:failed:${id}`]) {
      expect(await redis.exists(k(key))).toBe(0);
    }
    expect(await redis.hget(k('workers:heartbeat'), id)).toBeNull();
    expect(Number(await redis.get(k('stat:processed')))).toBeGreaterThan(10);
    expect(isAlive(childPid)).toBe(false);
  });
});

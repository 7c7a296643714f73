// Pure parts of the worker: queue selection (Ruby fnmatch globs), option merging, reading a peer's
// `worker:<id>` record back into the exact payload bytes.
import { describe, expect, it } from 'vitest';
import { inFlightOf } from '../lib/worker/worker.pruner.js';
import { resolveWorkerOptions } from '../lib/worker/worker.options.js';
import { fnmatchRegExp, QueueSelection } from '../lib/worker/worker.queues.js';
import { readFixture } from './support/fixtures.js';

describe('QueueSelection', () => {
  it('keeps literal lists as given and never needs SMEMBERS', () => {
    const s = new QueueSelection(['critical', 'default']);
    expect(s.isLiteral).toBe(true);
    expect(s.resolve(['zzz'])).toEqual(['critical', 'default']);
  });

  it('expands * to every known queue sorted bytewise, keeping a literal first (critical,*)', () => {
    const s = new QueueSelection(['critical', '*']);
    expect(s.isLiteral).toBe(false);
    expect(s.configured).toEqual(['critical', '*']);
    expect(s.resolve(['b', 'critical', 'a', 'B', 'aa', 'é'])).toEqual(['critical', 'B', 'a', 'aa', 'b', 'é']);
  });

  it('matches Ruby fnmatch patterns in order, with !exclusions, ? and [sets]', () => {
    const known = ['mail_high', 'mail_low', 'sms_high', 'sms_low', 'report', '.hidden'];
    expect(new QueueSelection(['*_high', '*']).resolve(known)).toEqual(['mail_high', 'sms_high', 'mail_low', 'report', 'sms_low']);
    expect(new QueueSelection(['*', '!sms_*']).resolve(known)).toEqual(['mail_high', 'mail_low', 'report']);
    expect(new QueueSelection(['s?s_[hx]*']).resolve(known)).toEqual(['sms_high']);
    expect(new QueueSelection(['mail_[!h]*']).resolve(known)).toEqual(['mail_low']);
    expect(new QueueSelection(['.*']).resolve(known)).toEqual(['.hidden']);
  });

  it('treats braces literally and escapes regex characters', () => {
    expect(fnmatchRegExp('{a,b}').test('a')).toBe(false);
    expect(fnmatchRegExp('{a,b}').test('{a,b}')).toBe(true);
    expect(fnmatchRegExp('a.b*').test('axb')).toBe(false);
    expect(fnmatchRegExp('a.b*').test('a.bc')).toBe(true);
  });
});

describe('resolveWorkerOptions', () => {
  it('merges explicit > environment > defaults', () => {
    const o = resolveWorkerOptions({ concurrency: 2 }, { concurrency: 5, queues: ['a', 'b'], interval: 0.5, blocking: true }, 'h');
    expect(o).toMatchObject({ concurrency: 2, queues: ['a', 'b'], interval: 0.5, blocking: true, isolation: 'pool', hostname: 'h', heartbeatIntervalSeconds: 10, pruneAfterSeconds: 30, pruneIntervalSeconds: 15, onDeadWorker: 'fail' });
    expect(resolveWorkerOptions({ queues: 'x, y' }, undefined, 'h').queues).toEqual(['x', 'y']);
  });

  it('derives pruneAfterSeconds from the heartbeat interval unless given (at least 3 intervals)', () => {
    expect(resolveWorkerOptions({ queues: ['a'], heartbeatIntervalSeconds: 1 }, {}, 'h').pruneAfterSeconds).toBe(3);
    expect(resolveWorkerOptions({ queues: ['a'], heartbeatIntervalSeconds: 20 }, {}, 'h').pruneAfterSeconds).toBe(60);
    expect(resolveWorkerOptions({ queues: ['a'], heartbeatIntervalSeconds: 1, pruneAfterSeconds: 3 }, {}, 'h').pruneAfterSeconds).toBe(3);
  });

  it('rejects bad values with the option named', () => {
    expect(() => resolveWorkerOptions({}, {}, 'h')).toThrow(/queues is required/);
    expect(() => resolveWorkerOptions({ queues: ['a'], concurrency: 0 }, {}, 'h')).toThrow(/concurrency must be a positive integer/);
    expect(() => resolveWorkerOptions({ queues: ['a'], interval: 0 }, {}, 'h')).toThrow(/interval/);
    expect(() => resolveWorkerOptions({ queues: ['a'], heartbeatIntervalSeconds: 61 }, {}, 'h')).toThrow(/at most 60/);
    expect(() => resolveWorkerOptions({ queues: ['a'], pruneAfterSeconds: 5 }, {}, 'h')).toThrow(
      /pruneAfterSeconds must be at least 3 × heartbeatIntervalSeconds \(30\), got 5/,
    );
    expect(() => resolveWorkerOptions({ queues: ['a'], heartbeatIntervalSeconds: 2, pruneAfterSeconds: 5.9 }, {}, 'h')).toThrow(/at least 3 ×/);
    expect(() => resolveWorkerOptions({ queues: ['a'] }, {}, 'a:b')).toThrow(/hostname/);
    expect(() => resolveWorkerOptions({ queues: ['a'], onPruned: 'ignore' as 'exit' }, {}, 'h')).toThrow(/onPruned must be 'reregister' or 'exit'/);
    expect(resolveWorkerOptions({ queues: ['a'] }, {}, 'h').onPruned).toBe('reregister');
    expect(() => resolveWorkerOptions({ queues: ['a'], termTimeoutMs: -1 }, {}, 'h')).toThrow(/termTimeoutMs must be a number of milliseconds >= 0/);
    expect(() => resolveWorkerOptions({ queues: ['a'], preShutdownTimeoutMs: Number.NaN }, {}, 'h')).toThrow(/preShutdownTimeoutMs/);
    expect(() => resolveWorkerOptions({ queues: ['a'], onInterrupted: 'drop' as never }, {}, 'h')).toThrow(/onInterrupted must be 'fail' or 'requeue'/);
  });

  it("defaults the TERM sequence to Ruby's (no pre-shutdown wait, 4 s term timeout) and fails interrupted jobs", () => {
    expect(resolveWorkerOptions({ queues: ['a'] }, {}, 'h')).toMatchObject({ preShutdownTimeoutMs: 0, termTimeoutMs: 4_000, onInterrupted: 'fail' });
    const fromEnv = resolveWorkerOptions({ queues: ['a'], termTimeoutMs: 100 }, { preShutdownTimeoutMs: 1_500, termTimeoutMs: 0 }, 'h');
    expect(fromEnv).toMatchObject({ preShutdownTimeoutMs: 1_500, termTimeoutMs: 100 });
  });
});

describe('logColors', () => {
  const tty = { stdout: { isTTY: true }, stderr: { isTTY: true } };
  it('colours only when both streams are terminals and NO_COLOR is unset or empty (no-color.org)', async () => {
    const { logColors } = await import('../lib/worker/worker.logger.js');
    expect(logColors({}, tty)).toBe(true);
    expect(logColors({ NO_COLOR: '' }, tty)).toBe(true);
    expect(logColors({ NO_COLOR: '1' }, tty)).toBe(false);
    expect(logColors({}, { stdout: { isTTY: true }, stderr: {} })).toBe(false);
    expect(logColors({}, { stdout: {}, stderr: { isTTY: true } })).toBe(false);
  });
});

describe('inFlightOf', () => {
  it("cuts php-resque's payload out of worker:<id> byte for byte (escapes kept)", () => {
    const fixture = readFixture('php-worker-busy');
    const value = fixture.keys['resque:worker:vm:1185:default']!.value as string;
    const job = inFlightOf(value)!;
    expect(job.queue).toBe('default');
    expect(job.raw).toBe(
      '{"class":"InteropSleep","args":[{"seconds":6,"path":"a\\/b","uni":"caf\\u00e9"}],"id":"e5bf5ce7f19887b6fd58a2db245ce079","queue_time":1795726922.961377}',
    );
  });

  it('reads Ruby records and payloads embedded as strings', () => {
    const fixture = readFixture('ruby-worker-busy');
    const key = Object.keys(fixture.keys).find((k) => /^resque:worker:[^:]+:\d+:[^:]+$/.test(k))!;
    const job = inFlightOf(fixture.keys[key]!.value as string)!;
    expect(JSON.parse(job.raw)).toMatchObject({ class: 'InteropSleep' });
    expect(inFlightOf('{"queue":"q","run_at":"x","payload":"garbage"}')).toEqual({ queue: 'q', raw: 'garbage' });
    expect(inFlightOf('not json')).toBeNull();
  });
});

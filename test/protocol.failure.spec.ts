import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  backtraceOf,
  buildFailure,
  decodeFailure,
  DIRTY_EXIT_EXCEPTION,
  encodeFailure,
  errorMessage,
  exceptionName,
  payloadForFailure,
  PRUNE_DEAD_WORKER_EXCEPTION,
  type FailureRecord,
} from '../lib/protocol/protocol.failure.js';
import { PayloadDecodeError } from '../lib/protocol/protocol.payload.js';
import { parseResqueTime } from '../lib/protocol/protocol.time.js';
import { FIXTURES_DIR, readFixture } from './support/fixtures.js';

const MEMBERS = ['failed_at', 'payload', 'exception', 'error', 'backtrace', 'worker', 'queue'];

function failedEntry(scenario: string, snapshotLabel?: string): string {
  const fixture = readFixture(scenario);
  const keys = snapshotLabel ? fixture.snapshots!.find((s) => s.label === snapshotLabel)!.keys : fixture.keys;
  return (keys['resque:failed']!.value as string[])[0]!;
}

function allFailedEntries(): Array<{ where: string; raw: string }> {
  const out: Array<{ where: string; raw: string }> = [];
  for (const file of readdirSync(FIXTURES_DIR).filter((f) => f.endsWith('.json'))) {
    const fixture = readFixture(file.slice(0, -5));
    for (const state of [{ label: 'keys', keys: fixture.keys }, ...(fixture.snapshots ?? [])]) {
      const failed = state.keys['resque:failed'];
      if (failed) for (const raw of failed.value as string[]) out.push({ where: `${fixture.scenario}/${state.label}`, raw });
    }
  }
  return out;
}

describe('decodeFailure on the fixtures', () => {
  it('reads every failed entry with all 7 members and a parseable failed_at', () => {
    const entries = allFailedEntries();
    expect(entries.length).toBeGreaterThanOrEqual(8);
    for (const { where, raw } of entries) {
      const parsed = JSON.parse(raw) as Record<string, unknown>;
      const record = decodeFailure(raw);
      expect(record, where).not.toBeNull();
      expect(record!.payload, where).toEqual(parsed['payload']);
      expect(record!.backtrace, where).toEqual(parsed['backtrace']);
      for (const member of ['failed_at', 'exception', 'error', 'worker', 'queue'] as const) {
        expect(record![member], `${where} ${member}`).toBe(parsed[member]);
      }
      expect(record!.retried_at, where).toBe(parsed['retried_at']);
      expect(parseResqueTime(record!.failed_at), where).toBeInstanceOf(Date);
    }
  });

  it('reads the php-failure entry (PHP escapes undone)', () => {
    const record = decodeFailure(failedEntry('php-failure'))!;
    expect(record.failed_at).toBe('Thu Nov 26 21:02:21 UTC 2026');
    expect(record.exception).toBe('RuntimeException');
    expect(record.error).toBe('InteropFail: {"name":"x","path":"a\\/b","uni":"caf\\u00e9","n":1,"list":[1,2]}');
    expect(record.backtrace).toHaveLength(5);
    expect(record.backtrace![0]).toBe('#0 /srv/vendor/php-resque/lib/Resque/Job.php(194): InteropFail->perform()');
    expect(record.backtrace![4]).toBe('#4 {main}');
    expect(record.worker).toBe('vm:1873:default');
    expect(record.queue).toBe('default');
    expect(record.payload).toEqual({
      class: 'InteropFail',
      args: [{ name: 'x', path: 'a/b', uni: 'café', n: 1, list: [1, 2] }],
      id: 'f7f03b10923a6fd8722f5bdf6cda26cf',
      queue_time: 1795726940.677585,
    });
    expect('retried_at' in record).toBe(false);
  });

  it('reads the ruby-failure entry', () => {
    const record = decodeFailure(failedEntry('ruby-failure'))!;
    expect(record).toEqual({
      failed_at: '2026/11/26 21:02:23 UTC',
      payload: { class: 'InteropFail', args: [{ name: 'x', path: 'a/b', uni: 'café' }] },
      exception: 'RuntimeError',
      error: 'InteropFail: {"name":"x","path":"a/b","uni":"café"}',
      backtrace: ["/srv/app/jobs.rb:46:in `perform'"],
      worker: 'vm:1957:default',
      queue: 'default',
    });
  });

  it('reads retried_at from requeued entries, and the same values before and after a Ruby re-encode', () => {
    const ruby = decodeFailure(failedEntry('ruby-failure-requeued'))!;
    expect(ruby.retried_at).toBe('2026/11/26 21:02:24 UTC');
    const rubyBefore = decodeFailure(failedEntry('ruby-failure-requeued', 'failed'))!;
    expect(rubyBefore.retried_at).toBeUndefined();
    expect({ ...ruby, retried_at: undefined }).toEqual({ ...rubyBefore, retried_at: undefined });

    const before = failedEntry('php-failure-requeued-by-ruby', 'failed');
    const after = failedEntry('php-failure-requeued-by-ruby');
    expect(before).not.toBe(after); // different bytes (\/ gone) ...
    const b = decodeFailure(before)!;
    const a = decodeFailure(after)!;
    expect(a.retried_at).toBe('2026/11/26 21:03:45 UTC');
    expect({ ...a, retried_at: undefined }).toEqual({ ...b, retried_at: undefined }); // ... same values
  });

  it('returns null for entries that are not failure objects', () => {
    for (const raw of ['', 'garbage', '[]', '"x"', 'null', '42']) expect(decodeFailure(raw), raw).toBeNull();
  });

  it('tolerates sparse entries (node-resque null backtrace, a raw string payload)', () => {
    const record = decodeFailure('{"failed_at":"x","payload":"not json","exception":"E","error":"m","backtrace":null,"worker":"h:1","queue":"q"}')!;
    expect(record.payload).toBe('not json');
    expect(record.backtrace).toBeNull();
    const bare = decodeFailure('{"payload":{"class":"C"}}')!;
    expect(bare.backtrace).toBeNull();
    expect(bare.worker).toBe('');
    expect(bare.payload).toEqual({ class: 'C' });
  });
});

describe('encodeFailure', () => {
  it("writes Ruby's member order whatever order the record has", () => {
    const scrambled = {
      queue: 'q',
      worker: 'h:1:q',
      backtrace: ['a'],
      error: 'boom',
      exception: 'Error',
      payload: { class: 'C', args: [] },
      failed_at: '2024/03/05 14:03:11 UTC',
    } as FailureRecord;
    expect(Object.keys(JSON.parse(encodeFailure(scrambled)) as object)).toEqual(MEMBERS);
    const retried = { retried_at: '2024/03/05 15:00:00 UTC', ...scrambled };
    expect(Object.keys(JSON.parse(encodeFailure(retried)) as object)).toEqual([...MEMBERS, 'retried_at']);
  });

  it('re-encodes Ruby-written entries byte for byte (so LSET/LREM by value stay exact)', () => {
    for (const raw of [
      failedEntry('ruby-failure'),
      failedEntry('ruby-failure-requeued'),
      failedEntry('ruby-failure-requeued', 'failed'),
      failedEntry('php-failure-requeued-by-ruby'),
    ]) {
      expect(encodeFailure(decodeFailure(raw)!)).toBe(raw);
    }
  });

  it('re-encodes a PHP entry to the same values (escapes aside)', () => {
    const raw = failedEntry('php-failure');
    expect(JSON.parse(encodeFailure(decodeFailure(raw)!))).toEqual(JSON.parse(raw));
  });
});

describe('buildFailure', () => {
  const failedAt = new Date(Date.UTC(2026, 10, 26, 21, 2, 23, 456));
  const phpPayload = (readFixture('php-enqueue-untracked').keys['resque:queue:default']!.value as string[])[0]!;

  it('builds an entry shaped like ruby-failure, failed_at in Ruby format', () => {
    const record = buildFailure({
      rawPayload: phpPayload,
      exception: 'RuntimeError',
      error: 'boom',
      backtrace: ['at a', 'at b'],
      worker: 'vm:1:default',
      queue: 'default',
      failedAt,
    });
    expect(record.failed_at).toBe('2026/11/26 21:02:23 UTC');
    const rubyFailedAt = decodeFailure(failedEntry('ruby-failure'))!.failed_at;
    expect(record.failed_at).toMatch(new RegExp(`^${rubyFailedAt.replace(/\d/g, '\\d')}$`));
    expect(parseResqueTime(record.failed_at)?.getTime()).toBe(Math.floor(failedAt.getTime() / 1000) * 1000);
    const encoded = JSON.parse(encodeFailure(record)) as Record<string, unknown>;
    expect(Object.keys(encoded)).toEqual(MEMBERS);
    expect(encoded).toEqual({
      failed_at: '2026/11/26 21:02:23 UTC',
      payload: JSON.parse(phpPayload),
      exception: 'RuntimeError',
      error: 'boom',
      backtrace: ['at a', 'at b'],
      worker: 'vm:1:default',
      queue: 'default',
    });
    // The original payload object, members in their original order.
    expect(Object.keys(record.payload as object)).toEqual(['class', 'args', 'id', 'queue_time']);
  });

  it('keeps a payload that is not a JSON object verbatim as a string', () => {
    for (const raw of ['{"class":"C",', 'garbage', '[1,2]', 'null', '"str"', '']) {
      const record = buildFailure({ rawPayload: raw, exception: 'E', error: 'm', worker: 'w', queue: 'q', failedAt });
      expect(record.payload, raw).toBe(raw);
      expect(JSON.parse(encodeFailure(record)).payload, raw).toBe(raw);
      expect(payloadForFailure(raw)).toBe(raw);
    }
  });

  it('copies the backtrace and defaults it to []', () => {
    const lines = ['x'];
    const record = buildFailure({ rawPayload: '{}', exception: 'E', error: 'm', backtrace: lines, worker: 'w', queue: 'q' });
    lines.push('later');
    expect(record.backtrace).toEqual(['x']);
    expect(buildFailure({ rawPayload: '{}', exception: 'E', error: 'm', worker: 'w', queue: 'q' }).backtrace).toEqual([]);
    expect(buildFailure({ rawPayload: '{}', exception: 'E', error: 'm', backtrace: null, worker: 'w', queue: 'q' }).backtrace).toEqual(
      [],
    );
  });

  it('stamps failed_at with the current second by default', () => {
    const before = Math.floor(Date.now() / 1000) * 1000;
    const record = buildFailure({ rawPayload: '{}', exception: 'E', error: 'm', worker: 'w', queue: 'q' });
    const after = Date.now();
    const at = parseResqueTime(record.failed_at)!.getTime();
    expect(at).toBeGreaterThanOrEqual(before);
    expect(at).toBeLessThanOrEqual(after);
  });
});

describe('error helpers', () => {
  it('exceptionName gives the class name resque-web shows', () => {
    class QuotaExceeded extends Error {}
    class Renamed extends Error {
      override name = 'Billing::Declined';
    }
    expect(exceptionName(new Error('x'))).toBe('Error');
    expect(exceptionName(new TypeError('x'))).toBe('TypeError');
    expect(exceptionName(new QuotaExceeded('x'))).toBe('QuotaExceeded');
    expect(exceptionName(new Renamed('x'))).toBe('Billing::Declined');
    expect(exceptionName(new PayloadDecodeError('bad', 'raw'))).toBe('PayloadDecodeError');
    expect(exceptionName('just a string')).toBe('string');
    expect(exceptionName(42)).toBe('number');
  });

  it('errorMessage reads errors, strings and other thrown values', () => {
    expect(errorMessage(new Error('boom'))).toBe('boom');
    expect(errorMessage('plain')).toBe('plain');
    expect(errorMessage({ code: 7 })).toBe('{"code":7}');
    expect(errorMessage(undefined)).toBe('undefined');
    expect(errorMessage(10n)).toBe('10');
    const cyclic: Record<string, unknown> = {};
    cyclic['self'] = cyclic;
    expect(errorMessage(cyclic)).toBe('[object Object]');
  });

  it('backtraceOf gives the stack frames without the message, even a multi-line one', () => {
    function throwsHere(): Error {
      return new Error('first line\nsecond line\n    third line');
    }
    const lines = backtraceOf(throwsHere());
    expect(lines.length).toBeGreaterThan(0);
    expect(lines[0]).toMatch(/^at throwsHere /);
    for (const line of lines) {
      expect(line).toMatch(/^at /);
      expect(line).toBe(line.trim());
    }
    expect(backtraceOf(new Error('one line'))[0]).toMatch(/^at /);
    expect(backtraceOf('not an error')).toEqual([]);
    const noStack = new Error('x');
    noStack.stack = undefined;
    expect(backtraceOf(noStack)).toEqual([]);
  });

  it("names Ruby's dirty-exit exceptions", () => {
    expect(DIRTY_EXIT_EXCEPTION).toBe('Resque::DirtyExit');
    expect(PRUNE_DEAD_WORKER_EXCEPTION).toBe('Resque::PruneDeadWorkerDirtyExit');
  });
});

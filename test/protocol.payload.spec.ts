import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  decodePayload,
  encodePayload,
  newJobId,
  PayloadDecodeError,
  paramsFromArgs,
  queueTimeNow,
} from '../lib/protocol/protocol.payload.js';
import { FIXTURES_DIR, readFixture, type FixtureKeys } from './support/fixtures.js';

/** The parameters the fixtures' PHP calls passed (steps of php-enqueue-*, php-failure). */
const PHP_PARAMS = { name: 'x', path: 'a/b', uni: 'café', n: 1, list: [1, 2] };
const RUBY_PARAMS = { name: 'x', path: 'a/b', uni: 'café' };

interface FoundPayload {
  where: string;
  raw: string;
}

/** Every payload string in the fixtures: queue items, delayed items, worker:<id> and failed payload members. */
function fixturePayloads(): FoundPayload[] {
  const found: FoundPayload[] = [];
  const names = readdirSync(FIXTURES_DIR).filter((f) => f.endsWith('.json'));
  for (const file of names) {
    const fixture = readFixture(file.slice(0, -5));
    const states: Array<[string, FixtureKeys]> = [
      ['keys', fixture.keys],
      ...(fixture.snapshots ?? []).map((s): [string, FixtureKeys] => [s.label, s.keys]),
    ];
    for (const [label, state] of states) {
      for (const [key, entry] of Object.entries(state)) {
        const where = `${fixture.scenario}/${label}/${key}`;
        if (/^resque:(queue:[^:]+|delayed:\d+)$/.test(key)) {
          for (const raw of entry.value as string[]) found.push({ where, raw });
        } else if (/^resque:worker:[^:]+:\d+:[^:]+$/.test(key)) {
          const busy = JSON.parse(entry.value as string) as { payload: unknown };
          found.push({ where, raw: JSON.stringify(busy.payload) });
        } else if (key === 'resque:failed') {
          for (const item of entry.value as string[]) {
            found.push({ where, raw: JSON.stringify((JSON.parse(item) as { payload: unknown }).payload) });
          }
        }
      }
    }
  }
  return found;
}

function firstQueueItem(scenario: string, index = 0): string {
  return (readFixture(scenario).keys['resque:queue:default']!.value as string[])[index]!;
}

describe('decodePayload on every payload in the fixtures', () => {
  const payloads = fixturePayloads();

  it('finds payloads of every kind (queue, delayed, worker, failed)', () => {
    const kinds = new Set(payloads.map((p) => p.where.replace(/^.*\/resque:(queue|delayed|worker|failed).*$/, '$1')));
    expect([...kinds].sort()).toEqual(['delayed', 'failed', 'queue', 'worker']);
    expect(payloads.length).toBeGreaterThan(30);
  });

  it('decodes each one: class, args array, params = args[0] (or {}), raw kept byte-exact', () => {
    for (const { where, raw } of payloads) {
      const parsed = JSON.parse(raw) as { class: string; args: unknown[]; id?: string; queue_time?: number };
      const job = decodePayload(raw);
      expect(job.raw, where).toBe(raw);
      expect(job.className, where).toBe(parsed.class);
      expect(job.args, where).toEqual(parsed.args);
      const first = parsed.args[0];
      const expected = first === null || (Array.isArray(first) && first.length === 0) ? {} : first;
      expect(job.params, where).toEqual(expected);
      expect(job.id, where).toBe(parsed.id ?? null);
      expect(job.queueTime, where).toBe(parsed.queue_time ?? null);
      expect(job.prefix, where).toBeNull();
      expect(job.payload, where).toEqual(parsed);
    }
  });

  it("gives the same values for PHP's escaped bytes and Ruby's raw bytes", () => {
    const php = firstQueueItem('php-enqueue-untracked');
    const ruby = firstQueueItem('ruby-enqueue-hash');
    // The fixtures really hold the two encodings.
    expect(php).toContain('a\\/b');
    expect(php).toContain('caf\\u00e9');
    expect(ruby).toContain('"a/b"');
    expect(ruby).toContain('café');
    expect(decodePayload(php).params).toEqual(PHP_PARAMS);
    expect(decodePayload(ruby).params).toEqual(RUBY_PARAMS);
    const p = decodePayload(php).params as Record<string, unknown>;
    const r = decodePayload(ruby).params as Record<string, unknown>;
    expect(p['path']).toBe(r['path']);
    expect(p['uni']).toBe(r['uni']);
  });

  it('decodes the same job before and after a Ruby requeue re-encoded it (php-failure-requeued-by-ruby)', () => {
    const fixture = readFixture('php-failure-requeued-by-ruby');
    const before = JSON.parse((fixture.snapshots![0]!.keys['resque:failed']!.value as string[])[0]!) as { payload: unknown };
    const after = JSON.parse((fixture.keys['resque:failed']!.value as string[])[0]!) as { payload: unknown };
    const requeued = decodePayload(firstQueueItem('php-failure-requeued-by-ruby'));
    expect(decodePayload(JSON.stringify(before.payload)).params).toEqual(RUBY_PARAMS);
    expect(decodePayload(JSON.stringify(after.payload)).params).toEqual(RUBY_PARAMS);
    expect(requeued.params).toEqual(RUBY_PARAMS);
    expect(requeued.id).toBeNull(); // Ruby's requeue drops id and queue_time
    expect(requeued.queueTime).toBeNull();
  });

  it('checklist item 2: the php-enqueue-tracked payload gives the PHP array as params and the returned token as id', () => {
    const fixture = readFixture('php-enqueue-tracked');
    const job = decodePayload(firstQueueItem('php-enqueue-tracked'));
    expect(job.className).toBe('PhpEcho');
    expect(job.params).toEqual(PHP_PARAMS);
    expect(job.id).toBe(fixture.returns['Resque::enqueue']);
    expect(job.queueTime).toBe(1795726920.011602);
    expect(job.args).toEqual([PHP_PARAMS]);
  });

  it('gives params {} for args [[]] and [null] (php-enqueue-empty-args, php-enqueue-null-args)', () => {
    const empty = decodePayload(firstQueueItem('php-enqueue-empty-args'));
    expect(empty.args).toEqual([[]]);
    expect(empty.params).toEqual({});
    const nulls = readFixture('php-enqueue-null-args').keys['resque:queue:default']!.value as string[];
    expect(nulls).toHaveLength(2);
    for (const raw of nulls) {
      const job = decodePayload(raw);
      expect(job.args).toEqual([null]);
      expect(job.params).toEqual({});
      expect(job.id).toMatch(/^[0-9a-f]{32}$/);
    }
  });

  it('keeps a Ruby splat: params = first argument, args = all of them (ruby-enqueue-splat)', () => {
    const job = decodePayload(firstQueueItem('ruby-enqueue-splat'));
    expect(job.className).toBe('RubyEcho');
    expect(job.params).toBe(1);
    expect(job.args).toEqual([1, 'two', { three: 3 }]);
    expect(job.id).toBeNull();
    expect(job.queueTime).toBeNull();
  });

  it('reads delayed items {"class","args","queue"} and keeps the queue member', () => {
    const item = (readFixture('php-delayed').keys['resque:delayed:1893456000']!.value as string[])[0]!;
    const job = decodePayload(item);
    expect(job.params).toEqual(PHP_PARAMS);
    expect(job.payload.queue).toBe('default');
    expect(job.id).toBeNull();
  });
});

describe('decodePayload on other shapes', () => {
  it('reads the node-resque shape {"class","queue","args"}', () => {
    const job = decodePayload('{"class":"Mailer","queue":"mail","args":[{"to":"a@b"},2]}');
    expect(job.className).toBe('Mailer');
    expect(job.params).toEqual({ to: 'a@b' });
    expect(job.args).toEqual([{ to: 'a@b' }, 2]);
    expect(job.payload.queue).toBe('mail');
    expect(job.id).toBeNull();
  });

  it('treats missing or null args as [] (params {})', () => {
    for (const raw of ['{"class":"C"}', '{"class":"C","args":null}', '{"class":"C","args":[]}']) {
      const job = decodePayload(raw);
      expect(job.args, raw).toEqual([]);
      expect(job.params, raw).toEqual({});
      expect(job.payload.args, raw).toEqual([]);
    }
  });

  it("reads the PHP fork's prefix, and an empty prefix as none", () => {
    expect(decodePayload('{"class":"C","args":[{}],"id":"abc","prefix":"x","queue_time":1.5}').prefix).toBe('x');
    expect(decodePayload('{"class":"C","args":[{}],"id":"abc","prefix":"","queue_time":1.5}').prefix).toBeNull();
    expect(decodePayload('{"class":"C","args":[],"id":""}').id).toBeNull();
    expect(decodePayload('{"class":"C","args":[],"queue_time":"soon"}').queueTime).toBeNull();
  });

  it('keeps class names with PHP namespaces and Ruby modules untouched', () => {
    expect(decodePayload('{"class":"App\\\\Jobs\\\\Mail","args":[]}').className).toBe('App\\Jobs\\Mail');
    expect(decodePayload('{"class":"Billing::Charge","args":[]}').className).toBe('Billing::Charge');
  });

  const bad: Array<[string, RegExp]> = [
    ['not json at all', /not valid JSON/],
    ['{"class":"C","args":[', /not valid JSON/],
    ['', /not valid JSON/],
    ['[1,2]', /not a JSON object/],
    ['null', /not a JSON object/],
    ['"PhpEcho"', /not a JSON object/],
    ['{"args":[{"a":1}]}', /"class"/],
    ['{"class":"","args":[]}', /"class"/],
    ['{"class":5,"args":[]}', /"class"/],
    ['{"class":"C","args":"a"}', /"args" is not a JSON array/],
    ['{"class":"C","args":{"a":1}}', /"args" is not a JSON array/],
    ['{"class":"C","args":3}', /"args" is not a JSON array/],
  ];
  it.each(bad)('rejects %j with a PayloadDecodeError naming the problem', (raw, message) => {
    let caught: unknown;
    try {
      decodePayload(raw);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(PayloadDecodeError);
    expect(caught).toBeInstanceOf(Error);
    const error = caught as PayloadDecodeError;
    expect(error.message).toMatch(message);
    expect(error.name).toBe('PayloadDecodeError');
    expect(error.raw).toBe(raw); // kept so the worker can record it as a failure
  });
});

describe('paramsFromArgs', () => {
  it('takes args[0], with [] / null / missing meaning {}', () => {
    expect(paramsFromArgs([])).toEqual({});
    expect(paramsFromArgs([null])).toEqual({});
    expect(paramsFromArgs([[]])).toEqual({});
    expect(paramsFromArgs([{ a: 1 }, 2])).toEqual({ a: 1 });
    expect(paramsFromArgs([[1]])).toEqual([1]);
    expect(paramsFromArgs([0])).toBe(0);
    expect(paramsFromArgs([false])).toBe(false);
    expect(paramsFromArgs([''])).toBe('');
  });
});

/** Replaces run-specific values after checking their format (fixtures README, "Codec (encode)"). */
function normalise(raw: string): string {
  const payload = JSON.parse(raw) as Record<string, unknown>;
  expect(payload['id']).toMatch(/^[0-9a-f]{32}$/);
  expect(typeof payload['queue_time']).toBe('number');
  return JSON.stringify({ ...payload, id: '<id>', queue_time: '<queue_time>' });
}

describe('encodePayload (checklist item 3)', () => {
  const id = '0123456789abcdef0123456789abcdef';

  it("writes php-resque's member order class, args, id, queue_time, with args wrapping params", () => {
    const raw = encodePayload('PhpEcho', { a: 1 }, { id, queueTime: 1795726919.75538 });
    const parsed = JSON.parse(raw) as Record<string, unknown>;
    expect(Object.keys(parsed)).toEqual(['class', 'args', 'id', 'queue_time']);
    expect(parsed).toEqual({ class: 'PhpEcho', args: [{ a: 1 }], id, queue_time: 1795726919.75538 });
    expect(raw).toBe(`{"class":"PhpEcho","args":[{"a":1}],"id":"${id}","queue_time":1795726919.75538}`);
  });

  it('has the shape php-resque wrote in php-enqueue-untracked (run-specific values replaced)', () => {
    const ours = encodePayload('PhpEcho', PHP_PARAMS, { id: newJobId(), queueTime: queueTimeNow() });
    expect(normalise(ours)).toBe(normalise(firstQueueItem('php-enqueue-untracked')));
    expect(normalise(ours)).toBe(normalise(firstQueueItem('php-enqueue-tracked')));
  });

  it('wraps {} / [] / null params the way PHP wraps array() and null', () => {
    const emptyArray = encodePayload('PhpEcho', [], { id, queueTime: 1 });
    expect(normalise(emptyArray)).toBe(normalise(firstQueueItem('php-enqueue-empty-args')));
    const nullParams = encodePayload('PhpEcho', null, { id, queueTime: 1 });
    expect(normalise(nullParams)).toBe(normalise(firstQueueItem('php-enqueue-null-args')));
    const undefinedParams = encodePayload('PhpEcho', undefined, { id, queueTime: 1 });
    expect(JSON.parse(undefinedParams).args).toEqual([null]);
  });

  it('writes prefix between id and queue_time only in fork mode', () => {
    const plain = JSON.parse(encodePayload('C', {}, { id, queueTime: 2 })) as Record<string, unknown>;
    expect('prefix' in plain).toBe(false);
    const fork = JSON.parse(encodePayload('C', {}, { id, queueTime: 2, prefix: 'x' })) as Record<string, unknown>;
    expect(Object.keys(fork)).toEqual(['class', 'args', 'id', 'prefix', 'queue_time']);
    expect(fork['prefix']).toBe('x');
    const forkEmpty = JSON.parse(encodePayload('C', {}, { id, queueTime: 2, prefix: '' })) as Record<string, unknown>;
    expect(Object.keys(forkEmpty)).toEqual(['class', 'args', 'id', 'prefix', 'queue_time']);
    expect(decodePayload(encodePayload('C', {}, { id, queueTime: 2, prefix: 'x' })).prefix).toBe('x');
  });

  it('round-trips through decodePayload', () => {
    const params = { path: 'a/b', uni: 'café', nested: { list: [1, { deep: true }] }, n: -1.5 };
    const raw = encodePayload('App\\Jobs\\Echo', params, { id, queueTime: 1795726919.75538 });
    const job = decodePayload(raw);
    expect(job.className).toBe('App\\Jobs\\Echo');
    expect(job.params).toEqual(params);
    expect(job.args).toEqual([params]);
    expect(job.id).toBe(id);
    expect(job.queueTime).toBe(1795726919.75538);
    expect(job.raw).toBe(raw);
  });
});

describe('newJobId and queueTimeNow', () => {
  it('makes 32 lowercase hex ids, different each time', () => {
    const ids = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const next = newJobId();
      expect(next).toMatch(/^[0-9a-f]{32}$/);
      ids.add(next);
    }
    expect(ids.size).toBe(200);
  });

  it('gives unix seconds as a float, like microtime(true)', () => {
    expect(queueTimeNow(1795726919755)).toBe(1795726919.755);
    expect(queueTimeNow(1795726919000)).toBe(1795726919);
    const before = Date.now() / 1000;
    const now = queueTimeNow();
    const after = Date.now() / 1000;
    expect(now).toBeGreaterThanOrEqual(before);
    expect(now).toBeLessThanOrEqual(after);
  });
});

import { describe, expect, it } from 'vitest';
import { decodePayload } from '../lib/protocol/protocol.payload.js';
import {
  assertSelectors,
  matchesAnySelector,
  matchesSelector,
  type DequeueSelector,
} from '../lib/protocol/protocol.selector.js';
import { readFixture, snapshot } from './support/fixtures.js';

const fixture = readFixture('php-dequeue');
const QUEUE = 'resque:queue:default';
const listOf = (label: string | null): string[] =>
  ((label === null ? fixture.keys : snapshot(fixture, label))[QUEUE]?.value as string[] | undefined) ?? [];

/** Pure replay of one dequeue: which raw items stay and how many go. */
function dequeue(items: readonly string[], selectors: DequeueSelector[]): { kept: string[]; removed: number } {
  const kept = items.filter((raw) => !matchesAnySelector(decodePayload(raw), selectors));
  return { kept, removed: items.length - kept.length };
}

const job = (raw: string) => decodePayload(raw);

describe('dequeue selectors replayed on php-dequeue', () => {
  it('class only removes every job of the class (step 9)', () => {
    const result = dequeue(listOf(null), ['OtherJob']);
    expect(result.removed).toBe(fixture.returns['dequeue class only']);
    expect(result.kept).toEqual(listOf('after-class'));
  });

  it('class => id removes the job with that id (step 10)', () => {
    const id = fixture.returns['seed 2 id'] as string;
    const result = dequeue(listOf('after-class'), [{ PhpEcho: id }]);
    expect(result.removed).toBe(fixture.returns['dequeue class=>id']);
    expect(result.kept).toEqual(listOf('after-class-id'));
  });

  it('class => {a:1} removes {"c":1} but not {"a":1,"b":"x"} (step 11)', () => {
    const result = dequeue(listOf('after-class-id'), [{ PhpEcho: { a: 1 } }]);
    expect(result.removed).toBe(fixture.returns['dequeue class=>args {a:1}']);
    expect(result.kept).toEqual(listOf('after-class-args-1'));
    const removed = listOf('after-class-id').filter((raw) => !result.kept.includes(raw));
    expect(removed.map((raw) => job(raw).params)).toEqual([{ c: 1 }]);
  });

  it("class => {a:1,b:'x'} then removes {\"a\":1,\"b\":\"x\"} (step 12)", () => {
    const result = dequeue(listOf('after-class-args-1'), [{ PhpEcho: { a: 1, b: 'x' } }]);
    expect(result.removed).toBe(fixture.returns['dequeue class=>args {a:1,b:x}']);
    expect(result.kept).toEqual(listOf('after-class-args-2'));
  });

  it('our difference at step 13: nested values compare structurally', () => {
    const before = listOf('after-class-args-2');
    // PHP compared both arrays as "Array" and removed {"list":[1,2]}; we do not.
    expect(dequeue(before, [{ PhpEcho: { list: [9] } }])).toEqual({ kept: before, removed: 0 });
    // The selector that really names the job removes it, giving PHP's after-class-args-3 state.
    const result = dequeue(before, [{ PhpEcho: { list: [1, 2] } }]);
    expect(result.removed).toBe(fixture.returns['dequeue class=>args {list:[9]}']);
    expect(result.kept).toEqual(listOf('after-class-args-3'));
  });

  it('never matches a job with empty args against an args selector', () => {
    const empty = listOf(null).find((raw) => raw.includes('"args":[[]]'))!;
    expect(empty).toBeDefined();
    for (const wanted of [{ a: 1 }, {}, [], [null], { x: '' }]) {
      expect(matchesSelector(job(empty), { PhpEcho: wanted }), JSON.stringify(wanted)).toBe(false);
    }
    expect(matchesSelector(job('{"class":"PhpEcho","args":[null]}'), { PhpEcho: [null] })).toBe(false);
    expect(matchesSelector(job('{"class":"PhpEcho","args":[]}'), { PhpEcho: { a: 1 } })).toBe(false);
    expect(matchesSelector(job(empty), 'PhpEcho')).toBe(true); // class only still matches it
  });
});

describe('selector semantics', () => {
  const ab = job('{"class":"PhpEcho","args":[{"a":1,"b":"x"}],"id":"f5b6ff3c66d4ad3a8452971a006ec2ac"}');

  it('ignores keys and compares values one way (job values ⊆ selector values)', () => {
    expect(matchesSelector(ab, { PhpEcho: { other: 'x', key: 1 } })).toBe(true);
    expect(matchesSelector(ab, { PhpEcho: [1, 'x', 'extra'] })).toBe(true);
    expect(matchesSelector(ab, { PhpEcho: [1] })).toBe(false);
    expect(matchesSelector(ab, { PhpEcho: { b: 'y', a: 1 } })).toBe(false);
  });

  it("compares scalars as PHP strings (1 == '1', true == '1', null == '')", () => {
    expect(matchesSelector(job('{"class":"C","args":[{"a":"1"}]}'), { C: { a: 1 } })).toBe(true);
    expect(matchesSelector(job('{"class":"C","args":[{"a":1}]}'), { C: { a: '1' } })).toBe(true);
    expect(matchesSelector(job('{"class":"C","args":[{"a":true}]}'), { C: { a: 1 } })).toBe(true);
    expect(matchesSelector(job('{"class":"C","args":[{"a":null}]}'), { C: { a: '' } })).toBe(true);
    expect(matchesSelector(job('{"class":"C","args":[{"a":2}]}'), { C: { a: 1 } })).toBe(false);
  });

  it('casts a scalar args[0] to a one-value array, as PHP (array) does', () => {
    expect(matchesSelector(job('{"class":"C","args":["abc"]}'), { C: ['abc'] })).toBe(true);
    expect(matchesSelector(job('{"class":"C","args":["abc"]}'), { C: ['abd'] })).toBe(false);
  });

  it('compares nested values structurally, whatever the key order', () => {
    const nested = job('{"class":"C","args":[{"o":{"b":2,"a":[1,{"z":null}]}}]}');
    expect(matchesSelector(nested, { C: { o: { a: [1, { z: null }], b: 2 } } })).toBe(true);
    expect(matchesSelector(nested, { C: { o: { a: [1, { z: 0 }], b: 2 } } })).toBe(false);
    expect(matchesSelector(nested, { C: { o: { a: [{ z: null }, 1], b: 2 } } })).toBe(false); // array order counts
  });

  it('matches the id only for the same class, and never a job without id', () => {
    expect(matchesSelector(ab, { PhpEcho: 'f5b6ff3c66d4ad3a8452971a006ec2ac' })).toBe(true);
    expect(matchesSelector(ab, { OtherJob: 'f5b6ff3c66d4ad3a8452971a006ec2ac' })).toBe(false);
    expect(matchesSelector(ab, { PhpEcho: 'c1755f9122e7a67d70320ae871f0f9c5' })).toBe(false);
    expect(matchesSelector(job('{"class":"RubyEcho","args":[{"a":1}]}'), { RubyEcho: '' })).toBe(false);
  });

  it('decodes before comparing, so PHP and Ruby bytes match the same selector', () => {
    const php = job('{"class":"E","args":[{"path":"a\\/b","uni":"caf\\u00e9"}],"id":"0123456789abcdef0123456789abcdef"}');
    const ruby = job('{"class":"E","args":[{"path":"a/b","uni":"café"}]}');
    for (const j of [php, ruby]) expect(matchesSelector(j, { E: { path: 'a/b', uni: 'café' } })).toBe(true);
  });

  it('matches any of several selectors, and any class inside one selector object', () => {
    const other = job('{"class":"OtherJob","args":[{"a":3}]}');
    expect(matchesAnySelector(other, [])).toBe(false);
    expect(matchesAnySelector(other, ['PhpEcho', { OtherJob: { a: 3 } }])).toBe(true);
    expect(matchesAnySelector(other, [{ PhpEcho: 'x', OtherJob: [3] }])).toBe(true);
    expect(matchesAnySelector(other, [{ PhpEcho: [3] }])).toBe(false);
  });
});

describe('assertSelectors', () => {
  it('accepts every documented form', () => {
    expect(() => assertSelectors(['C', { C: 'id' }, { C: { a: 1 } }, { C: [1, 2] }, { A: 'x', B: {} }])).not.toThrow();
    expect(() => assertSelectors([])).not.toThrow();
  });

  const bad: Array<[unknown, RegExp]> = [
    ['C', /^selectors must be an array/],
    [{ C: 'id' }, /^selectors must be an array/],
    [null, /^selectors must be an array/],
    [[''], /^selectors\[0\] /],
    [['C', 5], /^selectors\[1\] /],
    [['C', 'D', null], /^selectors\[2\] /],
    [[['C']], /^selectors\[0\] /],
    [[{}], /^selectors\[0\] must name at least one class/],
    [[{ C: 5 }], /^selectors\[0\]\.C /],
    [['C', { C: null }], /^selectors\[1\]\.C /],
    [[{ C: 'id', D: true }], /^selectors\[0\]\.D /],
  ];
  it.each(bad)('rejects %j with a TypeError naming the element', (selectors, message) => {
    expect(() => assertSelectors(selectors)).toThrow(TypeError);
    expect(() => assertSelectors(selectors)).toThrow(message);
  });

  it('uses the given argument name', () => {
    expect(() => assertSelectors([7], 'items')).toThrow(/^items\[0\] /);
  });
});

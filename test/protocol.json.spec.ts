import { describe, expect, it } from 'vitest';
import { assertJsonSafe } from '../lib/protocol/protocol.json.js';

function rejection(value: unknown, argumentName = 'params'): TypeError {
  try {
    assertJsonSafe(value, argumentName);
  } catch (error) {
    expect(error).toBeInstanceOf(TypeError);
    return error as TypeError;
  }
  throw new Error(`assertJsonSafe accepted ${String(value)}`);
}

describe('assertJsonSafe', () => {
  it('accepts plain data that JSON round-trips unchanged', () => {
    const shared = { x: 1 };
    const values: unknown[] = [
      null,
      0,
      -1.5,
      '',
      'café a/b',
      true,
      [],
      {},
      { a: 1, b: 'x', c: [1, { d: null, e: [[], {}] }], f: false },
      [null, [null], { deep: { deeper: { deepest: [1, 2, 3] } } }],
      { left: shared, right: shared }, // shared, not cyclic: JSON writes it twice
      Object.assign(Object.create(null) as object, { a: 1 }),
    ];
    for (const value of values) {
      expect(() => assertJsonSafe(value, 'params')).not.toThrow();
      expect(JSON.parse(JSON.stringify(value))).toEqual(value);
    }
  });

  it('accepts Dates (they encode themselves), nested too', () => {
    expect(() => assertJsonSafe(new Date(0), 'params')).not.toThrow();
    expect(() => assertJsonSafe({ at: new Date(), list: [new Date()] }, 'params')).not.toThrow();
  });

  it('rejects undefined at top level, naming the argument', () => {
    const error = rejection(undefined, 'payload');
    expect(error.message).toMatch(/^payload /);
    expect(error.message).toMatch(/undefined/);
  });

  const cases: Array<[string, () => unknown, string, RegExp]> = [
    ['a function', () => ({ a: { b: () => 1 } }), 'params.a.b', /function/],
    ['a BigInt', () => ({ n: 10n }), 'params.n', /BigInt/],
    ['a top-level BigInt', () => 10n, 'params', /BigInt/],
    ['a symbol', () => ({ s: Symbol('s') }), 'params.s', /symbol/],
    ['undefined in an object', () => ({ a: 1, gone: undefined }), 'params.gone', /undefined/],
    ['undefined in an array', () => [1, undefined], 'params[1]', /undefined/],
    // eslint-disable-next-line no-sparse-arrays -- the hole is what this case checks
    ['an array hole', () => [1, , 3], 'params[1]', /hole/], // a sparse array on purpose
    ['NaN', () => ({ x: NaN }), 'params.x', /NaN/],
    ['Infinity', () => ({ list: [1, Infinity] }), 'params.list[1]', /Infinity/],
    ['-Infinity', () => -Infinity, 'params', /Infinity/],
    ['a Map', () => ({ m: new Map([['a', 1]]) }), 'params.m', /Map/],
    ['a Set', () => ({ deep: [{ s: new Set([1]) }] }), 'params.deep[0].s', /Set/],
    [
      'a cycle',
      () => {
        const o: Record<string, unknown> = { a: 1 };
        o['self'] = o;
        return o;
      },
      'params.self',
      /cycle/,
    ],
    [
      'a cycle through an array',
      () => {
        const list: unknown[] = [];
        const o = { list };
        list.push(o);
        return o;
      },
      'params.list[0]',
      /cycle/,
    ],
  ];
  it.each(cases)('rejects %s with a TypeError naming the path', (_name, make, path, reason) => {
    const error = rejection(make());
    expect(error.message.startsWith(`${path} `)).toBe(true);
    expect(error.message).toMatch(reason);
    expect(error.message).toMatch(/JSON/);
  });
});

import type { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ResqueKeys } from '../lib/protocol/protocol.keys.js';
import { runScript, scriptCommand, type LuaScript } from '../lib/protocol/protocol.lua.js';
import { decodePayload, encodePayload, newJobId, queueTimeNow } from '../lib/protocol/protocol.payload.js';
import { ENQUEUE_SCRIPT, REMOVE_PAYLOADS_SCRIPT } from '../lib/protocol/protocol.scripts.queue.js';
import { matchesAnySelector, type DequeueSelector } from '../lib/protocol/protocol.selector.js';
import { encodeStatus, JobStatus } from '../lib/protocol/protocol.status.js';
import { unixSeconds } from '../lib/protocol/protocol.time.js';
import { dumpKeys, loadKeys, readFixture, snapshot, type FixtureKeys } from './support/fixtures.js';
import { startRedis, type TestRedis } from './support/redis-server.js';

let server: TestRedis;
let redis: Redis;
const keys = new ResqueKeys();

beforeAll(async () => {
  server = await startRedis();
  redis = server.client();
});
afterAll(async () => {
  await server?.stop();
});
beforeEach(async () => {
  await redis.flushall();
});

/** Replaces the job id in key names and the run-specific numbers in values, for shape comparisons. */
function shapeOf(state: FixtureKeys): unknown {
  const out: Record<string, unknown> = {};
  for (const [key, entry] of Object.entries(state)) {
    const name = key.replace(/[0-9a-f]{32}/, '<id>');
    const values = Array.isArray(entry.value) ? (entry.value as string[]) : [entry.value as string];
    const shaped = values.map((v) => {
      if (!v.startsWith('{')) return v; // set members such as queue names
      const parsed = JSON.parse(v) as unknown;
      const o = { ...(parsed as Record<string, unknown>) };
      for (const member of ['id', 'queue_time', 'updated', 'started']) if (member in o) o[member] = `<${typeof o[member]}>`;
      return JSON.stringify(o); // keeps member order in the comparison
    });
    out[name] = { type: entry.type, ttl: entry.ttl > 0 ? 'expires' : entry.ttl, value: shaped };
  }
  return out;
}

async function enqueue(queue: string, payload: string, status: string): Promise<number> {
  const id = decodePayload(payload).id!;
  return runScript<number>(redis, ENQUEUE_SCRIPT, [keys.queues, keys.queue(queue), keys.status(id)], [queue, payload, status]);
}

describe('ENQUEUE_SCRIPT', () => {
  it('SADDs the queue, RPUSHes the payload and returns the list length', async () => {
    const first = encodePayload('PhpEcho', { n: 1 }, { id: newJobId(), queueTime: queueTimeNow() });
    const second = encodePayload('PhpEcho', { n: 2, uni: 'café', path: 'a/b' }, { id: newJobId(), queueTime: queueTimeNow() });
    expect(await enqueue('default', first, '')).toBe(1);
    expect(await enqueue('default', second, '')).toBe(2);
    expect(await enqueue('low', first, '')).toBe(1);
    expect(await redis.lrange(keys.queue('default'), 0, -1)).toEqual([first, second]);
    expect((await redis.smembers(keys.queues)).sort()).toEqual(['default', 'low']);
    // Untracked: no status key at all.
    expect(await redis.keys('resque:job:*')).toEqual([]);
  });

  it('writes the WAITING status when tracked, with no expiry: same shape as php-enqueue-tracked', async () => {
    const fixture = readFixture('php-enqueue-tracked');
    const id = newJobId();
    const payload = encodePayload('PhpEcho', { name: 'x', path: 'a/b', uni: 'café', n: 1, list: [1, 2] }, { id, queueTime: queueTimeNow() });
    const now = unixSeconds();
    const packet = encodeStatus({ status: JobStatus.WAITING, updated: now, started: now });
    expect(await enqueue('default', payload, packet)).toBe(1);
    expect(await redis.get(keys.status(id))).toBe(packet);
    expect(await redis.ttl(keys.status(id))).toBe(-1);
    const ours = await dumpKeys(redis);
    expect(shapeOf(ours)).toEqual(shapeOf(fixture.keys));
  });

  it('stores the payload bytes unchanged (raw UTF-8)', async () => {
    const payload = encodePayload('E', { uni: 'café ✓', path: 'a/b' }, { id: newJobId(), queueTime: 1.25 });
    await enqueue('default', payload, '');
    const [stored] = await redis.lrangeBuffer(keys.queue('default'), 0, -1);
    expect(stored!.equals(Buffer.from(payload, 'utf8'))).toBe(true);
  });
});

describe('REMOVE_PAYLOADS_SCRIPT', () => {
  const q = keys.queue('default');
  const remove = (payloads: string[]): Promise<number> => runScript<number>(redis, REMOVE_PAYLOADS_SCRIPT, [q], payloads);

  it('removes one occurrence per given string, from the head, keeping the order of the rest', async () => {
    await redis.rpush(q, 'a', 'b', 'a', 'c', 'a', 'd');
    expect(await remove(['a', 'c'])).toBe(2);
    expect(await redis.lrange(q, 0, -1)).toEqual(['b', 'a', 'a', 'd']);
    expect(await remove(['a', 'a'])).toBe(2);
    expect(await redis.lrange(q, 0, -1)).toEqual(['b', 'd']);
    expect(await remove(['missing'])).toBe(0);
    expect(await remove([])).toBe(0);
    expect(await redis.lrange(q, 0, -1)).toEqual(['b', 'd']);
  });

  it('replays php-dequeue on a real Redis: same counts and states, and no temp keys', async () => {
    const fixture = readFixture('php-dequeue');
    await loadKeys(redis, fixture.keys);
    const steps: Array<[DequeueSelector[], string, string]> = [
      [['OtherJob'], 'dequeue class only', 'after-class'],
      [[{ PhpEcho: fixture.returns['seed 2 id'] as string }], 'dequeue class=>id', 'after-class-id'],
      [[{ PhpEcho: { a: 1 } }], 'dequeue class=>args {a:1}', 'after-class-args-1'],
      [[{ PhpEcho: { a: 1, b: 'x' } }], 'dequeue class=>args {a:1,b:x}', 'after-class-args-2'],
      // Our documented difference: PHP's {list:[9]} matched "Array"; we need the real value.
      [[{ PhpEcho: { list: [1, 2] } }], 'dequeue class=>args {list:[9]}', 'after-class-args-3'],
    ];
    for (const [selectors, returned, label] of steps) {
      const items = await redis.lrange(q, 0, -1);
      const doomed = items.filter((raw) => matchesAnySelector(decodePayload(raw), selectors));
      expect(await remove(doomed), label).toBe(fixture.returns[returned]);
      expect(await dumpKeys(redis), label).toEqual(snapshot(fixture, label));
    }
  });

  it('removes the PHP-escaped bytes it was given, not a re-encoding', async () => {
    const php = (readFixture('php-enqueue-untracked').keys['resque:queue:default']!.value as string[])[0]!;
    const reencoded = JSON.stringify(JSON.parse(php));
    expect(reencoded).not.toBe(php);
    await redis.rpush(q, php);
    expect(await remove([reencoded])).toBe(0);
    expect(await remove([php])).toBe(1);
    expect(await redis.llen(q)).toBe(0);
  });
});

describe('runScript and scriptCommand', () => {
  it('refuses a wrong key count with a RangeError, before touching Redis', async () => {
    await expect(runScript(redis, ENQUEUE_SCRIPT, [keys.queues, keys.queue('q')], ['q', '{}', ''])).rejects.toThrow(RangeError);
    await expect(runScript(redis, ENQUEUE_SCRIPT, [keys.queues, keys.queue('q')], ['q', '{}', ''])).rejects.toThrow(
      /resqueEnqueue takes 3 keys, got 2/,
    );
    await expect(runScript(redis, REMOVE_PAYLOADS_SCRIPT, [], ['x'])).rejects.toThrow(RangeError);
    expect(await redis.dbsize()).toBe(0);
  });

  const VARIABLE: LuaScript = {
    name: 'protocolSpecVariableKeys',
    numberOfKeys: null,
    lua: `
for i = 1, #KEYS do redis.call('RPUSH', KEYS[i], ARGV[1]) end
return {#KEYS, #ARGV, KEYS[1] or false, ARGV[#ARGV] or false}
`,
  };

  it('runs variable-key scripts (numberOfKeys null) with any number of keys', async () => {
    expect(await runScript(redis, VARIABLE, ['k1', 'k2', 'k3'], ['v', 'last'])).toEqual([3, 2, 'k1', 'last']);
    expect(await runScript(redis, VARIABLE, ['k1'], ['w'])).toEqual([1, 1, 'k1', 'w']);
    expect(await runScript(redis, VARIABLE, [], ['only'])).toEqual([0, 1, null, 'only']);
    expect(await redis.lrange('k1', 0, -1)).toEqual(['v', 'w']);
    expect(await redis.lrange('k3', 0, -1)).toEqual(['v']);
  });

  it('registers a script once per client and survives SCRIPT FLUSH (EVAL fallback)', async () => {
    const first = scriptCommand(redis, REMOVE_PAYLOADS_SCRIPT);
    const again = scriptCommand(redis, REMOVE_PAYLOADS_SCRIPT);
    await redis.rpush('l', 'x', 'y', 'x');
    expect(await first(1, 'l', 'x')).toBe(1); // the key count comes first, for every script
    await redis.script('FLUSH');
    expect(await again(1, 'l', 'x')).toBe(1);
    expect(await redis.lrange('l', 0, -1)).toEqual(['y']);
    const other = server.client();
    expect(await runScript(other, REMOVE_PAYLOADS_SCRIPT, ['l'], ['y'])).toBe(1);
  });
});

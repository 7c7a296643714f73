import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Redis } from 'ioredis';

/** One key as the golden fixtures store it (see test/fixtures/README.md). */
export interface FixtureKey {
  type: 'string' | 'list' | 'set' | 'zset' | 'hash';
  value: string | string[] | Array<[string, number]> | Record<string, string>;
  ttl: number;
}
export type FixtureKeys = Record<string, FixtureKey>;
export interface Fixture {
  scenario: string;
  producer: string;
  namespace: string;
  steps: string[];
  returns: Record<string, unknown>;
  keys_state: string;
  keys: FixtureKeys;
  snapshots?: Array<{ label: string; after_step: number; description: string; taken_at: number; keys: FixtureKeys }>;
  harness_seen?: string[];
  notes: string[];
}

const here = dirname(fileURLToPath(import.meta.url));
/** test/fixtures: copies of the golden fixtures written by the real php-resque and Ruby Resque. */
export const FIXTURES_DIR = join(here, '..', 'fixtures');

export function readFixture(name: string): Fixture {
  return JSON.parse(readFileSync(join(FIXTURES_DIR, `${name}.json`), 'utf8')) as Fixture;
}

export function snapshot(fixture: Fixture, label: string): FixtureKeys {
  const found = fixture.snapshots?.find((s) => s.label === label);
  if (!found) throw new Error(`fixture ${fixture.scenario} has no snapshot "${label}"`);
  return found.keys;
}

/** Loads a fixture state into Redis exactly as the fixtures README says (raw bytes, in order). */
export async function loadKeys(redis: Redis, keys: FixtureKeys): Promise<void> {
  for (const [key, entry] of Object.entries(keys)) {
    await redis.del(key);
    switch (entry.type) {
      case 'string':
        await redis.set(key, entry.value as string);
        break;
      case 'list':
        if ((entry.value as string[]).length) await redis.rpush(key, ...(entry.value as string[]));
        break;
      case 'set':
        if ((entry.value as string[]).length) await redis.sadd(key, ...(entry.value as string[]));
        break;
      case 'zset':
        for (const [member, score] of entry.value as Array<[string, number]>) await redis.zadd(key, String(score), member);
        break;
      case 'hash':
        for (const [field, value] of Object.entries(entry.value as Record<string, string>)) await redis.hset(key, field, value);
        break;
    }
    if (entry.ttl > 0) await redis.expire(key, entry.ttl);
  }
}

/** Reads the whole keyspace back in the fixtures' shape (for comparisons in tests; KEYS is fine here). */
export async function dumpKeys(redis: Redis, pattern = '*'): Promise<FixtureKeys> {
  const out: FixtureKeys = {};
  for (const key of (await redis.keys(pattern)).sort()) {
    const type = (await redis.type(key)) as FixtureKey['type'];
    const ttl = await redis.ttl(key);
    let value: FixtureKey['value'];
    if (type === 'string') value = (await redis.get(key)) ?? '';
    else if (type === 'list') value = await redis.lrange(key, 0, -1);
    else if (type === 'set') value = (await redis.smembers(key)).sort();
    else if (type === 'hash') value = await redis.hgetall(key);
    else {
      const flat = await redis.zrange(key, '0', '-1', 'WITHSCORES');
      const pairs: Array<[string, number]> = [];
      for (let i = 0; i < flat.length; i += 2) pairs.push([flat[i]!, Number(flat[i + 1])]);
      value = pairs;
    }
    out[key] = { type, value, ttl };
  }
  return out;
}

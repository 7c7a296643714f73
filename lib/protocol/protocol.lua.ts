import type { Cluster, Redis } from 'ioredis';

/**
 * A Lua script kept as a TS string and registered on a client with ioredis `defineCommand`
 * (EVALSHA with an automatic EVAL fallback; no file reads at run time).
 */
export interface LuaScript {
  /** Command name on the client, e.g. `resqueEnqueue`. Unique across the library. */
  readonly name: string;
  /** Fixed key count, or null when the caller passes a variable number of keys (e.g. one per queue). */
  readonly numberOfKeys: number | null;
  readonly lua: string;
}

type ScriptCall = (...args: Array<string | number | Buffer>) => Promise<unknown>;

/** Registers the script on this client once (idempotent), then returns the bound command. */
export function scriptCommand(redis: Redis | Cluster, script: LuaScript): ScriptCall {
  const table = redis as unknown as Record<string, ScriptCall | undefined>;
  const defined = table[script.name];
  if (typeof defined === 'function') return defined.bind(redis);
  redis.defineCommand(
    script.name,
    script.numberOfKeys === null ? { lua: script.lua } : { numberOfKeys: script.numberOfKeys, lua: script.lua },
  );
  const fn = table[script.name];
  if (typeof fn !== 'function') throw new Error(`ioredis did not define the command ${script.name}`);
  return fn.bind(redis);
}

/** Runs a script; with a fixed key count, `keys.length` must equal it. */
export async function runScript<T>(
  redis: Redis | Cluster,
  script: LuaScript,
  keys: readonly string[],
  args: ReadonlyArray<string | number>,
): Promise<T> {
  const call = scriptCommand(redis, script);
  if (script.numberOfKeys === null) return (await call(keys.length, ...keys, ...args)) as T;
  if (keys.length !== script.numberOfKeys) {
    throw new RangeError(`${script.name} takes ${script.numberOfKeys} keys, got ${keys.length}`);
  }
  return (await call(...keys, ...args)) as T;
}

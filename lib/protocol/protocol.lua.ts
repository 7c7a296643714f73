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

/**
 * Registers the script on this client once (idempotent), then returns the bound command, whose first
 * argument is always the key count. Every script is registered the same way (no fixed `numberOfKeys`), so
 * ioredis builds one shape of script command: a second shape (a heartbeat's script next to the job loop's)
 * deoptimises ioredis's hot path each time it runs, and the garbage of the slow path it then takes was
 * promoted into V8's old space in steps (bench/README.md, parent RSS).
 */
export function scriptCommand(redis: Redis | Cluster, script: LuaScript): ScriptCall {
  const table = redis as unknown as Record<string, ScriptCall | undefined>;
  const defined = table[script.name];
  if (typeof defined === 'function') return defined.bind(redis);
  redis.defineCommand(script.name, { lua: script.lua });
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
  if (script.numberOfKeys !== null && keys.length !== script.numberOfKeys) {
    throw new RangeError(`${script.name} takes ${script.numberOfKeys} keys, got ${keys.length}`);
  }
  return (await scriptCommand(redis, script)(keys.length, ...keys, ...args)) as T;
}

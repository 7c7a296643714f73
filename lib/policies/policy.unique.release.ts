import type { ResqueRedis } from '../connection/connection.types.js';
import type { ResqueKeys } from '../protocol/protocol.keys.js';
import { runScript } from '../protocol/protocol.lua.js';
import { UNIQUE_RELEASE_SCRIPT } from '../protocol/protocol.scripts.unique.js';
import { heldUniqueOfRaw, uniqueReleaseArg } from './policy.unique.js';

/**
 * After jobs were removed by hand (a queued job from the dashboard or dequeue, a delayed one from
 * removeDelayed or the dashboard): releases the unique locks they held. Nothing is sent when none of them
 * is a unique job (one substring test each).
 */
export async function releaseRemovedUnique(redis: ResqueRedis, keys: ResqueKeys, raws: readonly string[]): Promise<void> {
  const held = raws.map((raw) => heldUniqueOfRaw(keys, raw)).filter((h) => h !== null);
  const first = held[0];
  if (first) await runScript(redis, UNIQUE_RELEASE_SCRIPT, [first.key], [uniqueReleaseArg(held)]);
}

import type { LuaScript } from './protocol.lua.js';
import { UNIQUE_HELPERS } from './protocol.scripts.unique.js';

/**
 * Lua fragment: the one way a job reaches a queue, `push_job(queues, queue_key, queue, payload)` =
 * SADD queues + RPUSH (what every peer's enqueue writes); returns the list's new length. Composed into
 * every script that pushes a job (enqueue, promotion, recurring ticks, prune requeue, failure retry).
 */
export const PUSH_JOB = `
local function push_job(queues, queue_key, queue, payload)
  redis.call('SADD', queues, queue)
  return redis.call('RPUSH', queue_key, payload)
end
`;

/**
 * Enqueue in one round trip: SADD queues + RPUSH (+ the WAITING status packet when tracked).
 * KEYS: queues set, queue list, status key. ARGV: queue name, payload, status packet or '', and for a unique
 * job (nothing more for plain ones) its lock key, id, lock TTL and take flag (see `unique_take`).
 * Returns the list's length, or the lock holder's id when an equal unique job holds it (nothing written).
 */
export const ENQUEUE_SCRIPT: LuaScript = {
  name: 'resqueEnqueue',
  numberOfKeys: 3,
  lua: `${PUSH_JOB}${UNIQUE_HELPERS}
if ARGV[4] then
  local holder = unique_take(ARGV[4], ARGV[5], ARGV[6], ARGV[7])
  if holder then return holder end
end
local length = push_job(KEYS[1], KEYS[2], ARGV[1], ARGV[2])
if ARGV[3] ~= '' then redis.call('SET', KEYS[3], ARGV[3]) end
return length
`,
};

/**
 * Removes the given exact strings from a list, one occurrence each (LREM 1), in one script: a dequeue never
 * hides other jobs from workers (php-resque's temp lists do), and the failures admin removes entries with it.
 * KEYS: the list (a queue, or `failed`). ARGV: the strings. Returns how many were removed.
 */
export const REMOVE_PAYLOADS_SCRIPT: LuaScript = {
  name: 'resqueRemovePayloads',
  numberOfKeys: 1,
  lua: `
local removed = 0
for i = 1, #ARGV do
  removed = removed + redis.call('LREM', KEYS[1], 1, ARGV[i])
end
return removed
`,
};

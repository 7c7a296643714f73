import type { LuaScript } from './protocol.lua.js';

/**
 * Lua helpers of unique jobs (lib/policies/policy.unique.ts), spliced into the enqueue, schedule, promote
 * and worker scripts. The lock's value is the holder's job id: a release deletes it only while it still
 * holds that id (after a TTL expiry a later equal job may hold it).
 *
 * - `unique_take(key, id, ttl, take)`: the holder's id when the lock is held by another job (a duplicate);
 *   otherwise false, having taken it (SET NX EX) when `take` is '1' (`until: 'queued'` on an immediate
 *   enqueue only checks). A lock already holding `id` is this very job's.
 * - `unique_release(key, id)`: DEL key if it holds id ('' key = nothing to release).
 * - `unique_release_list(list)`: '' (plain jobs: nothing decoded) or the JSON `[[key, id], …]`.
 */
export const UNIQUE_HELPERS = `
local function unique_take(key, id, ttl, take)
  if take == '1' and redis.call('SET', key, id, 'NX', 'EX', ttl) then return false end
  local holder = redis.call('GET', key)
  if holder and holder ~= id then return holder end
  return false
end

local function unique_release(key, id)
  if key ~= '' and redis.call('GET', key) == id then redis.call('DEL', key) end
end

local function unique_release_list(list)
  if list == '' then return end
  for _, held in ipairs(cjson.decode(list)) do unique_release(held[1], held[2]) end
end
`;

/**
 * Releases the locks of jobs removed by hand (dashboard, dequeue, removeDelayed), each only while it still
 * holds that job's id. KEYS: the first lock key (it routes the call on a Cluster, where the hash-tagged namespace
 * puts every lock in one slot). ARGV: `[[key, id], …]`. Run after the removal: a job that is gone cannot take
 * its lock back.
 */
export const UNIQUE_RELEASE_SCRIPT: LuaScript = {
  name: 'resqueUniqueRelease',
  numberOfKeys: 1,
  lua: `${UNIQUE_HELPERS}
unique_release_list(ARGV[1])
return 1
`,
};

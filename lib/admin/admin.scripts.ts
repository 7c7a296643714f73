import { PUSH_JOB, type LuaScript } from '../protocol/index.js';

/*
 * Failure-list edits in one script each, so concurrent admin actions (ours, resque-web's, another process's)
 * never requeue or delete the wrong entry. Entries are addressed by index like Ruby's failure backend, but the
 * caller also passes the exact entry it read: if the index no longer holds it (the list shifted), the script
 * finds it with LPOS; if it is gone, nothing is written and -1 is returned.
 */

/** Shared prologue: resolves the entry's current index into `i`, or returns -1. */
const LOCATE = `
local i = tonumber(ARGV[1])
if redis.call('LINDEX', KEYS[1], i) ~= ARGV[2] then
  i = redis.call('LPOS', KEYS[1], ARGV[2])
  if not i then return -1 end
end
`;

/**
 * Requeue: rewrites the entry (Ruby's `retried_at`) or removes it, pushes the job, and puts an existing
 * status packet back to WAITING.
 * KEYS: failed, queues, queue:<q>, status key (or any key when ARGV[6] is '').
 * ARGV: index, expected entry, replacement entry ('' = remove the entry), queue name, job, status packet or '',
 * removal sentinel.
 */
export const FAILURE_REQUEUE_SCRIPT: LuaScript = {
  name: 'resqueFailureRequeue',
  numberOfKeys: 4,
  lua: `${LOCATE}${PUSH_JOB}
if ARGV[3] == '' then
  redis.call('LSET', KEYS[1], i, ARGV[7])
  redis.call('LREM', KEYS[1], 1, ARGV[7])
else
  redis.call('LSET', KEYS[1], i, ARGV[3])
end
push_job(KEYS[2], KEYS[3], ARGV[4], ARGV[5])
if ARGV[6] ~= '' and redis.call('EXISTS', KEYS[4]) == 1 then
  redis.call('SET', KEYS[4], ARGV[6])
end
return i
`,
};

/**
 * Remove, Ruby's way (`LSET i <sentinel>` + `LREM failed 1 <sentinel>`), atomically. Ruby's sentinel is "";
 * ours is unique per call so a "" left behind by a crashed Ruby remove can never be taken for ours.
 * KEYS: failed. ARGV: index, expected entry, sentinel, '1' to check the expected entry or '0' for "whatever is at index".
 */
export const FAILURE_REMOVE_SCRIPT: LuaScript = {
  name: 'resqueFailureRemove',
  numberOfKeys: 1,
  lua: `
local i = tonumber(ARGV[1])
if ARGV[4] == '1' then
  if redis.call('LINDEX', KEYS[1], i) ~= ARGV[2] then
    i = redis.call('LPOS', KEYS[1], ARGV[2])
    if not i then return -1 end
  end
elseif not redis.call('LINDEX', KEYS[1], i) then
  return -1
end
redis.call('LSET', KEYS[1], i, ARGV[3])
redis.call('LREM', KEYS[1], 1, ARGV[3])
return i
`,
};
/** LLEN + DEL in one step, so `clear()` reports exactly what it deleted. KEYS: failed. */
export const FAILURE_CLEAR_SCRIPT: LuaScript = {
  name: 'resqueFailureClear',
  numberOfKeys: 1,
  lua: `
local n = redis.call('LLEN', KEYS[1])
redis.call('DEL', KEYS[1])
return n
`,
};

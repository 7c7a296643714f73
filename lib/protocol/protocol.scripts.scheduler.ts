import type { LuaScript } from './protocol.lua.js';
import { PUSH_JOB } from './protocol.scripts.queue.js';
import { UNIQUE_HELPERS } from './protocol.scripts.unique.js';

/*
 * The scheduler's Lua scripts (resque-protocol.md §10, §12.3–4). Keys built inside a script
 * (`queue:<q>`, `timestamps:<item>`) come from ARGV with the namespace prefix: the item JSON is the key
 * name, so it cannot be declared up front. Resque is not a Redis Cluster layout anyway.
 */

/**
 * Schedules one item atomically: the resque-scheduler layout, all three writes or none.
 * KEYS: delayed:<ts>, delayed_queue_schedule, timestamps:<item>. ARGV: item, ts, `delayed:<ts>`, and for a
 * unique job its lock key, id and TTL (the lock is taken here; the holder's id is returned when an equal job
 * holds it, nothing written).
 */
export const SCHEDULE_DELAYED_SCRIPT: LuaScript = {
  name: 'resqueScheduleDelayed',
  numberOfKeys: 3,
  lua: `${UNIQUE_HELPERS}
if ARGV[4] then
  local holder = unique_take(ARGV[4], ARGV[5], ARGV[6], '1')
  if holder then return holder end
end
local length = redis.call('RPUSH', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[2])
redis.call('SADD', KEYS[3], ARGV[3])
return length
`,
};

/** Lua: once `delayed:<ts>` (KEYS[1]) is empty, drop it and its member ARGV[1] of the schedule (KEYS[2]). */
const DROP_EMPTY_TIMESTAMP = `if redis.call('LLEN', KEYS[1]) == 0 then
  redis.call('DEL', KEYS[1])
  redis.call('ZREM', KEYS[2], ARGV[1])
end
`;

/**
 * Promotes items of one due timestamp. Each item moves only if this script removed it (LREM 1), so two
 * schedulers, or a crash and restart, never duplicate or lose one. Refuses (returns {0}) when ARGV[3]
 * names an owner and the master lock is not held by it: a scheduler that lost leadership stops at once.
 * Otherwise it extends the lock to ARGV[4] seconds (0 = leave it): a long promotion keeps a short lock.
 * KEYS: delayed:<ts>, delayed_queue_schedule, queues, master lock, failed.
 * ARGV: ts, namespace prefix, owner ('' = no lock check), lock ttl, unique releases ('' or a JSON object
 * item → [lock key, id]: `until: 'queued'` locks, released as their item moves), then triples (item, queue,
 * payload); an empty queue means the item is unreadable and the payload is a failure record for `failed`.
 * Returns {1, moved_1, ..., moved_n} (1 if that item was moved by this call).
 */
export const PROMOTE_DELAYED_SCRIPT: LuaScript = {
  name: 'resquePromoteDelayed',
  numberOfKeys: 5,
  lua: `${PUSH_JOB}${UNIQUE_HELPERS}
if ARGV[3] ~= '' then
  if redis.call('GET', KEYS[4]) ~= ARGV[3] then return {0} end
  if tonumber(ARGV[4]) > 0 then redis.call('EXPIRE', KEYS[4], ARGV[4]) end
end
local prefix = ARGV[2]
local member = 'delayed:' .. ARGV[1]
local result = {1}
local releases = nil
if ARGV[5] ~= '' then releases = cjson.decode(ARGV[5]) end
for i = 6, #ARGV, 3 do
  local item, queue, payload = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  if redis.call('LREM', KEYS[1], 1, item) == 1 then
    if queue == '' then
      redis.call('RPUSH', KEYS[5], payload)
    else
      push_job(KEYS[3], prefix .. 'queue:' .. queue, queue, payload)
    end
    -- unique: an 'until queued' lock ends as its job reaches the queue.
    if releases and releases[item] then unique_release(releases[item][1], releases[item][2]) end
    -- As Ruby does: identical items of one second share one index member, dropped with the first.
    redis.call('SREM', prefix .. 'timestamps:' .. item, member)
    result[#result + 1] = 1
  else
    result[#result + 1] = 0
  end
end
${DROP_EMPTY_TIMESTAMP}return result
`,
};

/**
 * Removes exact item strings from one timestamp with the cleanup php-resque-scheduler skips: the
 * `timestamps:` member once no copy is left, and the list and zset member once empty.
 * KEYS: delayed:<ts>, delayed_queue_schedule. ARGV: ts, namespace prefix, LREM count (0 = every copy,
 * 1 = one per argument), then the item strings. Returns how many items were removed.
 */
export const REMOVE_DELAYED_SCRIPT: LuaScript = {
  name: 'resqueRemoveDelayed',
  numberOfKeys: 2,
  lua: `
local prefix = ARGV[2]
local member = 'delayed:' .. ARGV[1]
local count = tonumber(ARGV[3])
local removed = 0
for i = 4, #ARGV do
  removed = removed + redis.call('LREM', KEYS[1], count, ARGV[i])
  if not redis.call('LPOS', KEYS[1], ARGV[i]) then
    redis.call('SREM', prefix .. 'timestamps:' .. ARGV[i], member)
  end
end
${DROP_EMPTY_TIMESTAMP}return removed
`,
};

/**
 * Ruby's `master?`: take the lock (SET NX EX) or, when we already hold it, extend it; owner-checked so
 * Ruby's scheduler and ours exclude each other. KEYS: lock. ARGV: owner (`host:pid`), ttl seconds.
 * Returns 1 when held by owner after the call.
 */
export const LOCK_ACQUIRE_SCRIPT: LuaScript = {
  name: 'resqueSchedulerLockAcquire',
  numberOfKeys: 1,
  lua: `
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'EX', ARGV[2]) then return 1 end
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('EXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
`,
};

/** Deletes the lock only if the owner still holds it. KEYS: lock. ARGV: owner. Returns 1 if deleted. */
export const LOCK_RELEASE_SCRIPT: LuaScript = {
  name: 'resqueSchedulerLockRelease',
  numberOfKeys: 1,
  lua: `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`,
};

/**
 * Fires one tick of a recurring schedule at most once, whoever runs it: only the lock owner, and only
 * if the schedule's last fired tick is older than this one; the push and the bookkeeping are one step.
 * KEYS: master lock, tick guard hash (name → tick ms), delayed:last_enqueued_at, queues, queue:<q>.
 * ARGV: owner ('' = no lock check), name, tick ms, Time#to_s of the tick, queue, payload, and for a unique
 * job its lock key, id, TTL and take flag (see `unique_take`).
 * Returns 1 fired, 0 already fired, -1 not the lock owner, 2 skipped: an equal unique job holds the lock.
 */
export const SCHEDULE_TICK_SCRIPT: LuaScript = {
  name: 'resqueScheduleTick',
  numberOfKeys: 5,
  lua: `${PUSH_JOB}${UNIQUE_HELPERS}
if ARGV[1] ~= '' and redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
local last = redis.call('HGET', KEYS[2], ARGV[2])
if last and tonumber(last) >= tonumber(ARGV[3]) then return 0 end
redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
-- unique: a tick whose equal job still holds the lock is handled without pushing.
if ARGV[7] and unique_take(ARGV[7], ARGV[8], ARGV[9], ARGV[10]) then return 2 end
redis.call('HSET', KEYS[3], ARGV[2], ARGV[4])
push_job(KEYS[4], KEYS[5], ARGV[5], ARGV[6])
return 1
`,
};

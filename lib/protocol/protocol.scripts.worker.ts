import type { LuaScript } from './protocol.lua.js';

/**
 * Worker Lua scripts (resque-protocol.md §4, §6–§8). Status keys of popped jobs are derived inside the
 * scripts from the payload's `id`/`prefix` and the namespace prefix passed in ARGV (Resque itself is not
 * Redis-Cluster friendly, so keys computed in Lua are fine here).
 *
 * Shared Lua helpers:
 * - `status_update(key, code, now, extra, ttl)`: rewrites a tracked job's packet only when the key exists,
 *   keeping `started` (php-resque drops it; its fork keeps it); `extra` is appended raw (`,"result":…`).
 * - `record(...)`: writes `worker:<id>` = `{"queue","run_at","payload"}` with the payload embedded by string
 *   concatenation (PHP's `\/` and `\uXXXX` escapes survive byte for byte); a raw string that is not a JSON
 *   object is embedded as a JSON string so nothing is lost. Then RUNNING when the job is tracked.
 */
const HELPERS = `
local function status_update(key, code, now, extra, ttl)
  local current = redis.call('GET', key)
  if not current then return end
  local packet = '{"status":' .. code .. ',"updated":' .. now
  local ok, decoded = pcall(cjson.decode, current)
  if ok and type(decoded) == 'table' and type(decoded['started']) == 'number' then
    packet = packet .. ',"started":' .. string.format('%d', decoded['started'])
  end
  packet = packet .. extra .. '}'
  if ttl > 0 then
    redis.call('SET', key, packet, 'EX', ttl)
  else
    redis.call('SET', key, packet)
  end
end

local function status_key(prefix, payload)
  if type(payload) ~= 'table' then return nil end
  local id = payload['id']
  if type(id) ~= 'string' or id == '' then return nil end
  local p = payload['prefix']
  if type(p) == 'string' and p ~= '' then return prefix .. 'job:' .. p .. '_' .. id .. ':status' end
  return prefix .. 'job:' .. id .. ':status'
end

local function record(worker_key, queue, raw, run_at, prefix, now)
  local embedded = nil
  local payload = nil
  if string.match(raw, '^%s*{') then
    local ok, decoded = pcall(cjson.decode, raw)
    if ok and type(decoded) == 'table' then
      embedded = raw
      payload = decoded
    end
  end
  if not embedded then embedded = cjson.encode(raw) end
  redis.call('SET', worker_key, '{"queue":' .. cjson.encode(queue) .. ',"run_at":"' .. run_at .. '","payload":' .. embedded .. '}')
  local skey = status_key(prefix, payload)
  if skey then status_update(skey, 2, now, '', 0) end
end
`;

/**
 * One round trip per job: finish the previous job (when ARGV[1] = '1': DEL worker:<id>, INCR both processed
 * counters, COMPLETE with result and TTL when tracked), then reserve the next one (unless ARGV[6] = '0' or
 * `pause-all-workers` = 'true'): LPOP each queue in priority order and record it at once.
 *
 * KEYS: worker:<id>, stat:processed, stat:processed:<id>, pause-all-workers, queue:<q>... (variable count)
 * ARGV: finishPrevious '1'|'0', now (unix s), previous result JSON, run_at, namespace prefix,
 *       reserve '1'|'0', previous status key or '', queue names... (same order as the queue keys)
 * Returns nil (nothing to do), 0 (paused by `pause-all-workers`), or { queue name, raw payload }.
 */
export const WORKER_CYCLE_SCRIPT: LuaScript = {
  name: 'resqueWorkerCycle',
  numberOfKeys: null,
  lua: `${HELPERS}
local now = ARGV[2]
if ARGV[1] == '1' then
  redis.call('DEL', KEYS[1])
  redis.call('INCR', KEYS[2])
  redis.call('INCR', KEYS[3])
  if ARGV[7] ~= '' then status_update(ARGV[7], 4, now, ',"result":' .. ARGV[3], 86400) end
end
if ARGV[6] ~= '1' then return nil end
if redis.call('GET', KEYS[4]) == 'true' then return 0 end
for i = 5, #KEYS do
  local raw = redis.call('LPOP', KEYS[i])
  if raw then
    local queue = ARGV[i + 3]
    record(KEYS[1], queue, raw, ARGV[4], ARGV[5], now)
    return { queue, raw }
  end
end
return nil
`,
};

/**
 * Blocking mode: after `BLMOVE queue:<q> worker:<id>:claim LEFT LEFT`, move the claimed job into
 * `worker:<id>` (and RUNNING), so a job is always either in the queue, the claim list or `worker:<id>`.
 * KEYS: worker:<id>:claim, worker:<id>. ARGV: queue name, run_at, namespace prefix, now.
 * Returns the raw payload or nil.
 */
export const WORKER_CLAIM_SCRIPT: LuaScript = {
  name: 'resqueWorkerClaim',
  numberOfKeys: 2,
  lua: `${HELPERS}
local raw = redis.call('RPOP', KEYS[1])
if not raw then return nil end
record(KEYS[2], ARGV[1], raw, ARGV[2], ARGV[3], ARGV[4])
return raw
`,
};

/**
 * A failed job (resque-protocol.md §7): RPUSH the failure record (encoded in TS with Ruby's formats),
 * INCR stat:failed(+:<id>) and stat:processed(+:<id>), DEL worker:<id>, FAILED (TTL 86400) when tracked.
 * KEYS: failed, stat:failed, stat:failed:<id>, stat:processed, stat:processed:<id>, worker:<id>.
 * ARGV: failure JSON, status key or '', now.
 */
export const WORKER_FAIL_SCRIPT: LuaScript = {
  name: 'resqueWorkerFail',
  numberOfKeys: 6,
  lua: `${HELPERS}
redis.call('RPUSH', KEYS[1], ARGV[1])
redis.call('INCR', KEYS[2])
redis.call('INCR', KEYS[3])
redis.call('INCR', KEYS[4])
redis.call('INCR', KEYS[5])
redis.call('DEL', KEYS[6])
if ARGV[2] ~= '' then status_update(ARGV[2], 3, ARGV[3], '', 86400) end
return 1
`,
};

/**
 * Registration (§6): SADD workers, SET worker:<id>:started (Ruby Time#to_s), first heartbeat.
 * KEYS: workers, worker:<id>:started, workers:heartbeat. ARGV: id, started, heartbeat.
 */
export const WORKER_REGISTER_SCRIPT: LuaScript = {
  name: 'resqueWorkerRegister',
  numberOfKeys: 3,
  lua: `
redis.call('SADD', KEYS[1], ARGV[1])
redis.call('SET', KEYS[2], ARGV[2])
redis.call('HSET', KEYS[3], ARGV[1], ARGV[3])
return 1
`,
};

/**
 * Clean unregister (§6 step 5): SREM workers; DEL worker:<id>, :started, both per-worker stats; HDEL the
 * heartbeat. A job left in the claim list (a BLMOVE that completed while we stopped) goes back to the head
 * of its queue (ARGV[2] = that queue's key, or '' to leave the claim list to the caller).
 * KEYS: workers, worker:<id>, worker:<id>:started, worker:<id>:claim, stat:processed:<id>, stat:failed:<id>,
 *       workers:heartbeat. ARGV: id, queue key for claimed jobs or ''.
 * Returns the number of claimed jobs put back.
 */
export const WORKER_UNREGISTER_SCRIPT: LuaScript = {
  name: 'resqueWorkerUnregister',
  numberOfKeys: 7,
  lua: `
local back = 0
if ARGV[2] ~= '' then
  while redis.call('LMOVE', KEYS[4], ARGV[2], 'RIGHT', 'LEFT') do back = back + 1 end
end
redis.call('SREM', KEYS[1], ARGV[1])
redis.call('DEL', KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6])
redis.call('HDEL', KEYS[7], ARGV[1])
return back
`,
};

/**
 * Heartbeat: HSET workers:heartbeat <id> <value> for each id (Ruby refreshes every 60 s; pruners drop
 * workers whose heartbeat is older than 300 s). KEYS: workers:heartbeat. ARGV: value, ids...
 */
export const WORKER_HEARTBEAT_SCRIPT: LuaScript = {
  name: 'resqueWorkerHeartbeat',
  numberOfKeys: 1,
  lua: `
for i = 2, #ARGV do redis.call('HSET', KEYS[1], ARGV[i], ARGV[1]) end
return #ARGV - 1
`,
};

/**
 * Prunes one dead worker atomically, but only if what the pruner saw is still there: `worker:<id>` equals
 * ARGV[2] ('' = absent) and the claim list holds ARGV[3] items. Then, per in-flight job (groups of 4 ARGV
 * from ARGV[6]: queue name, raw payload, failure JSON, status key or ''): mode 'fail' RPUSHes the failure
 * (PruneDeadWorkerDirtyExit), INCRs the global stat:failed and stat:processed and sets FAILED (TTL 86400);
 * mode 'requeue' RPUSHes the exact payload back (SADD queues) and sets WAITING. Finally unregisters the id.
 * KEYS: workers, worker:<id>, worker:<id>:started, worker:<id>:claim, stat:processed:<id>, stat:failed:<id>,
 *       workers:heartbeat, failed, stat:failed, stat:processed, queues.
 * ARGV: id, expected worker value, expected claim length, mode, now, [queue, raw, failure, statusKey]...,
 * with the namespace prefix in ARGV[#ARGV] (for queue keys).
 * Returns 1 when pruned, 0 when the worker changed meanwhile.
 */
export const WORKER_PRUNE_SCRIPT: LuaScript = {
  name: 'resqueWorkerPrune',
  numberOfKeys: 11,
  lua: `${HELPERS}
local current = redis.call('GET', KEYS[2]) or ''
if current ~= ARGV[2] then return 0 end
if redis.call('LLEN', KEYS[4]) ~= tonumber(ARGV[3]) then return 0 end
local prefix = ARGV[#ARGV]
local now = ARGV[5]
local i = 6
while i + 3 < #ARGV do
  local queue, raw, failure, skey = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
  if ARGV[4] == 'requeue' then
    redis.call('SADD', KEYS[11], queue)
    redis.call('RPUSH', prefix .. 'queue:' .. queue, raw)
    if skey ~= '' then status_update(skey, 1, now, '', 0) end
  else
    redis.call('RPUSH', KEYS[8], failure)
    redis.call('INCR', KEYS[9])
    redis.call('INCR', KEYS[10])
    if skey ~= '' then status_update(skey, 3, now, '', 86400) end
  end
  i = i + 4
end
redis.call('SREM', KEYS[1], ARGV[1])
redis.call('DEL', KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6])
redis.call('HDEL', KEYS[7], ARGV[1])
return 1
`,
};

/** Releases Ruby's `pruning_dead_workers_in_progress` lock only if we hold it. KEYS: lock. ARGV: our id. */
export const WORKER_PRUNE_UNLOCK_SCRIPT: LuaScript = {
  name: 'resqueWorkerPruneUnlock',
  numberOfKeys: 1,
  lua: `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`,
};

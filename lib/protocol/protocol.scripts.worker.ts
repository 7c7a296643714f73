import type { LuaScript } from './protocol.lua.js';
import { PUSH_JOB } from './protocol.scripts.queue.js';
import { RETRY_HELPERS } from './protocol.scripts.retry.js';
import { THROTTLE_HELPERS } from './protocol.scripts.throttle.js';
import { UNIQUE_HELPERS } from './protocol.scripts.unique.js';

/**
 * Worker Lua scripts (resque-protocol.md §4, §6–§8). Status keys of jobs are computed by the caller from the
 * payload's `id`/`prefix` and passed in ARGV (Resque itself is not Redis-Cluster friendly; with a hash-tagged
 * namespace every key is in one slot).
 *
 * Shared Lua helper `status_update(key, code, now, extra, ttl)`: rewrites a tracked job's packet only when
 * the key exists, keeping `started` (php-resque drops it; its fork keeps it); `extra` is appended raw
 * (`,"result":…`). A finished job (FAILED, COMPLETE) keeps its last `progress` (ctx.progress()).
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
  if code >= 3 and ok and type(decoded) == 'table' then
    local progress = decoded['progress']
    if type(progress) == 'number' or type(progress) == 'table' then
      packet = packet .. ',"progress":' .. cjson.encode(progress)
    end
  end
  packet = packet .. extra .. '}'
  if ttl > 0 then
    redis.call('SET', key, packet, 'EX', ttl)
  else
    redis.call('SET', key, packet)
  end
end
`;

/**
 * Lua helpers of the claim list `worker:<id>:claim` (ours: jobs a slot took from its queues and has not
 * started, oldest first) and, for workers of several queues, the parallel list `worker:<id>:claim:queues`
 * (each claimed job's queue; a one-queue worker's claimed jobs all belong to its queue).
 * - `drop_claim(claim, queues, raw)`: removes the first `raw` from the claim list and the queue name at the
 *   same index (`queues` = nil for one-queue workers). False when `raw` is not there.
 * - `put_back(claim, queues, prefix, own)`: moves every claimed job back to the head of its queue, newest
 *   first, so they regain their original order and place. Jobs whose queue is unknown stay claimed.
 */
const CLAIM_HELPERS = `
local TOMBSTONE = '\\0resque:dropped'
local function drop_claim(claim, queues, raw)
  local idx = redis.call('LPOS', claim, raw)
  if not idx then return false end
  redis.call('LSET', claim, idx, TOMBSTONE)
  redis.call('LREM', claim, 1, TOMBSTONE)
  if queues and redis.call('LLEN', queues) > idx then
    redis.call('LSET', queues, idx, TOMBSTONE)
    redis.call('LREM', queues, 1, TOMBSTONE)
  end
  return true
end

local function put_back(claim, queues, prefix, own)
  local back = 0
  while true do
    local queue = redis.call('RPOP', queues) or own
    if queue == '' then return back end
    local raw = redis.call('RPOP', claim)
    if not raw then return back end
    redis.call('LPUSH', prefix .. 'queue:' .. queue, raw)
    back = back + 1
  end
end
`;

/**
 * The per-job step of a slot, sent when job N starts (the slot performs meanwhile; several may be in
 * flight, applied in order on one connection):
 * 1. finish (flag 1): the previous job completed: INCR stat:processed(+:<id>), COMPLETE with its result and
 *    TTL 86400 when tracked, DEL worker:<id> (unless step 2 overwrites it);
 * 2. start (flag 2): N leaves the claim list (LPOP of the head, which is N; else found by its bytes) and
 *    becomes `worker:<id>` = `{"queue","run_at","payload"}`: the caller sends the record's head (cached per
 *    second) and the payload is embedded byte for byte (PHP's `\/` and `\uXXXX` escapes survive; a payload
 *    that is not a JSON object comes as a JSON string in ARGV[8]); then RUNNING when tracked;
 * 3. claim (ARGV[2] = how many, 0 = none): unless `pause-all-workers` is 'true', LMOVE the head of the first
 *    non-empty queue (priority order) to the tail of the claim list, up to that many times. The jobs wait
 *    there, status untouched, until a later call starts them. With flag 3 each one's queue name is RPUSHed
 *    to `worker:<id>:claim:queues`.
 *
 * KEYS: worker:<id>, then queue:<q>... (variable count, priority order). The worker's other keys
 *       (worker:<id>:claim, worker:<id>:claim:queues, stat:processed, stat:processed:<id>, pause-all-workers,
 *       workers, stat:fenced) are built here from worker:<id> and the worker id: seven fewer arguments for
 *       every job to encode, send and parse (each costs the client about 0.1 µs). They share worker:<id>'s
 *       namespace, so on a Redis Cluster (hash-tagged namespace) they are in its slot, as the status keys are.
 * ARGV: flags ('1'/'0' × 3: finish, start, record queues), claim count, now (unix s), previous status key
 *       or '', previous result JSON, N's raw payload, N's record head (`{"queue":…,"run_at":…,"payload":`),
 *       N's payload as a JSON string or '' (embed raw), N's status key or '', the worker id, the previous
 *       job's retry counter key to DEL or '' (a retried job that succeeded: resque-retry's clean_retry_key),
 *       the throttle spec or '' (see protocol.scripts.throttle.ts: the finished job's slot returned,
 *       throttled claim), the unique locks to release ('' for plain jobs, else `[[key, id], …]`: the
 *       finishing job's 'finished' lock and N's 'started' lock), then the queue names (flag 3).
 * Fencing: all of this happens only while the worker is still in `workers` (a pruner removes it in the same
 * script that takes its jobs back). Otherwise nothing is written but `stat:fenced` +1 when a finished job's
 * outcome came along (that outcome is not the job's: the job was failed or re-enqueued by the pruner), and
 * -1 is returned: N is not started and nothing is claimed.
 * Returns -1 when the worker is not registered, 0 when claiming was refused by `pause-all-workers`, else
 * { i1, raw1, i2, raw2, … } (claimed from the i-th queue key; empty when nothing was claimed), or with a
 * throttle spec { 0, waitMs } when every non-empty queue's head was throttled.
 */
export const WORKER_CYCLE_SCRIPT: LuaScript = {
  name: 'resqueWorkerCycle',
  numberOfKeys: null,
  lua: `${HELPERS}${CLAIM_HELPERS}${THROTTLE_HELPERS}${UNIQUE_HELPERS}
local flags = ARGV[1]
-- policy: throttle (a spec only when the worker has throttles and something to do with them)
local throttle = nil
if ARGV[12] ~= '' then throttle = cjson.decode(ARGV[12]) end
local now = ARGV[3]
local id = ARGV[10]
local record = KEYS[1]
local claim = record .. ':claim'
local prefix = string.sub(record, 1, #record - #id - 7) -- worker:<id> = prefix .. 'worker:' .. id
local workers = prefix .. 'workers'
if redis.call('SISMEMBER', workers, id) == 0 then
  if string.byte(flags, 1) == 49 then redis.call('INCR', prefix .. 'stat:fenced') end
  return -1
end
-- unique: locks released by this finish/start (decoded only when there are any).
if ARGV[13] ~= '' then unique_release_list(ARGV[13]) end
local start = string.byte(flags, 2) == 49
local queues = nil
if string.byte(flags, 3) == 49 then queues = claim .. ':queues' end
if string.byte(flags, 1) == 49 then
  redis.call('INCR', prefix .. 'stat:processed')
  redis.call('INCR', prefix .. 'stat:processed:' .. id)
  if ARGV[4] ~= '' then status_update(ARGV[4], 4, now, ',"result":' .. ARGV[5], 86400) end
  if ARGV[11] ~= '' then redis.call('DEL', ARGV[11]) end -- retry policy: the counter of a job that succeeded
  if throttle then throttle_lib().release(throttle['r']) end -- policy: throttle
  if not start then redis.call('DEL', record) end
end
if start then
  local raw = ARGV[6]
  local head = redis.call('LPOP', claim)
  if head == raw then
    if queues then redis.call('LPOP', queues) end
  elseif head then
    redis.call('LPUSH', claim, head)
    drop_claim(claim, queues, raw)
  end
  local embedded = ARGV[8]
  if embedded == '' then embedded = raw end
  redis.call('SET', record, ARGV[7] .. embedded .. '}')
  if ARGV[9] ~= '' then status_update(ARGV[9], 2, now, '', 0) end
end
local want = tonumber(ARGV[2])
local out = {}
if want < 1 then return out end
if redis.call('GET', prefix .. 'pause-all-workers') == 'true' then return 0 end
if throttle then return throttle_lib().claim(throttle, want, claim, queues, 12, id, workers) end -- policy: throttle
for n = 1, want do
  local got = false
  for i = 2, #KEYS do
    local raw = redis.call('LMOVE', KEYS[i], claim, 'LEFT', 'RIGHT')
    if raw then
      if queues then redis.call('RPUSH', queues, ARGV[i + 12]) end
      out[#out + 1] = i - 1
      out[#out + 1] = raw
      got = true
      break
    end
  end
  if not got then break end
end
return out
`,
};

/**
 * After a cycle call failed (its effect unknown), between jobs and with no call in flight: for each
 * unconfirmed cycle in order, if its job is still in the claim list the cycle never ran, so the job leaves
 * the claim list now (it was performed) and the cycle's finish is applied. `worker:<id>` is left to the
 * next cycle (it finishes or overwrites it). Returns the claim list and, for several-queue workers, its
 * queue list: the caller adopts them as its claimed jobs.
 * KEYS: worker:<id>, worker:<id>:claim, worker:<id>:claim:queues, stat:processed, stat:processed:<id>,
 *       workers.
 * ARGV: record queues '1'|'0', now, then per cycle 4 values: finish '1'|'0', previous status key or '',
 *       previous result JSON, started raw payload; then the capped classes' running keys (JSON) or ''; last
 *       the worker id. The worker's concurrency slots not held by a job of its claim list are returned.
 * Fenced like the cycle: a worker no longer in `workers` gets -1 and nothing is written (a claim list a
 * Ruby pruner left behind is for a pruner, or the worker's own unregister, to put back).
 * Returns { claim list, queue list }, or -1 when the worker is not registered.
 */
export const WORKER_RESYNC_SCRIPT: LuaScript = {
  name: 'resqueWorkerResync',
  numberOfKeys: 6,
  lua: `${HELPERS}${CLAIM_HELPERS}${THROTTLE_HELPERS}
if redis.call('SISMEMBER', KEYS[6], ARGV[#ARGV]) == 0 then return -1 end
local queues = nil
if ARGV[1] == '1' then queues = KEYS[3] end
local now = ARGV[2]
local i = 3
while i + 4 < #ARGV do
  if drop_claim(KEYS[2], queues, ARGV[i + 3]) and ARGV[i] == '1' then
    redis.call('INCR', KEYS[4])
    redis.call('INCR', KEYS[5])
    if ARGV[i + 1] ~= '' then status_update(ARGV[i + 1], 4, now, ',"result":' .. ARGV[i + 2], 86400) end
  end
  i = i + 4
end
if ARGV[#ARGV - 1] ~= '' then throttle_lib().reconcile(ARGV[#ARGV - 1], ARGV[#ARGV], KEYS[2]) end -- policy: throttle
local claimed = redis.call('LRANGE', KEYS[2], 0, -1)
local names = {}
if queues then names = redis.call('LRANGE', queues, 0, -1) end
return { claimed, names }
`,
};

/**
 * Puts every claimed job back at the head of its queue (original order): a paused worker, or a pool slot
 * re-registering under its new child's pid, releases what it claimed ahead.
 * KEYS: worker:<id>:claim, worker:<id>:claim:queues. ARGV: namespace prefix, the worker's one queue or '',
 * the worker id, the capped classes' running keys (JSON) or '' (their slots held by this worker are returned).
 * Returns the number of jobs put back.
 */
export const WORKER_RELEASE_SCRIPT: LuaScript = {
  name: 'resqueWorkerRelease',
  numberOfKeys: 2,
  lua: `${CLAIM_HELPERS}${THROTTLE_HELPERS}
local back = put_back(KEYS[1], KEYS[2], ARGV[1], ARGV[2])
if (ARGV[4] or '') ~= '' then throttle_lib().reconcile(ARGV[4], ARGV[3], KEYS[1]) end -- policy: throttle
return back
`,
};

/**
 * A job that TERM/INT interrupted goes back to the head of its queue (`onInterrupted: 'requeue'`), as the
 * worker stops: the jobs it claimed ahead go back first (see `put_back`), then the job is LPUSHed in front
 * of them, so all regain their original order and place. In the same step: SADD queues, DEL worker:<id>,
 * WAITING when tracked. Not processed, not failed. The caller sends it once no cycle is in flight and none
 * is unconfirmed, so the job is in `worker:<id>` (or its start never ran and resync dropped it from the
 * claim list), never still claimed.
 * KEYS: queue:<q>, queues, worker:<id>, worker:<id>:claim, worker:<id>:claim:queues.
 * ARGV: raw payload, queue name, status key or '', now, namespace prefix, the worker's one queue or '', the
 *       worker id, the capped classes' running keys (JSON) or '' (the worker's slots are returned).
 */
export const WORKER_REQUEUE_SCRIPT: LuaScript = {
  name: 'resqueWorkerRequeue',
  numberOfKeys: 5,
  lua: `${HELPERS}${CLAIM_HELPERS}${THROTTLE_HELPERS}
put_back(KEYS[4], KEYS[5], ARGV[5], ARGV[6])
if (ARGV[8] or '') ~= '' then throttle_lib().reconcile(ARGV[8], ARGV[7], KEYS[4]) end -- policy: throttle
redis.call('LPUSH', KEYS[1], ARGV[1])
redis.call('SADD', KEYS[2], ARGV[2])
redis.call('DEL', KEYS[3])
if ARGV[3] ~= '' then status_update(ARGV[3], 1, ARGV[4], '', 0) end
return 1
`,
};

/**
 * A failed job (resque-protocol.md §7): RPUSH the failure record (encoded in TS with Ruby's formats),
 * INCR stat:failed(+:<id>) and stat:processed(+:<id>), DEL worker:<id>, FAILED (TTL 86400) when tracked.
 * Fenced: only while the worker is in `workers`; otherwise the job was taken back by a pruner (failed or
 * re-enqueued there), so this failure is not the job's: only `stat:fenced` +1, and 0 is returned.
 * KEYS: failed, stat:failed, stat:failed:<id>, stat:processed, stat:processed:<id>, worker:<id>, workers,
 *       stat:fenced.
 * ARGV: failure JSON, status key or '', now, worker id, this write's token key (`fail_token:<id>`) and
 *       token (unique per failure write, the same in a resend), the job's concurrency slot `[runningKey, member]`
 *       (JSON) or '' (policy: throttle), the job's 'finished' unique lock or '' and its job id (policy:
 *       unique), then (policies) '1' when an onFailure listener stopped the record ('' else: no failure
 *       record, no stat:failed), and the retry counter key or '' followed by limit (-1 = Infinity), delay,
 *       key TTL, retry body, queue, namespace prefix (see RETRY_HELPERS).
 * The concurrency slot is returned whatever the outcome (a retried job leaves this worker too); the unique
 * lock only when the job is not retried (the retry is still the same job).
 * With a retry key the attempt is counted here, with the outcome: retried (no record, stat:failed +1 as Ruby's
 * worker does, WAITING when tracked) or given up (recorded with `retry_attempts`).
 * Returns 1 when recorded, 2 when an onFailure listener stopped the record, { 3, next attempt } when retried,
 * 0 when fenced. Applied once per token: a resend of the same write (a reply lost with the connection) gets
 * the first run's answer (kept 600 s under the token key) and changes nothing.
 */
export const WORKER_FAIL_SCRIPT: LuaScript = {
  name: 'resqueWorkerFail',
  numberOfKeys: 8,
  lua: `${HELPERS}${PUSH_JOB}${RETRY_HELPERS}${THROTTLE_HELPERS}${UNIQUE_HELPERS}
-- A resend of this very write (its reply was lost, ioredis sent it again): answer as the first run did.
local seen = redis.call('GET', ARGV[5])
local mark = ARGV[6] .. '|'
if seen and string.sub(seen, 1, #mark) == mark then return cjson.decode(string.sub(seen, #mark + 1)) end
local function answer(reply)
  redis.call('SET', ARGV[5], mark .. cjson.encode(reply), 'EX', 600)
  return reply
end
if redis.call('SISMEMBER', KEYS[7], ARGV[4]) == 0 then
  redis.call('INCR', KEYS[8])
  return 0
end
if (ARGV[7] or '') ~= '' then throttle_lib().release(cjson.decode(ARGV[7])) end -- policy: throttle
local failure = ARGV[1]
-- Policies (retry, onFailure stop): '' when none applies, so the plain path runs no extra command.
if ARGV[11] and ARGV[11] ~= '' then
  local retried, n = retry_attempt(ARGV[11], tonumber(ARGV[12]), tonumber(ARGV[13]), tonumber(ARGV[14]), ARGV[15], ARGV[16], ARGV[17], tonumber(ARGV[3]))
  if retried then
    redis.call('INCR', KEYS[2])
    redis.call('INCR', KEYS[3])
    redis.call('INCR', KEYS[4])
    redis.call('INCR', KEYS[5])
    redis.call('DEL', KEYS[6])
    if ARGV[2] ~= '' then status_update(ARGV[2], 1, ARGV[3], '', 0) end
    return answer({ 3, n })
  end
  failure = with_attempts(failure, n)
end
local stopped = ARGV[10] == '1'
if not stopped then
  redis.call('RPUSH', KEYS[1], failure)
  redis.call('INCR', KEYS[2])
  redis.call('INCR', KEYS[3])
end
redis.call('INCR', KEYS[4])
redis.call('INCR', KEYS[5])
redis.call('DEL', KEYS[6])
if ARGV[2] ~= '' then status_update(ARGV[2], 3, ARGV[3], '', 86400) end
-- unique: the failed job's 'finished' lock ends here (a retried job returned above and keeps it).
unique_release(ARGV[8], ARGV[9])
if stopped then return answer(2) end
return answer(1)
`,
};

/**
 * Registration (§6): SADD workers, SET worker:<id>:started (Ruby Time#to_s), first heartbeat (Ruby's hash
 * and our workers:claim_heartbeat), and our heartbeat interval (ours: workers:heartbeat_interval).
 * KEYS: workers, worker:<id>:started, workers:heartbeat, workers:claim_heartbeat, workers:heartbeat_interval.
 * ARGV: id, started, heartbeat, heartbeat interval in seconds.
 */
export const WORKER_REGISTER_SCRIPT: LuaScript = {
  name: 'resqueWorkerRegister',
  numberOfKeys: 5,
  lua: `
redis.call('SADD', KEYS[1], ARGV[1])
redis.call('SET', KEYS[2], ARGV[2])
redis.call('HSET', KEYS[3], ARGV[1], ARGV[3])
redis.call('HSET', KEYS[4], ARGV[1], ARGV[3])
redis.call('HSET', KEYS[5], ARGV[1], ARGV[4])
return 1
`,
};

/**
 * Clean unregister (§6 step 5): SREM workers; DEL worker:<id>, :started, both per-worker stats; HDEL the
 * heartbeat. Jobs left in the claim list (claimed ahead, or moved by BLMOVE while we stopped) first go
 * back to the head of their queue, in their original order (see `put_back`); only then are the claim
 * lists deleted, so a job whose queue is unknown is kept, never dropped.
 * KEYS: workers, worker:<id>, worker:<id>:started, worker:<id>:claim, stat:processed:<id>, stat:failed:<id>,
 *       workers:heartbeat, worker:<id>:claim:queues, workers:claim_heartbeat, workers:heartbeat_interval.
 *       ARGV: id, namespace prefix, the worker's one queue or '', the capped classes' running keys (JSON) or ''
 *       (the worker's concurrency slots are returned, but for jobs it keeps). The claim heartbeat (and the interval it is
 *       judged by) stays while jobs are kept, so a pruner finds them.
 * Returns the number of claimed jobs put back.
 */
export const WORKER_UNREGISTER_SCRIPT: LuaScript = {
  name: 'resqueWorkerUnregister',
  numberOfKeys: 10,
  lua: `${CLAIM_HELPERS}${THROTTLE_HELPERS}
local back = put_back(KEYS[4], KEYS[8], ARGV[2], ARGV[3])
if (ARGV[4] or '') ~= '' then throttle_lib().reconcile(ARGV[4], ARGV[1], KEYS[4]) end -- policy: throttle
if redis.call('LLEN', KEYS[4]) == 0 then
  redis.call('DEL', KEYS[8])
  redis.call('HDEL', KEYS[9], ARGV[1])
  redis.call('HDEL', KEYS[10], ARGV[1])
end
redis.call('SREM', KEYS[1], ARGV[1])
redis.call('DEL', KEYS[2], KEYS[3], KEYS[5], KEYS[6])
redis.call('HDEL', KEYS[7], ARGV[1])
return back
`,
};

/**
 * Heartbeat: HSET workers:heartbeat <id> <value> for each id (Ruby refreshes every 60 s; pruners drop
 * workers whose heartbeat is older than 300 s), the same in our workers:claim_heartbeat, and our interval
 * in workers:heartbeat_interval (re-published, so a pruner never judges us by a missing entry) — but only for
 * ids still in `workers`: a pruned worker must not look alive again. Those ids are returned (the worker
 * notices it was pruned).
 * KEYS: workers:heartbeat, workers:claim_heartbeat, workers:heartbeat_interval, workers.
 * ARGV: value, interval, ids...
 * Returns the ids that are not registered.
 */
export const WORKER_HEARTBEAT_SCRIPT: LuaScript = {
  name: 'resqueWorkerHeartbeat',
  numberOfKeys: 4,
  lua: `
local gone = {}
for i = 3, #ARGV do
  if redis.call('SISMEMBER', KEYS[4], ARGV[i]) == 1 then
    redis.call('HSET', KEYS[1], ARGV[i], ARGV[1])
    redis.call('HSET', KEYS[2], ARGV[i], ARGV[1])
    redis.call('HSET', KEYS[3], ARGV[i], ARGV[2])
  else
    gone[#gone + 1] = ARGV[i]
  end
end
return gone
`,
};

/**
 * Prunes one dead worker atomically, but only if what the pruner saw is still there: `worker:<id>` equals
 * ARGV[2] ('' = absent) and the claim list holds ARGV[3] items. Then, per in-flight job (groups of 4 ARGV
 * from ARGV[6], in the order the worker took them: its current job, then its claim list; each is queue
 * name, raw payload, failure JSON, status key or ''): mode 'fail' RPUSHes the failure
 * (PruneDeadWorkerDirtyExit), INCRs the global stat:failed and stat:processed and sets FAILED (TTL 86400);
 * mode 'requeue' puts the exact payload back at the head of its queue (SADD queues) and sets WAITING — the
 * jobs were first in line when taken, so they are pushed newest first and end up in their original order,
 * ahead of what was enqueued since. Finally unregisters the id.
 * KEYS: workers, worker:<id>, worker:<id>:started, worker:<id>:claim, stat:processed:<id>, stat:failed:<id>,
 *       workers:heartbeat, failed, stat:failed, stat:processed, queues, worker:<id>:claim:queues,
 *       workers:claim_heartbeat, workers:heartbeat_interval.
 * ARGV: id, expected worker value, expected claim length, mode, now, retries ('' = none, else a JSON array
 * with per job 0 or [counter key, limit, delay, key TTL, retry body]: mode 'fail' counts the attempt and
 * retries it or records it with its attempts, see RETRY_HELPERS), the unique locks ('' or, in 'fail'
 * mode, per job `[key, id]` or 0: released when that job is failed, kept when it is retried), [queue, raw, failure,
 * statusKey]..., then the capped classes' running keys (JSON) or '' (every concurrency slot of the dead
 * worker is returned), with the namespace prefix in ARGV[#ARGV] (for queue keys).
 * Returns 1 when pruned, 0 when the worker changed meanwhile.
 */
export const WORKER_PRUNE_SCRIPT: LuaScript = {
  name: 'resqueWorkerPrune',
  numberOfKeys: 14,
  lua: `${HELPERS}${PUSH_JOB}${RETRY_HELPERS}${THROTTLE_HELPERS}${UNIQUE_HELPERS}
local current = redis.call('GET', KEYS[2]) or ''
if current ~= ARGV[2] then return 0 end
if redis.call('LLEN', KEYS[4]) ~= tonumber(ARGV[3]) then return 0 end
local prefix = ARGV[#ARGV]
local now = ARGV[5]
local retries = nil
if ARGV[6] ~= '' then retries = cjson.decode(ARGV[6]) end
local jobs = (#ARGV - 9) / 4
if ARGV[#ARGV - 1] ~= '' then throttle_lib().reconcile(ARGV[#ARGV - 1], ARGV[1], nil) end -- policy: throttle
-- unique: per job, its lock or 0; a failed job releases it unless it is retried (still the same job).
local locks = nil
if ARGV[7] ~= '' then locks = cjson.decode(ARGV[7]) end
if ARGV[4] == 'requeue' then
  for j = jobs - 1, 0, -1 do
    local i = 8 + 4 * j
    local queue, raw, skey = ARGV[i], ARGV[i + 1], ARGV[i + 3]
    redis.call('SADD', KEYS[11], queue)
    redis.call('LPUSH', prefix .. 'queue:' .. queue, raw)
    if skey ~= '' then status_update(skey, 1, now, '', 0) end
  end
else
  for j = 0, jobs - 1 do
    local i = 8 + 4 * j
    local failure, skey = ARGV[i + 2], ARGV[i + 3]
    local r = retries and retries[j + 1]
    local retried = false
    if type(r) == 'table' then
      local n
      retried, n = retry_attempt(r[1], r[2], r[3], r[4], r[5], ARGV[i], prefix, tonumber(now))
      if not retried then failure = with_attempts(failure, n) end
    end
    if not retried then redis.call('RPUSH', KEYS[8], failure) end
    local lock = locks and locks[j + 1]
    if type(lock) == 'table' and not retried then unique_release(lock[1], lock[2]) end
    redis.call('INCR', KEYS[9])
    redis.call('INCR', KEYS[10])
    if skey ~= '' then
      if retried then status_update(skey, 1, now, '', 0) else status_update(skey, 3, now, '', 86400) end
    end
  end
end
redis.call('SREM', KEYS[1], ARGV[1])
redis.call('DEL', KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[12])
redis.call('HDEL', KEYS[7], ARGV[1])
redis.call('HDEL', KEYS[13], ARGV[1])
redis.call('HDEL', KEYS[14], ARGV[1])
return 1
`,
};

/**
 * Takes Ruby's `pruning_dead_workers_in_progress` lock over from a holder known to be dead, only if that holder
 * still has it (two takers cannot both win). KEYS: lock. ARGV: the dead holder's id, our id, TTL seconds.
 * Returns 1 when taken.
 */
export const WORKER_PRUNE_TAKEOVER_SCRIPT: LuaScript = {
  name: 'resqueWorkerPruneTakeover',
  numberOfKeys: 1,
  lua: `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
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

/**
 * Lua helpers of throttling and concurrency caps (README "Job policies"), spliced into the worker scripts at
 * points marked `-- policy: throttle`. They live inside one function, `throttle_lib()`, which returns
 * `{ claim, release, reconcile }`: a script call only creates their closures when it calls it, i.e. when the
 * worker passed a non-empty policy ARGV. The plain path decodes nothing, sends no extra command and builds
 * one closure (measured: the cycle script's Redis time per call is the same with or without this file).
 *
 * Rate limits are sliding-window logs: a ZSET per throttled class (`throttle:class:<class>`) or queue
 * (`throttle:queue:<q>`) whose members are claims scored by the Redis clock in ms. A job may be claimed when
 * fewer than `max` claims are younger than the window; the wait otherwise is until the oldest one leaves.
 * All in the claim script, so every worker on the Redis sees the same log. Concurrency caps are a ZSET of
 * holders per class (`throttle:running:<class>`, member `<workerId>|<sha1 of the payload>`, score = how
 * many of that worker's claimed/running jobs have that payload, usually 1; the slots held are the sum):
 * taken at claim, returned by the outcome, by put-back and by the pruner; at the cap, holders whose
 * worker is no longer in `workers` are dropped first (self-healing: a crash never leaks a slot for longer
 * than it takes a pruner, ours or Ruby's, to unregister the dead worker).
 *
 * - `claim(spec, want, claimKey, queuesKey, nameAt, worker, workersKey)`: the claim step with throttles
 *   (replaces the plain LMOVE loop): the head of each queue in priority order (the cycle script's KEYS[2..])
 *   is checked without popping it
 *   (LINDEX); a blocked head stays where it is and the next queue is tried (queue i's name, for several-queue
 *   workers, is ARGV[i + nameAt]). Returns `{ i1, raw1, … }`, or
 *   `{ 0, waitMs }` when nothing could be claimed because every non-empty queue was blocked (waitMs -1:
 *   only by a concurrency cap, whose end no one can know).
 * - `release(pair)`: one slot of a holder back (ZINCRBY -1, ZREM at 0), `pair` = decoded `[runningKey, member]`.
 * - `reconcile(keysJson, worker, claimKey)`: sets every holder of `worker` to the number of its jobs in
 *   its claim list (dropped at none) (claimKey nil: every holder of `worker`), after jobs went back to their queues, a resync,
 *   or a prune/unregister. keysJson '' = no capped class: nothing is done.
 */
export const THROTTLE_HELPERS = `
local function throttle_lib()
  local function throttle_now_ms()
    local t = redis.call('TIME')
    return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  end

  local function throttle_window_wait(key, max, ms, now)
    redis.call('ZREMRANGEBYSCORE', key, '-inf', now - ms)
    if redis.call('ZCARD', key) < max then return 0 end
    local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
    return math.max(1, tonumber(oldest[2]) + ms - now)
  end

  -- A window entry per claim: members are unique even for equal payloads claimed in the same ms.
  local function throttle_log(key, ms, now, sha)
    local member = now .. '|' .. sha
    while redis.call('ZADD', key, 'NX', now, member) == 0 do member = member .. '+' end
    redis.call('PEXPIRE', key, ms)
  end

  local function throttle_holder_worker(member)
    return string.match(member, '^(.*)|[^|]*$') or member
  end

  -- Slots held: the sum of the holders' scores (each counts the worker's jobs with that payload, usually 1).
  local function throttle_held(key)
    local held = 0
    local pairs_ = redis.call('ZRANGE', key, 0, -1, 'WITHSCORES')
    for j = 2, #pairs_, 2 do held = held + tonumber(pairs_[j]) end
    return held
  end

  local function throttle_cap_free(key, cap, workers)
    if throttle_held(key) < cap then return true end
    for _, member in ipairs(redis.call('ZRANGE', key, 0, -1)) do
      if redis.call('SISMEMBER', workers, throttle_holder_worker(member)) == 0 then redis.call('ZREM', key, member) end
    end
    return throttle_held(key) < cap
  end

  local function throttle_class_of(raw)
    local name = string.match(raw, '^{%s*"class"%s*:%s*"([^"\\\\]*)"')
    if name then return name end
    local ok, decoded = pcall(cjson.decode, raw)
    if ok and type(decoded) == 'table' and type(decoded['class']) == 'string' then return decoded['class'] end
    return nil
  end

  -- 0 when the head job (class cls) of queue key qkey may be claimed now, else ms to wait (-1: a cap, unknown).
  local function throttle_check(spec, qkey, cls, now, workers)
    local q = spec['q'][qkey]
    if q then
      local w = throttle_window_wait(q[3], q[1], q[2], now)
      if w > 0 then return w end
    end
    local c = cls and spec['c'][cls]
    if not c then return 0 end
    if c[1] > 0 then
      local w = throttle_window_wait(c[3], c[1], c[2], now)
      if w > 0 then return w end
    end
    if c[4] > 0 and not throttle_cap_free(c[5], c[4], workers) then return -1 end
    return 0
  end

  local function throttle_take(spec, qkey, cls, raw, now, worker)
    local sha = redis.sha1hex(raw)
    local q = spec['q'][qkey]
    if q then throttle_log(q[3], q[2], now, sha) end
    local c = cls and spec['c'][cls]
    if not c then return end
    if c[1] > 0 then throttle_log(c[3], c[2], now, sha) end
    if c[4] > 0 then redis.call('ZINCRBY', c[5], 1, worker .. '|' .. sha) end
  end

  local function throttle_shorter(wait, w)
    if wait == nil or wait == -1 then return w end
    if w == -1 then return wait end
    return math.min(wait, w)
  end

  local function throttle_claim(spec, want, claim, queues, name_at, worker, workers)
    local out = {}
    local now = throttle_now_ms()
    local wait = nil
    for n = 1, want do
      local got = false
      for i = 2, #KEYS do -- the cycle script's queue keys
        local raw = redis.call('LINDEX', KEYS[i], 0)
        if raw then
          local cls = throttle_class_of(raw)
          local w = throttle_check(spec, KEYS[i], cls, now, workers)
          if w == 0 then
            redis.call('LMOVE', KEYS[i], claim, 'LEFT', 'RIGHT')
            throttle_take(spec, KEYS[i], cls, raw, now, worker)
            if queues then redis.call('RPUSH', queues, ARGV[i + name_at]) end
            out[#out + 1] = i - 1
            out[#out + 1] = raw
            got = true
            break
          end
          wait = throttle_shorter(wait, w)
        end
      end
      if not got then break end
    end
    if #out == 0 and wait ~= nil then return { 0, wait } end
    return out
  end

  local function throttle_release(pair)
    if pair and tonumber(redis.call('ZINCRBY', pair[1], -1, pair[2])) <= 0 then redis.call('ZREM', pair[1], pair[2]) end
  end

  local function throttle_reconcile(keys_json, worker, claim)
    if keys_json == '' then return end
    local held = {}
    if claim then
      for _, raw in ipairs(redis.call('LRANGE', claim, 0, -1)) do
        local member = worker .. '|' .. redis.sha1hex(raw)
        held[member] = (held[member] or 0) + 1
      end
    end
    local prefix = worker .. '|'
    for _, key in ipairs(cjson.decode(keys_json)) do
      for _, member in ipairs(redis.call('ZRANGE', key, 0, -1)) do
        if string.sub(member, 1, #prefix) == prefix then
          if held[member] then redis.call('ZADD', key, held[member], member) else redis.call('ZREM', key, member) end
        end
      end
    end
  end
  return { claim = throttle_claim, release = throttle_release, reconcile = throttle_reconcile }
end
`;

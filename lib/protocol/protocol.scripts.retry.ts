/**
 * Lua fragments of retries (resque-retry's semantics, README "Job policies"), spliced into the worker's
 * outcome scripts (fail, prune) and the cycle script; they need PUSH_JOB's `push_job` in scope.
 *
 * `retry_attempt(key, limit, delay, ttl, body, queue, prefix, now)`: counts a failed attempt in the counter
 * `resque-retry:<class>:<identifier>` exactly as resque-retry does (SETNX -1, INCR: the value is the number of
 * retries made before this attempt), then either gives up (value >= limit; limit -1 = never: DEL the key,
 * returns false and the attempts made) or retries (EXPIRE the key for `delay + ttl`, returns true and the
 * next attempt's number): `body .. ',"retry_attempt":<n>}'` is pushed at once (PUSH_JOB) when `delay` is 0,
 * else scheduled at `now + delay` in resque-scheduler's layout (the three writes of SCHEDULE_DELAYED_SCRIPT),
 * which our scheduler and Ruby's both promote.
 *
 * `with_attempts(failure, n)`: the failure JSON with our `"retry_attempts":n` member appended (readers
 * ignore unknown members; resque-retry's suppression backend writes none).
 */
export const RETRY_HELPERS = `
local function retry_attempt(key, limit, delay, ttl, body, queue, prefix, now)
  redis.call('SETNX', key, -1)
  local n = redis.call('INCR', key)
  if limit >= 0 and n >= limit then
    redis.call('DEL', key)
    return false, n + 1
  end
  redis.call('EXPIRE', key, delay + ttl)
  local payload = body .. ',"retry_attempt":' .. string.format('%d', n + 2) .. '}'
  if delay > 0 then
    local ts = string.format('%d', now + delay)
    redis.call('RPUSH', prefix .. 'delayed:' .. ts, payload)
    redis.call('ZADD', prefix .. 'delayed_queue_schedule', ts, ts)
    redis.call('SADD', prefix .. 'timestamps:' .. payload, 'delayed:' .. ts)
  else
    push_job(prefix .. 'queues', prefix .. 'queue:' .. queue, queue, payload)
  end
  return true, n + 2
end

local function with_attempts(failure, n)
  return string.sub(failure, 1, -2) .. ',"retry_attempts":' .. string.format('%d', n) .. '}'
end
`;

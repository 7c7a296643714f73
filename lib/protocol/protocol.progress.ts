import { assertJsonSafe } from './protocol.json.js';
import type { LuaScript } from './protocol.lua.js';

/** What a job reports with `ctx.progress()`: a percentage, or a small JSON object (e.g. `{ done, total }`). */
export type ResqueProgress = number | { readonly [key: string]: unknown };

/** The largest progress object, as JSON (the status packet is read on every dashboard and status call). */
export const PROGRESS_MAX_JSON_BYTES = 1024;

/**
 * The progress value as JSON, or a RangeError/TypeError naming what is wrong: a number must be finite and in
 * 0–100; an object must be a plain, JSON-safe object of at most PROGRESS_MAX_JSON_BYTES once encoded.
 */
export function encodeProgress(value: unknown): string {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0 || value > 100) throw new RangeError(`progress must be a number from 0 to 100, got ${value}`);
    return JSON.stringify(value);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new TypeError(`progress must be a number from 0 to 100 or a plain object, got ${Array.isArray(value) ? 'an array' : value === null ? 'null' : typeof value}`);
  }
  assertJsonSafe(value, 'progress');
  const json = JSON.stringify(value);
  const bytes = Buffer.byteLength(json);
  if (bytes > PROGRESS_MAX_JSON_BYTES) throw new RangeError(`progress must encode to at most ${PROGRESS_MAX_JSON_BYTES} bytes of JSON, got ${bytes}`);
  return json;
}

/**
 * Writes `progress` into a job's status packet, only while the job is RUNNING: a late write (after the
 * worker recorded COMPLETE or FAILED, or before it started) leaves the packet alone, and so does an
 * untracked job (no key). Keeps `started`; `updated` becomes now.
 * KEYS: status key. ARGV: progress JSON, now (unix s). Returns 1 when written, 0 otherwise.
 */
export const PROGRESS_SCRIPT: LuaScript = {
  name: 'resqueProgress',
  numberOfKeys: 1,
  lua: `
local current = redis.call('GET', KEYS[1])
if not current then return 0 end
local ok, decoded = pcall(cjson.decode, current)
if not ok or type(decoded) ~= 'table' or tonumber(decoded['status']) ~= 2 then return 0 end
local packet = '{"status":2,"updated":' .. ARGV[2]
if type(decoded['started']) == 'number' then
  packet = packet .. ',"started":' .. string.format('%d', decoded['started'])
end
redis.call('SET', KEYS[1], packet .. ',"progress":' .. ARGV[1] .. '}')
return 1
`,
};

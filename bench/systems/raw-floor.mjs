// The physical floor for processing: a raw ioredis loop doing one Lua claim per job (LPOP the queue and
// SET a worker key to the popped payload, one EVALSHA each), nothing else: no completion record, no
// stats, no framework. Pipelined as our slots are: each slot keeps PREFETCH + 1 claims in flight (ours
// claims `prefetch` (default 2) ahead while the current job's call is in flight), so the floor measures
// Redis and the client, not round-trip waits. N slots = N such loops on one connection.
import { Redis } from 'ioredis';
import { QUEUE, completion, now } from '../lib/kit.mjs';
import { prefill as resquePrefill } from './node-resque.mjs';

export const id = 'raw-floor';
export const floor = true;
/** Ours' default `prefetch`. */
const PREFETCH = 2;
const CLAIM = `local job = redis.call('LPOP', KEYS[1])
if job then redis.call('SET', KEYS[2], job) end
return job`;

export async function available() {
  return { ok: true };
}

export function plan(s) {
  if (s.kind === 'work' && s.isolation === 'inline') {
    const depth = `${PREFETCH + 1} in flight`;
    return [{ variant: s.slots === 1 ? `ioredis EVALSHA claim, ${depth}` : `ioredis EVALSHA claim, ${s.slots} loops × ${depth}`, role: 'work' }];
  }
  return { na: 'not applicable' };
}

/** Same payloads as a Resque queue holds. */
export const prefill = resquePrefill;

export async function work({ port, n, slots, timeoutMs }) {
  const redis = new Redis({ port, host: '127.0.0.1' });
  const sha = await redis.script('LOAD', CLAIM);
  const done = completion(n);
  const queueKey = `resque:queue:${QUEUE}`;
  // One lane: a claim is sent as soon as the previous one in this lane replied, so a slot always has
  // PREFETCH + 1 claims outstanding (replies arrive in order on the one connection).
  const lane = async (workerKey) => {
    while ((await redis.evalsha(sha, 2, queueKey, workerKey)) !== null) done.tick();
  };
  const t0 = now();
  const lanes = [];
  for (let slot = 0; slot < slots; slot++) {
    const workerKey = `resque:worker:floor:${process.pid}-${slot}:${QUEUE}`;
    for (let i = 0; i <= PREFETCH; i++) lanes.push(lane(workerKey));
  }
  await Promise.all(lanes);
  await redis.quit();
  if (done.count !== n) throw new Error(`claimed ${done.count} of ${n}`);
  void timeoutMs;
  return done.result(t0);
}

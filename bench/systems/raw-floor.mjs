// The physical floor for processing: a raw ioredis loop doing one Lua claim per job (LPOP the queue and
// SET a worker key to the popped payload, one EVALSHA each), nothing else: no completion record, no
// stats, no framework. One claim awaited at a time for one slot; N loops on one connection for N slots.
import { Redis } from 'ioredis';
import { QUEUE, completion, now } from '../lib/kit.mjs';
import { prefill as resquePrefill } from './node-resque.mjs';

export const id = 'raw-floor';
export const floor = true;
const CLAIM = `local job = redis.call('LPOP', KEYS[1])
if job then redis.call('SET', KEYS[2], job) end
return job`;

export async function available() {
  return { ok: true };
}

export function plan(s) {
  if (s.kind === 'work' && s.isolation === 'inline') {
    return [{ variant: s.slots === 1 ? 'ioredis EVALSHA claim, awaited' : `ioredis EVALSHA claim, ${s.slots} loops`, role: 'work' }];
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
  const loop = async (slot) => {
    const workerKey = `resque:worker:floor:${process.pid}-${slot}:${QUEUE}`;
    while ((await redis.evalsha(sha, 2, queueKey, workerKey)) !== null) done.tick();
  };
  const t0 = now();
  await Promise.all(Array.from({ length: slots }, (_, i) => loop(i)));
  await redis.quit();
  if (done.count !== n) throw new Error(`claimed ${done.count} of ${n}`);
  void timeoutMs;
  return done.result(t0);
}

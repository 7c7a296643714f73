import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DEFAULT_NAMESPACE, normalizeNamespace, ResqueKeys } from '../lib/protocol/protocol.keys.js';
import { FIXTURES_DIR, readFixture, type FixtureKeys } from './support/fixtures.js';

const fixtureNames = readdirSync(FIXTURES_DIR)
  .filter((f) => f.endsWith('.json'))
  .map((f) => f.slice(0, -'.json'.length));

function allKeyNames(): string[] {
  const names = new Set<string>();
  for (const name of fixtureNames) {
    const fixture = readFixture(name);
    const states: FixtureKeys[] = [fixture.keys, ...(fixture.snapshots ?? []).map((s) => s.keys)];
    for (const state of states) for (const key of Object.keys(state)) names.add(key);
  }
  return [...names].sort();
}

/** Rebuilds a fixture key with our builders, taking the variable part from the key itself. */
function rebuild(keys: ResqueKeys, key: string): string | null {
  const rest = key.slice(keys.prefix.length);
  const fixed: Record<string, string> = {
    queues: keys.queues,
    workers: keys.workers,
    'workers:heartbeat': keys.heartbeats,
    pruning_dead_workers_in_progress: keys.pruneLock,
    'stat:processed': keys.statProcessed(),
    'stat:failed': keys.statFailed(),
    failed: keys.failed,
    delayed_queue_schedule: keys.delayedSchedule,
    'delayed:last_enqueued_at': keys.lastEnqueuedAt,
    persistent_schedules: keys.persistentSchedules,
    schedules_changed: keys.schedulesChanged,
    'resque:resque_scheduler_master_lock': keys.schedulerLock(),
  };
  if (fixed[rest] !== undefined) return fixed[rest];
  let m: RegExpExecArray | null;
  if ((m = /^queue:(.+)$/.exec(rest))) return keys.queue(m[1]!);
  if ((m = /^worker:(.+):started$/.exec(rest))) return keys.workerStarted(m[1]!);
  if ((m = /^worker:(.+)$/.exec(rest))) return keys.worker(m[1]!);
  if ((m = /^stat:processed:(.+)$/.exec(rest))) return keys.statProcessed(m[1]);
  if ((m = /^stat:failed:(.+)$/.exec(rest))) return keys.statFailed(m[1]);
  if ((m = /^job:([0-9a-f]{32}):status$/.exec(rest))) return keys.status(m[1]!);
  if ((m = /^delayed:(\d+)$/.exec(rest))) return keys.delayed(Number(m[1]!));
  if ((m = /^timestamps:(\{.*\})$/s.exec(rest))) return keys.timestamps(m[1]!);
  return null;
}

describe('ResqueKeys (checklist item 1)', () => {
  it('defaults to the resque: namespace', () => {
    for (const keys of [new ResqueKeys(), new ResqueKeys(undefined), new ResqueKeys(null)]) {
      expect(keys.namespace).toBe('resque');
      expect(keys.prefix).toBe('resque:');
      expect(keys.queue('default')).toBe('resque:queue:default');
      expect(keys.queues).toBe('resque:queues');
    }
    expect(DEFAULT_NAMESPACE).toBe('resque');
  });

  it("gives the same foo: keys for 'foo' and 'foo:' (PREFIX forms)", () => {
    const a = new ResqueKeys('foo');
    const b = new ResqueKeys('foo:');
    expect(a.prefix).toBe('foo:');
    expect(b.prefix).toBe('foo:');
    const samples = (k: ResqueKeys): string[] => [
      k.queues,
      k.queue('q'),
      k.workers,
      k.worker('h:1:q'),
      k.workerStarted('h:1:q'),
      k.workerClaim('h:1:q'),
      k.heartbeats,
      k.pruneLock,
      k.pauseAll,
      k.statProcessed(),
      k.statProcessed('h:1:q'),
      k.statFailed(),
      k.statFailed('h:1:q'),
      k.failed,
      k.status('abc'),
      k.status('abc', 'x'),
      k.delayedSchedule,
      k.delayed(5),
      k.timestamps('{}'),
      k.lastEnqueuedAt,
      k.persistentSchedules,
      k.schedulesChanged,
      k.schedulerLock(),
    ];
    expect(samples(a)).toEqual(samples(b));
    for (const key of samples(a)) {
      expect(key.startsWith('foo:')).toBe(true);
      expect(key.startsWith('foo::')).toBe(false);
    }
    expect(a.queue('default')).toBe('foo:queue:default');
  });

  it('strips only one trailing colon and refuses an empty namespace', () => {
    expect(normalizeNamespace('app::')).toBe('app:');
    expect(normalizeNamespace('app')).toBe('app');
    expect(() => new ResqueKeys('')).toThrow(RangeError);
    expect(() => new ResqueKeys(':')).toThrow(RangeError);
    expect(() => normalizeNamespace(5 as unknown as string)).toThrow(TypeError);
  });

  it('builds every key name found in the golden fixtures, byte for byte', () => {
    const keys = new ResqueKeys();
    const names = allKeyNames();
    expect(names.length).toBeGreaterThan(15);
    for (const name of names) {
      expect(name.startsWith('resque:'), name).toBe(true);
      expect(rebuild(keys, name), name).toBe(name);
    }
  });

  it('names the fixed keys as Ruby and PHP do', () => {
    const k = new ResqueKeys();
    expect(k.workers).toBe('resque:workers');
    expect(k.worker('vm:1185:default')).toBe('resque:worker:vm:1185:default');
    expect(k.workerStarted('vm:1185:default')).toBe('resque:worker:vm:1185:default:started');
    expect(k.heartbeats).toBe('resque:workers:heartbeat');
    expect(k.pruneLock).toBe('resque:pruning_dead_workers_in_progress');
    expect(k.pauseAll).toBe('resque:pause-all-workers');
    expect(k.statProcessed()).toBe('resque:stat:processed');
    expect(k.statProcessed('vm:1185:default')).toBe('resque:stat:processed:vm:1185:default');
    expect(k.statFailed()).toBe('resque:stat:failed');
    expect(k.statFailed('vm:1873:default')).toBe('resque:stat:failed:vm:1873:default');
    expect(k.failed).toBe('resque:failed');
    expect(k.delayedSchedule).toBe('resque:delayed_queue_schedule');
    expect(k.delayed(1893456000)).toBe('resque:delayed:1893456000');
    expect(k.delayed('1893456000')).toBe('resque:delayed:1893456000');
    expect(k.lastEnqueuedAt).toBe('resque:delayed:last_enqueued_at');
    expect(k.persistentSchedules).toBe('resque:persistent_schedules');
    expect(k.schedulesChanged).toBe('resque:schedules_changed');
  });

  it('has the namespace twice in the scheduler lock key (ruby-scheduler-lock)', () => {
    const fixture = readFixture('ruby-scheduler-lock');
    const [lockKey] = Object.keys(fixture.keys);
    expect(new ResqueKeys().schedulerLock()).toBe(lockKey);
    expect(new ResqueKeys().schedulerLock()).toBe('resque:resque:resque_scheduler_master_lock');
    expect(new ResqueKeys('foo:').schedulerLock()).toBe('foo:foo:resque_scheduler_master_lock');
    // resque-scheduler: "#{namespace}:#{RESQUE_SCHEDULER_MASTER_LOCK_PREFIX}:resque_scheduler_master_lock"
    expect(new ResqueKeys().schedulerLock('my.prefix')).toBe('resque:resque:my.prefix:resque_scheduler_master_lock');
    expect(new ResqueKeys().schedulerLock('')).toBe('resque:resque:resque_scheduler_master_lock');
  });

  it("builds status keys, with the PHP fork's prefix form (checklist item 14)", () => {
    const k = new ResqueKeys();
    const id = '96402b8a278ea1aaef323f6b322ff84b';
    expect(k.status(id)).toBe(`resque:job:${id}:status`);
    expect(Object.keys(readFixture('php-enqueue-tracked').keys)).toContain(k.status(id));
    expect(k.status(id, 'x')).toBe(`resque:job:x_${id}:status`);
    expect(k.status(id, '')).toBe(`resque:job:${id}:status`);
    expect(k.status(id, null)).toBe(`resque:job:${id}:status`);
  });

  it('builds timestamps:<json> keys from the exact item bytes, and their delayed:<ts> members (ruby-delayed)', () => {
    const fixture = readFixture('ruby-delayed');
    const k = new ResqueKeys();
    const items = fixture.keys['resque:delayed:1893456000']!.value as string[];
    expect(items).toHaveLength(2);
    for (const item of items) {
      const entry = fixture.keys[k.timestamps(item)];
      expect(entry, item).toBeDefined();
      expect(entry!.type).toBe('set');
      expect(entry!.value).toContain(k.delayedMember(1893456000));
    }
    expect(k.delayedMember(1893456000)).toBe('delayed:1893456000');
    expect(k.timestamps('{"a":"é/"}')).toBe('resque:timestamps:{"a":"é/"}');
  });

  it('reads the queue name back from a full queue key (BLPOP replies)', () => {
    const k = new ResqueKeys('app:');
    expect(k.queueNameFromKey(k.queue('default'))).toBe('default');
    expect(k.queueNameFromKey(k.queue('a:b'))).toBe('a:b');
  });
});

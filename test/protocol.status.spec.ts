import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  decodeStatus,
  encodeStatus,
  isFinished,
  JobStatus,
  STATUS_TTL_SECONDS,
} from '../lib/protocol/protocol.status.js';
import { FIXTURES_DIR, readFixture, type FixtureKey } from './support/fixtures.js';

/** Every job:<id>:status key in every fixture state. */
function fixtureStatuses(): Array<{ where: string; entry: FixtureKey }> {
  const out: Array<{ where: string; entry: FixtureKey }> = [];
  for (const file of readdirSync(FIXTURES_DIR).filter((f) => f.endsWith('.json'))) {
    const fixture = readFixture(file.slice(0, -5));
    const states = [{ label: 'keys', keys: fixture.keys }, ...(fixture.snapshots ?? [])];
    for (const state of states) {
      for (const [key, entry] of Object.entries(state.keys)) {
        if (/^resque:job:[0-9a-f]{32}:status$/.test(key)) out.push({ where: `${fixture.scenario}/${state.label}`, entry });
      }
    }
  }
  return out;
}

describe('JobStatus codes', () => {
  it('are the verified php-resque codes', () => {
    expect([JobStatus.WAITING, JobStatus.RUNNING, JobStatus.FAILED, JobStatus.COMPLETE]).toEqual([1, 2, 3, 4]);
    expect(STATUS_TTL_SECONDS).toBe(86400);
    expect(isFinished(JobStatus.WAITING)).toBe(false);
    expect(isFinished(JobStatus.RUNNING)).toBe(false);
    expect(isFinished(JobStatus.FAILED)).toBe(true);
    expect(isFinished(JobStatus.COMPLETE)).toBe(true);
  });
});

describe('decodeStatus on the fixtures', () => {
  const statuses = fixtureStatuses();

  it('reads every packet, and finished ones are exactly those php-resque gave the 86400 s ttl', () => {
    const seen = new Set<number>();
    for (const { where, entry } of statuses) {
      const raw = entry.value as string;
      const parsed = JSON.parse(raw) as { status: number; updated: number; started?: number };
      const info = decodeStatus(raw);
      expect(info, where).not.toBeNull();
      expect(info!.status, where).toBe(parsed.status);
      expect(info!.updated, where).toBe(parsed.updated);
      expect(info!.started, where).toBe(parsed.started ?? null);
      expect(info!.result, where).toBeNull();
      expect(entry.ttl, where).toBe(isFinished(info!.status) ? STATUS_TTL_SECONDS : -1);
      seen.add(info!.status);
    }
    expect([...seen].sort()).toEqual([1, 2, 3, 4]);
  });

  it('reads the WAITING packet with started, and php-resque updates without it', () => {
    const tracked = readFixture('php-enqueue-tracked');
    const waiting = tracked.keys['resque:job:96402b8a278ea1aaef323f6b322ff84b:status']!.value as string;
    expect(decodeStatus(waiting)).toEqual({ status: JobStatus.WAITING, updated: 1795726920, started: 1795726920, result: null, progress: null });
    const busy = readFixture('php-worker-busy').keys['resque:job:e5bf5ce7f19887b6fd58a2db245ce079:status']!.value as string;
    expect(decodeStatus(busy)).toEqual({ status: JobStatus.RUNNING, updated: 1795726923, started: null, result: null, progress: null });
    const failed = readFixture('php-status-failed').keys['resque:job:55e3c66d8ea6ba78540e7bb0d2c2b7ee:status']!.value as string;
    expect(decodeStatus(failed)).toEqual({ status: JobStatus.FAILED, updated: 1795726940, started: null, result: null, progress: null });
    const complete = readFixture('php-status-complete').keys['resque:job:8e35ff9a0016d1fa7f25b4205be3488b:status']!
      .value as string;
    expect(decodeStatus(complete)).toEqual({ status: JobStatus.COMPLETE, updated: 1795726939, started: null, result: null, progress: null });
  });
});

describe('decodeStatus on other input', () => {
  it("reads the PHP fork's result and a started of 0", () => {
    expect(decodeStatus('{"status":4,"updated":10,"started":0,"result":{"x":[1]}}')).toEqual({
      status: JobStatus.COMPLETE,
      updated: 10,
      started: 0,
      result: { x: [1] },
      progress: null,
    });
    expect(decodeStatus('{"status":1,"updated":10,"started":10,"result":null}')!.result).toBeNull();
  });

  it('reads our progress field: a number or an object; another writer\'s value of another type reads as none', () => {
    expect(decodeStatus('{"status":2,"updated":10,"started":10,"progress":42.5}')!.progress).toBe(42.5);
    expect(decodeStatus('{"status":4,"updated":10,"progress":{"done":3,"total":7},"result":null}')!.progress).toEqual({ done: 3, total: 7 });
    expect(decodeStatus('{"status":2,"updated":10,"progress":"half"}')!.progress).toBeNull();
    expect(decodeStatus('{"status":2,"updated":10,"progress":[1]}')!.progress).toBeNull();
    expect(encodeStatus({ status: JobStatus.RUNNING, updated: 5, started: 1, progress: 7 })).toBe('{"status":2,"updated":5,"started":1,"progress":7}');
  });

  it('returns null for a missing key or a packet that is not a status', () => {
    for (const raw of [null, '', 'garbage', '[]', '"4"', '{}', '{"status":0}', '{"status":5}', '{"status":2.5}', '{"status":"x"}']) {
      expect(decodeStatus(raw), String(raw)).toBeNull();
    }
  });
});

describe('encodeStatus', () => {
  it('writes the WAITING packet byte-identical to php-resque (php-enqueue-tracked)', () => {
    const fixture = readFixture('php-enqueue-tracked');
    const raw = fixture.keys['resque:job:96402b8a278ea1aaef323f6b322ff84b:status']!.value as string;
    expect(encodeStatus({ status: JobStatus.WAITING, updated: 1795726920, started: 1795726920 })).toBe(raw);
  });

  it('keeps started on updates (checklist item 13) and stores result', () => {
    const running = encodeStatus({ status: JobStatus.RUNNING, updated: 20, started: 10 });
    expect(running).toBe('{"status":2,"updated":20,"started":10}');
    const complete = encodeStatus({ status: JobStatus.COMPLETE, updated: 30, started: 10, result: { ok: true } });
    expect(JSON.parse(complete)).toEqual({ status: 4, updated: 30, started: 10, result: { ok: true } });
    expect(Object.keys(JSON.parse(complete) as object)).toEqual(['status', 'updated', 'started', 'result']);
    expect(decodeStatus(complete)).toEqual({ status: 4, updated: 30, started: 10, result: { ok: true }, progress: null });
    expect(encodeStatus({ status: JobStatus.FAILED, updated: 5 })).toBe('{"status":3,"updated":5}');
    expect(encodeStatus({ status: JobStatus.COMPLETE, updated: 5, result: 0 })).toBe('{"status":4,"updated":5,"result":0}');
  });

  it('leaves out members that are undefined, and drops foreign ones', () => {
    const packet = { status: JobStatus.RUNNING, updated: 7, started: undefined, result: undefined, extra: 1 };
    expect(encodeStatus(packet)).toBe('{"status":2,"updated":7}');
  });
});

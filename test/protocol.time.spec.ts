import { readdirSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import {
  parseResqueTime,
  phpStrftime,
  rubyFailedAt,
  rubyHeartbeat,
  rubyIsoUtc,
  rubyTimeToS,
  unixSeconds,
} from '../lib/protocol/protocol.time.js';
import { FIXTURES_DIR, readFixture, type FixtureKeys } from './support/fixtures.js';

type Kind = 'run_at' | 'started' | 'heartbeat' | 'failed_at' | 'retried_at' | 'last_enqueued_at';
interface FoundTime {
  where: string;
  kind: Kind;
  producer: 'php' | 'ruby';
  text: string;
  /** Unix seconds when the state was read: every time in it is at most a minute older. */
  takenAt: number;
}

/** Every time string the peers wrote into the fixtures. */
function fixtureTimes(): FoundTime[] {
  const found: FoundTime[] = [];
  for (const file of readdirSync(FIXTURES_DIR).filter((f) => f.endsWith('.json'))) {
    const fixture = readFixture(file.slice(0, -5));
    const keysTakenAt = Number(/at unix ([\d.]+)\)/.exec(fixture.keys_state)![1]);
    const states: Array<[string, number, FixtureKeys]> = [
      ['keys', keysTakenAt, fixture.keys],
      ...(fixture.snapshots ?? []).map((s): [string, number, FixtureKeys] => [s.label, s.taken_at, s.keys]),
    ];
    for (const [label, takenAt, state] of states) {
      for (const [key, entry] of Object.entries(state)) {
        const where = `${fixture.scenario}/${label}/${key}`;
        const add = (kind: Kind, text: string, producer: 'php' | 'ruby'): void => {
          found.push({ where: `${where} ${kind}`, kind, text, producer, takenAt });
        };
        // The text itself says who wrote it (a Ruby requeue re-writes a PHP entry).
        const producerOf = (text: string): 'php' | 'ruby' => (/^[A-Z][a-z]{2} /.test(text) ? 'php' : 'ruby');
        if (/^resque:worker:[^:]+:\d+:[^:]+:started$/.test(key)) add('started', entry.value as string, producerOf(entry.value as string));
        else if (/^resque:worker:[^:]+:\d+:[^:]+$/.test(key)) {
          const runAt = (JSON.parse(entry.value as string) as { run_at: string }).run_at;
          add('run_at', runAt, producerOf(runAt));
        } else if (key === 'resque:workers:heartbeat') {
          for (const text of Object.values(entry.value as Record<string, string>)) add('heartbeat', text, 'ruby');
        } else if (key === 'resque:delayed:last_enqueued_at') {
          for (const text of Object.values(entry.value as Record<string, string>)) add('last_enqueued_at', text, 'ruby');
        } else if (key === 'resque:failed') {
          for (const item of entry.value as string[]) {
            const record = JSON.parse(item) as { failed_at: string; retried_at?: string };
            add('failed_at', record.failed_at, producerOf(record.failed_at));
            if (record.retried_at !== undefined) add('retried_at', record.retried_at, 'ruby');
          }
        }
      }
    }
  }
  return found;
}

/** Our writer for each Ruby field. */
const RUBY_WRITERS: Record<Kind, (d: Date) => string> = {
  run_at: rubyIsoUtc,
  started: rubyTimeToS,
  heartbeat: rubyHeartbeat,
  failed_at: rubyFailedAt,
  retried_at: rubyFailedAt,
  last_enqueued_at: rubyTimeToS,
};

const shape = (text: string): RegExp => new RegExp(`^${text.replace(/\d/g, '\\d').replace(/[+/]/g, '\\$&')}$`);

describe('parseResqueTime on the fixtures', () => {
  const times = fixtureTimes();

  it('finds every kind of time string from both producers', () => {
    const kinds = new Set(times.map((t) => `${t.producer}:${t.kind}`));
    for (const expected of [
      'php:run_at',
      'php:started',
      'php:failed_at',
      'ruby:run_at',
      'ruby:started',
      'ruby:heartbeat',
      'ruby:failed_at',
      'ruby:retried_at',
      'ruby:last_enqueued_at',
    ]) {
      expect(kinds, expected).toContain(expected);
    }
  });

  it('reads each one as an instant at most a minute before the state was read', () => {
    for (const t of times) {
      const date = parseResqueTime(t.text);
      expect(date, t.where).toBeInstanceOf(Date);
      const seconds = date!.getTime() / 1000;
      expect(Number.isInteger(seconds), t.where).toBe(true);
      expect(seconds, `${t.where} ${t.text}`).toBeLessThanOrEqual(t.takenAt);
      expect(seconds, `${t.where} ${t.text}`).toBeGreaterThan(t.takenAt - 60);
    }
  });

  it('reads the documented examples to the exact instant', () => {
    const utc = (s: number): number => Date.UTC(2026, 10, 26, 21, 2, s);
    const examples: Array<[string, number]> = [
      ['Thu Nov 26 21:02:03 UTC 2026', utc(3)], // php run_at
      ['Thu Nov 26 21:02:01 UTC 2026', utc(1)], // php started
      ['Thu Nov 26 21:02:21 UTC 2026', utc(21)], // php failed_at
      ['2026-11-26T21:02:12Z', utc(12)], // ruby run_at
      ['2026-11-26 21:02:10 +0000', utc(10)], // ruby started
      ['2026-11-26T21:02:10+00:00', utc(10)], // ruby heartbeat
      ['2026/11/26 21:02:23 UTC', utc(23)], // ruby failed_at
      ['2026/11/26 21:02:24 UTC', utc(24)], // ruby retried_at
      ['2026-11-26 21:03:00 +0000', Date.UTC(2026, 10, 26, 21, 3, 0)], // last_enqueued_at
    ];
    for (const [text, ms] of examples) {
      expect(times.map((t) => t.text), text).toContain(text);
      expect(parseResqueTime(text)?.getTime(), text).toBe(ms);
    }
  });

  it('round-trips every Ruby time string through our writer, byte for byte', () => {
    const ruby = times.filter((t) => t.producer === 'ruby');
    expect(ruby.length).toBeGreaterThan(10);
    for (const t of ruby) {
      const ours = RUBY_WRITERS[t.kind](parseResqueTime(t.text)!);
      expect(ours, t.where).toMatch(shape(t.text));
      expect(ours, t.where).toBe(t.text);
    }
  });

  it('round-trips every PHP strftime string through phpStrftime', () => {
    const php = times.filter((t) => t.producer === 'php');
    expect(php.length).toBeGreaterThan(5);
    for (const t of php) expect(phpStrftime(parseResqueTime(t.text)!), t.where).toBe(t.text);
  });

  it('reads status packet times (unix seconds) to the same instants', () => {
    const fixture = readFixture('php-enqueue-tracked');
    const packet = JSON.parse(Object.values(fixture.keys).find((k) => k.type === 'string')!.value as string) as {
      updated: number;
    };
    expect(parseResqueTime(packet.updated)?.getTime()).toBe(packet.updated * 1000);
    expect(parseResqueTime(String(packet.updated))?.getTime()).toBe(packet.updated * 1000);
  });
});

describe('parseResqueTime on other peers and edge cases', () => {
  const at = Date.UTC(2024, 2, 5, 14, 3, 11);
  it.each([
    ['2024-03-05T14:03:11+01:00', at - 3600_000], // PF date('c')
    ['2024-03-05 14:03:11 +0530', at - 5.5 * 3600_000], // Ruby Time#to_s on a non-UTC host
    ['2024-03-05 14:03:11 -0800', at + 8 * 3600_000],
    ['2024/03/05 14:03:11 -0800', at + 8 * 3600_000], // Ruby failed_at %Z as an offset
    ['Tue Mar 05 14:03:11 GMT 2024', at],
    ['Tue Mar  5 14:03:11 UTC 2024', at], // space-padded day
    ['Tue Mar 05 2024 14:03:11 GMT+0000 (Coordinated Universal Time)', at], // node-resque Date#toString
    ['1709647391', at], // node-resque unix seconds
    ['1709647391.5', at + 500],
    [' 2024-03-05T14:03:11Z ', at],
  ])('reads %j', (text, ms) => {
    expect(parseResqueTime(text)?.getTime()).toBe(ms);
  });

  it('reads unix numbers and refuses what is not a time', () => {
    expect(parseResqueTime(1709647391)?.getTime()).toBe(at);
    expect(parseResqueTime(Number.NaN)).toBeNull();
    expect(parseResqueTime(null)).toBeNull();
    expect(parseResqueTime(undefined)).toBeNull();
    expect(parseResqueTime('')).toBeNull();
    expect(parseResqueTime('not a time')).toBeNull();
    expect(parseResqueTime('Tue Foo 05 14:03:11 UTC 2024')).toBeNull();
  });
});

describe('time writers', () => {
  const date = new Date(Date.UTC(2024, 2, 5, 4, 3, 1, 789));
  const savedTz = process.env['TZ'];
  afterEach(() => {
    if (savedTz === undefined) delete process.env['TZ'];
    else process.env['TZ'] = savedTz;
  });

  it("write Ruby's formats (and PHP's strftime) with zero padding and no milliseconds", () => {
    expect(rubyIsoUtc(date)).toBe('2024-03-05T04:03:01Z');
    expect(rubyTimeToS(date)).toBe('2024-03-05 04:03:01 +0000');
    expect(rubyHeartbeat(date)).toBe('2024-03-05T04:03:01+00:00');
    expect(rubyFailedAt(date)).toBe('2024/03/05 04:03:01 UTC');
    expect(phpStrftime(date)).toBe('Tue Mar 05 04:03:01 UTC 2024');
    for (const write of [rubyIsoUtc, rubyTimeToS, rubyHeartbeat, rubyFailedAt, phpStrftime]) {
      expect(parseResqueTime(write(date))?.getTime()).toBe(Math.floor(date.getTime() / 1000) * 1000);
    }
  });

  it('write UTC whatever the local time zone', () => {
    process.env['TZ'] = 'Asia/Tokyo'; // 2024-12-31 23:59:59Z is 2025-01-01 locally
    expect(new Date(Date.UTC(2024, 0, 1, 2)).getHours()).not.toBe(2); // the zone did change
    const late = new Date(Date.UTC(2024, 11, 31, 23, 59, 59));
    expect(rubyIsoUtc(late)).toBe('2024-12-31T23:59:59Z');
    expect(rubyTimeToS(late)).toBe('2024-12-31 23:59:59 +0000');
    expect(rubyFailedAt(late)).toBe('2024/12/31 23:59:59 UTC');
    expect(phpStrftime(late)).toBe('Tue Dec 31 23:59:59 UTC 2024');
    expect(parseResqueTime('2024/12/31 23:59:59 UTC')?.getTime()).toBe(late.getTime());
    expect(parseResqueTime('Tue Dec 31 23:59:59 UTC 2024')?.getTime()).toBe(late.getTime());
  });

  it('unixSeconds floors to whole seconds', () => {
    expect(unixSeconds(new Date(1709647391999))).toBe(1709647391);
    expect(unixSeconds(new Date(1709647391000))).toBe(1709647391);
    const now = unixSeconds();
    expect(Number.isInteger(now)).toBe(true);
    expect(Math.abs(now - Date.now() / 1000)).toBeLessThan(5);
  });
});

import { Cron } from 'croner';

/** When a recurring schedule fires: the first tick strictly after a moment (ms), or null for never. */
export interface ScheduleTiming {
  next(afterMs: number): number | null;
}

const UNIT_MS: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

/** rufus durations: `"30s"`, `"5m"`, `"1h30m"`, `"2d"`, `"1w"`, or a bare number of seconds. */
export function parseEvery(text: string, what: string): number {
  const source = text.trim();
  if (/^\d+(\.\d+)?$/.test(source)) return positive(Number(source) * 1000, text, what);
  const pattern = /(\d+(?:\.\d+)?)(ms|s|m|h|d|w)/gy;
  let total = 0;
  let index = 0;
  let match: RegExpExecArray | null;
  while ((match = pattern.exec(source)) !== null) {
    const [, amount, unit = ''] = match;
    total += Number(amount) * (UNIT_MS[unit] ?? Number.NaN); // the pattern only matches known units
    index = pattern.lastIndex;
  }
  if (source === '' || index !== source.length) {
    throw new RangeError(`${what} must be a duration like "30s", "5m", "1h" or "1h30m", got ${JSON.stringify(text)}`);
  }
  return positive(total, text, what);
}

function positive(ms: number, text: string, what: string): number {
  if (!Number.isFinite(ms) || ms < 1000) {
    throw new RangeError(`${what} must be at least one second, got ${JSON.stringify(text)}`);
  }
  return Math.round(ms);
}

/** Ticks at multiples of the period since the epoch: every scheduler computes the same ticks. */
export function everyTiming(periodMs: number): ScheduleTiming {
  return { next: (afterMs) => (Math.floor(afterMs / periodMs) + 1) * periodMs };
}

/** Splits rufus' trailing zone off a cron line (`"0 5 * * * Europe/Paris"`). */
export function splitCronZone(line: string): { pattern: string; timezone: string | undefined } {
  const parts = line.trim().split(/\s+/);
  const last = parts[parts.length - 1];
  if (parts.length >= 6 && last !== undefined && isZoneName(last)) {
    return { pattern: parts.slice(0, -1).join(' '), timezone: last };
  }
  return { pattern: parts.join(' '), timezone: undefined };
}

function isZoneName(token: string): boolean {
  if (token === 'UTC' || token === 'GMT' || token === 'Z') return true;
  return /^[A-Za-z][A-Za-z_-]*(\/[A-Za-z0-9_+-]+)+$/.test(token);
}

/** Throws a RangeError naming the schedule when the zone is not an IANA name the runtime knows. */
export function assertTimezone(timezone: string, what: string): void {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: timezone });
  } catch {
    throw new RangeError(`${what} has an unknown timezone ${JSON.stringify(timezone)} (use an IANA name such as "Europe/Paris")`);
  }
}

/** 5-field (minute first) or 6-field (seconds first) cron via croner; never starts a timer. */
export function cronTiming(line: string, timezone: string | undefined, what: string): ScheduleTiming {
  const split = splitCronZone(line);
  if (split.timezone !== undefined && timezone !== undefined && split.timezone !== timezone) {
    throw new RangeError(`${what} names two timezones: ${split.timezone} in cron and ${timezone} in timezone`);
  }
  const zone = timezone ?? split.timezone;
  if (zone !== undefined) assertTimezone(zone, what);
  let cron: Cron;
  try {
    cron = new Cron(split.pattern, { paused: true, ...(zone !== undefined ? { timezone: zone } : {}) });
  } catch (error) {
    throw new RangeError(`${what} has an invalid cron ${JSON.stringify(line)}: ${(error as Error).message}`, { cause: error });
  }
  return {
    next: (afterMs) => {
      const next = cron.nextRun(new Date(afterMs));
      return next ? next.getTime() : null;
    },
  };
}

/**
 * The time formats Resque peers write (resque-protocol.md §6–§7). We write Ruby's, and read them all.
 * All in UTC, as Ruby workers on a UTC host and php-resque with date.timezone=UTC write them.
 */
const pad = (n: number, width = 2): string => String(n).padStart(width, '0');
const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

function parts(d: Date) {
  return {
    y: d.getUTCFullYear(),
    mo: pad(d.getUTCMonth() + 1),
    d: pad(d.getUTCDate()),
    h: pad(d.getUTCHours()),
    mi: pad(d.getUTCMinutes()),
    s: pad(d.getUTCSeconds()),
  };
}

/** Ruby `run_at` in `worker:<id>`: `2024-03-05T14:03:11Z`. */
export function rubyIsoUtc(date: Date): string {
  const p = parts(date);
  return `${p.y}-${p.mo}-${p.d}T${p.h}:${p.mi}:${p.s}Z`;
}

/** Ruby `Time#to_s`: `worker:<id>:started` and `delayed:last_enqueued_at`: `2024-03-05 14:03:11 +0000`. */
export function rubyTimeToS(date: Date): string {
  const p = parts(date);
  return `${p.y}-${p.mo}-${p.d} ${p.h}:${p.mi}:${p.s} +0000`;
}

/** Ruby `workers:heartbeat` values: `2024-03-05T14:03:11+00:00`. */
export function rubyHeartbeat(date: Date): string {
  const p = parts(date);
  return `${p.y}-${p.mo}-${p.d}T${p.h}:${p.mi}:${p.s}+00:00`;
}

/** Ruby `failed_at` / `retried_at`: `2024/03/05 14:03:11 UTC`. */
export function rubyFailedAt(date: Date): string {
  const p = parts(date);
  return `${p.y}/${p.mo}/${p.d} ${p.h}:${p.mi}:${p.s} UTC`;
}

/** php-resque's strftime('%a %b %d %H:%M:%S %Z %Y'): `Tue Mar 05 14:03:11 UTC 2024` (read side and tests). */
export function phpStrftime(date: Date): string {
  const p = parts(date);
  return `${DAYS[date.getUTCDay()]} ${MONTHS[date.getUTCMonth()]} ${p.d} ${p.h}:${p.mi}:${p.s} UTC ${p.y}`;
}

const RUBY_SLASHED = /^(\d{4})\/(\d{2})\/(\d{2}) (\d{2}):(\d{2}):(\d{2}) (UTC|[+-]\d{4})$/;
const RUBY_TO_S = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2}):?(\d{2})$/;
const PHP_STRFTIME = /^[A-Z][a-z]{2} ([A-Z][a-z]{2}) +(\d{1,2}) (\d{2}):(\d{2}):(\d{2}) ([A-Z]{1,5}) (\d{4})$/;

/**
 * Reads any Resque time string or unix number: Ruby (ISO `Z`, `Time#to_s`, `failed_at`), php-resque
 * (strftime), the PHP fork (ISO with offset), node-resque (JS `Date#toString`, unix seconds). Null if unreadable.
 */
export function parseResqueTime(value: string | number | null | undefined): Date | null {
  if (value === null || value === undefined || value === '') return null;
  if (typeof value === 'number') return Number.isFinite(value) ? new Date(value * 1000) : null;
  const text = value.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return new Date(Number(text) * 1000);
  let m = RUBY_SLASHED.exec(text);
  if (m) {
    const zone = m[7] ?? 'UTC';
    const offset = zone === 'UTC' ? '+0000' : zone;
    return validDate(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}${offset.slice(0, 3)}:${offset.slice(3)}`);
  }
  m = RUBY_TO_S.exec(text);
  if (m) return validDate(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}${m[7]}${m[8]}:${m[9]}`);
  m = PHP_STRFTIME.exec(text);
  if (m) {
    const month = MONTHS.indexOf(m[1] ?? '');
    if (month < 0) return null;
    // php-resque writes the zone abbreviation; only UTC/GMT are unambiguous, others are read as UTC.
    return new Date(Date.UTC(Number(m[7]), month, Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5])));
  }
  return validDate(text);
}

function validDate(text: string): Date | null {
  const d = new Date(text);
  return Number.isNaN(d.getTime()) ? null : d;
}

/** Unix seconds (integer), as php-resque's status packets and the delayed schedule use. */
export function unixSeconds(date: Date = new Date()): number {
  return Math.floor(date.getTime() / 1000);
}

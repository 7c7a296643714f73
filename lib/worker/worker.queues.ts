/**
 * Which queues a worker polls, in priority order (resque-protocol.md §4, Ruby's semantics):
 * - literal names are polled in the given order;
 * - entries with `* ? [ ]` (or a leading `!`) make the list dynamic: each pattern is fnmatch'ed against
 *   `SMEMBERS queues`, its matches sorted bytewise and appended in pattern order, deduplicated; `!pat`
 *   removes matches. So `critical,*` keeps `critical` first. Braces are literal (Ruby passes no EXTGLOB).
 */
export class QueueSelection {
  /** As configured, `*` kept: this goes into the worker id. */
  readonly configured: readonly string[];
  /** True when no entry is a pattern: the list never changes and SMEMBERS is never read. */
  readonly isLiteral: boolean;
  private readonly matchers: ReadonlyArray<{ pattern: string; exclude: boolean; literal: boolean; regex: RegExp }>;

  constructor(queues: readonly string[]) {
    this.configured = [...queues];
    this.matchers = queues.map((entry) => {
      const exclude = entry.startsWith('!');
      const pattern = exclude ? entry.slice(1) : entry;
      const literal = !exclude && !/[*?[\]]/.test(pattern);
      return { pattern, exclude, literal, regex: fnmatchRegExp(pattern) };
    });
    this.isLiteral = this.matchers.every((m) => m.literal);
  }

  /** The queues to poll now, given the known queue names (ignored when literal). */
  resolve(known: readonly string[]): string[] {
    if (this.isLiteral) return [...this.configured];
    const sorted = [...known].sort(compareBytes);
    const out: string[] = [];
    const seen = new Set<string>();
    for (const m of this.matchers) {
      if (m.exclude) continue;
      const matches = m.literal ? [m.pattern] : sorted.filter((q) => m.regex.test(q));
      for (const q of matches) {
        if (seen.has(q)) continue;
        seen.add(q);
        out.push(q);
      }
    }
    const excluded = this.matchers.filter((m) => m.exclude);
    return excluded.length === 0 ? out : out.filter((q) => !excluded.some((m) => m.regex.test(q)));
  }
}

export function compareBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/**
 * Ruby `File.fnmatch(pattern, name)` without flags: `*` (also across `/`), `?`, `[set]`/`[!set]`/`[^set]`,
 * `\x` escapes; a leading `.` in the name is only matched by a literal leading `.` (no FNM_DOTMATCH).
 */
export function fnmatchRegExp(pattern: string): RegExp {
  let out = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern.charAt(i);
    if (c === '*') out += '.*';
    else if (c === '?') out += '.';
    else if (c === '\\' && i + 1 < pattern.length) out += escapeRegExp(pattern.charAt(++i));
    else if (c === '[') {
      const close = pattern.indexOf(']', i + 2);
      if (close < 0) {
        out += '\\[';
        continue;
      }
      let body = pattern.slice(i + 1, close);
      let negate = false;
      if (body.startsWith('!') || body.startsWith('^')) {
        negate = true;
        body = body.slice(1);
      }
      out += `[${negate ? '^' : ''}${body.replace(/[\\\]^]/g, (m) => `\\${m}`)}]`;
      i = close;
    } else out += escapeRegExp(c);
  }
  const dotGuard = pattern.startsWith('.') ? '' : '(?!\\.)';
  return new RegExp(`^${dotGuard}${out}$`, 's');
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

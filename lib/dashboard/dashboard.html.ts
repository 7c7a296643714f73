/**
 * HTML building with escaping by default: every value interpolated into `html\`\`` is escaped unless it is
 * itself built by `html` (a SafeHtml). Values read from Redis (job args, class names, queue names, errors)
 * therefore can never become markup; URLs are built from fixed paths plus encodeURIComponent'd segments.
 */
export class SafeHtml {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;', '`': '&#96;' };

export function escapeHtml(value: unknown): string {
  return String(value).replace(/[&<>"'`]/g, (c) => ESCAPES[c]!);
}

type Part = SafeHtml | string | number | boolean | null | undefined | readonly Part[];

function render(part: Part): string {
  if (part === null || part === undefined || part === false) return '';
  if (part instanceof SafeHtml) return part.value;
  if (Array.isArray(part)) return (part as readonly Part[]).map(render).join('');
  return escapeHtml(part);
}

export function html(strings: TemplateStringsArray, ...values: Part[]): SafeHtml {
  let out = strings[0] ?? '';
  for (let i = 0; i < values.length; i++) out += render(values[i]) + (strings[i + 1] ?? '');
  return new SafeHtml(out);
}

/** JSON for display (`<code>`), cut at `max` characters so one huge job cannot bloat a list page. */
export function jsonText(value: unknown, max = 400): string {
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

/** `2026-11-29T15:00:00.000Z` → `2026-11-29 15:00:00 UTC`, with a relative age. */
export function timeText(iso: string | number | null | undefined): string {
  if (iso === null || iso === undefined || iso === '') return '—';
  const date = typeof iso === 'number' ? new Date(iso * 1000) : new Date(iso);
  if (Number.isNaN(date.getTime())) return String(iso);
  return `${date.toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC')} (${relative(date.getTime() - Date.now())})`;
}

/** A duration in seconds as `42s`, `5m`, `3h`, `2d`. */
export function ageText(seconds: number): string {
  return relative(-seconds * 1000).replace(/ ago$/, '');
}

function relative(ms: number): string {
  const s = Math.round(Math.abs(ms) / 1000);
  const text = s < 60 ? `${s}s` : s < 3600 ? `${Math.round(s / 60)}m` : s < 86_400 ? `${Math.round(s / 3600)}h` : `${Math.round(s / 86_400)}d`;
  return ms <= 0 ? `${text} ago` : `in ${text}`;
}

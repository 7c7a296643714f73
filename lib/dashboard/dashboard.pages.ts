import type { FailureFilter } from '../admin/admin.types.js';
import type { ResqueProgress } from '../protocol/protocol.progress.js';
import type {
  DelayedJobView,
  DelayedTimestampRow,
  FailedPage,
  FailureView,
  JobView,
  OverviewView,
  Page,
  QueueJobView,
  ScheduleView,
  StatsView,
  WorkerView,
} from './dashboard.data.js';
import { ageText, html, jsonText, timeText, type SafeHtml } from './dashboard.html.js';

/** Ruby's default prune threshold: a heartbeat older than this is shown as stale. */
const STALE_HEARTBEAT_SECONDS = 300;

/** What every page needs besides its data. */
export interface PageContext {
  /** The mount path as the browser sees it (global prefix included), e.g. `/resque`. */
  readonly base: string;
  readonly csrfToken: string;
  readonly readOnly: boolean;
  readonly refreshSeconds: number;
  readonly namespace: string;
}

const TABS: Array<[string, string]> = [
  ['', 'Overview'],
  ['/working', 'Working'],
  ['/workers', 'Workers'],
  ['/failed', 'Failed'],
  ['/delayed', 'Delayed'],
  ['/schedules', 'Schedules'],
  ['/jobs', 'Job'],
  ['/stats', 'Stats'],
];

export function layout(ctx: PageContext, tab: string, title: string, body: SafeHtml): string {
  const nav = TABS.map(([path, label]) => html`<a href="${ctx.base}${path}"${tab === path ? html` aria-current="page"` : ''}>${label}</a>`);
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="csrf-token" content="${ctx.csrfToken}"><meta name="refresh-seconds" content="${ctx.refreshSeconds}">
<title>${title} · Resque</title><link rel="stylesheet" href="${ctx.base}/assets/dashboard.css"></head>
<body><header><strong>Resque</strong> <span class="ns">namespace ${ctx.namespace}</span>${ctx.readOnly ? html` <span class="badge">read-only</span>` : ''}
<label class="refresh"><input type="checkbox" id="auto-refresh"> auto-refresh</label></header>
<nav>${nav}</nav><div id="flash" role="status"></div>
<main id="content"><h1>${title}</h1>${body}</main>
<script src="${ctx.base}/assets/dashboard.js"></script></body></html>`.value;
}

/** A POST button run by the page script (JSON body, CSRF header); absent in read-only mode. */
function action(ctx: PageContext, label: string, path: string, body: Record<string, unknown> = {}, confirm?: string, after?: string): SafeHtml {
  if (ctx.readOnly) return html``;
  return html`<button type="button" data-post="${ctx.base}/api${path}" data-body="${JSON.stringify(body)}"${confirm ? html` data-confirm="${confirm}"` : ''}${after ? html` data-after="${after}"` : ''}>${label}</button>`;
}

function pager(ctx: PageContext, path: string, page: { start: number; count: number; total: number }, query: Record<string, string> = {}): SafeHtml {
  const link = (start: number, label: string): SafeHtml => {
    const params = new URLSearchParams({ ...query, start: String(start) });
    return html`<a href="${ctx.base}${path}?${params.toString()}">${label}</a>`;
  };
  const last = page.start + page.count;
  return html`<p class="pager">${page.start > 0 ? link(Math.max(0, page.start - page.count), '‹ newer') : ''}
 showing ${page.total === 0 ? 0 : page.start + 1}–${Math.min(last, page.total)} of ${page.total}
 ${last < page.total ? link(last, 'older ›') : ''}</p>`;
}

const table = (head: SafeHtml, rows: SafeHtml[], empty: string): SafeHtml =>
  rows.length === 0 ? html`<p class="empty">${empty}</p>` : html`<div class="scroll"><table><thead>${head}</thead><tbody>${rows}</tbody></table></div>`;

const queueHref = (ctx: PageContext, name: string): string => `${ctx.base}/queues/${encodeURIComponent(name)}`;

export function overviewPage(ctx: PageContext, v: OverviewView): string {
  const rows = v.queues.map((q) => html`<tr><td><a href="${queueHref(ctx, q.name)}">${q.name}</a></td><td class="num">${q.size}</td></tr>`);
  rows.push(html`<tr class="failed"><td><a href="${ctx.base}/failed">failed</a></td><td class="num">${v.failedListLength}</td></tr>`);
  const body = html`<ul class="totals"><li><b>${v.processed}</b> processed</li><li><b>${v.failed}</b> failed</li>
<li><b>${v.workers}</b> workers</li><li><b>${v.working.length}</b> working</li><li><b>${v.delayedTimestamps}</b> delayed timestamps</li></ul>
<h2>Queues</h2>${table(html`<tr><th>Queue</th><th class="num">Jobs</th></tr>`, rows, 'No queues.')}
<h2>Working now</h2>${workingTable(ctx, v.working)}`;
  return layout(ctx, '', 'Overview', body);
}

export function queuePage(ctx: PageContext, name: string, page: Page<QueueJobView>): string {
  const rows = page.items.map(
    (j) => html`<tr><td class="num">${j.index}</td><td>${j.className ?? html`<em>unreadable</em>`}</td><td><code>${j.unreadable ? jsonText(j.raw) : jsonText(j.args)}</code></td>
<td><code>${j.id ?? '—'}</code></td><td>${timeText(j.enqueuedAt)}</td><td>${action(ctx, 'Remove', `/queues/${encodeURIComponent(name)}/remove`, { raw: j.raw }, 'Remove this job?')}</td></tr>`,
  );
  const body = html`<p>${page.total} jobs waiting. ${action(ctx, 'Clear queue', `/queues/${encodeURIComponent(name)}/clear`, {}, `Delete every job of ${name}?`)}
${action(ctx, 'Remove queue', `/queues/${encodeURIComponent(name)}/delete`, {}, `Delete ${name} and its jobs?`, ctx.base || '/')}</p>
${pager(ctx, `/queues/${encodeURIComponent(name)}`, page)}
${table(html`<tr><th>#</th><th>Class</th><th>Args</th><th>Id</th><th>Enqueued</th><th></th></tr>`, rows, 'This queue is empty.')}`;
  return layout(ctx, '', `Queue ${name}`, body);
}

function workingTable(ctx: PageContext, workers: WorkerView[]): SafeHtml {
  const rows = workers.map(
    (w) => html`<tr><td>${w.host ?? '—'}:${w.pid ?? '—'}</td><td>${w.job?.queue ? html`<a href="${queueHref(ctx, w.job.queue)}">${w.job.queue}</a>` : '—'}</td>
<td>${w.job?.className ?? '—'}</td><td><code>${jsonText(w.job?.payload?.['args'] ?? null)}</code></td><td>${w.job?.runAt ? timeText(w.job.runAt.toISOString()) : (w.job?.runAtRaw ?? '—')}</td></tr>`,
  );
  return table(html`<tr><th>Where</th><th>Queue</th><th>Class</th><th>Args</th><th>Since</th></tr>`, rows, 'Nothing is being processed.');
}

export function workingPage(ctx: PageContext, workers: WorkerView[]): string {
  return layout(ctx, '/working', 'Working', html`<p>${workers.length} of the registered workers are working.</p>${workingTable(ctx, workers)}`);
}

export function workersPage(ctx: PageContext, workers: WorkerView[]): string {
  const rows = workers.map(
    (w) => html`<tr data-worker="${w.id}"><td>${w.host ?? w.id}</td><td class="num">${w.pid ?? '—'}</td><td>${w.queues.join(', ')}</td><td><span class="kind">${w.kind}</span></td>
<td>${w.state === 'working' ? html`${w.job?.className ?? '?'} on ${w.job?.queue ?? '?'}, since ${w.job?.runAt ? timeText(w.job.runAt.toISOString()) : (w.job?.runAtRaw ?? '?')}` : 'idle'}</td>
<td>${w.started ? timeText(w.started.toISOString()) : (w.startedRaw ?? '—')}</td><td>${w.heartbeatAgeSeconds === null ? 'none' : w.heartbeatAgeSeconds > STALE_HEARTBEAT_SECONDS ? html`<span class="problem">${ageText(w.heartbeatAgeSeconds)} ago (stale)</span>` : `${ageText(w.heartbeatAgeSeconds)} ago`}</td>
<td class="num">${w.processed}</td><td class="num">${w.failed}</td></tr>`,
  );
  const head = html`<tr><th>Host</th><th class="num">Pid</th><th>Queues</th><th>Kind</th><th>Job</th><th>Started</th><th>Heartbeat</th><th class="num">Processed</th><th class="num">Failed</th></tr>`;
  return layout(ctx, '/workers', 'Workers', html`<p>${workers.length} workers registered.</p>${table(head, rows, 'No workers are registered.')}`);
}

function filterQuery(filter: FailureFilter): Record<string, string> {
  const out: Record<string, string> = {};
  if (filter.queue !== undefined) out['queue'] = filter.queue;
  if (filter.class !== undefined) out['class'] = filter.class;
  if (filter.exception !== undefined) out['exception'] = filter.exception;
  return out;
}

function failureRow(ctx: PageContext, f: FailureView): SafeHtml {
  return html`<tr data-index="${f.index}"><td class="num"><a href="${ctx.base}/failed/${f.index}">${f.index}</a></td><td>${f.queue ?? '—'}</td><td>${f.className ?? html`<em>unreadable</em>`}</td>
<td><code>${jsonText(f.args)}</code></td><td><b>${f.exception ?? '—'}</b> ${f.error ?? ''}</td><td>${timeText(f.failedAt)}${f.retriedAt ? html`<br>retried ${timeText(f.retriedAt)}` : ''}</td>
<td>${action(ctx, 'Retry', `/failed/${f.index}/retry`, { raw: f.raw })} ${action(ctx, 'Remove', `/failed/${f.index}/remove`, { raw: f.raw }, 'Remove this failure?')}</td></tr>`;
}

export function failedPage(ctx: PageContext, page: FailedPage): string {
  const q = filterQuery(page.filter);
  const filtered = Object.keys(q).length > 0;
  const form = html`<form method="get" action="${ctx.base}/failed" class="filter">
<input name="queue" placeholder="queue" value="${q['queue'] ?? ''}"><input name="class" placeholder="class" value="${q['class'] ?? ''}">
<input name="exception" placeholder="exception" value="${q['exception'] ?? ''}"><button type="submit">Filter</button>${filtered ? html` <a href="${ctx.base}/failed">clear filter</a>` : ''}</form>`;
  const bulk = html`<p>${action(ctx, filtered ? 'Retry matching' : 'Retry all', '/failed/retry-all', q, filtered ? 'Retry every matching failure?' : 'Retry every failure?')}
${action(ctx, filtered ? 'Remove matching' : 'Clear all', '/failed/clear', q, filtered ? 'Remove every matching failure?' : 'Delete every failure?')}</p>`;
  const note = page.truncated ? html`<p class="note">Read the newest ${page.scanned} of ${page.total} failures for this filter.</p>` : '';
  const head = html`<tr><th>#</th><th>Queue</th><th>Class</th><th>Args</th><th>Exception</th><th>Failed at</th><th></th></tr>`;
  const body = html`${form}${bulk}${note}${filtered ? filteredPager(ctx, page, q) : pager(ctx, '/failed', page, q)}
${table(head, page.items.map((f) => failureRow(ctx, f)), filtered ? 'No failure matches.' : 'No failed jobs.')}`;
  return layout(ctx, '/failed', 'Failed', body);
}

/** A filtered page knows no total of matches (that would read the whole list): only newer / older links. */
function filteredPager(ctx: PageContext, page: FailedPage, query: Record<string, string>): SafeHtml {
  const link = (start: number, label: string): SafeHtml => html`<a href="${ctx.base}/failed?${new URLSearchParams({ ...query, start: String(start) }).toString()}">${label}</a>`;
  return html`<p class="pager">${page.start > 0 ? link(Math.max(0, page.start - page.count), '‹ newer') : ''}
 matches ${page.items.length === 0 ? 0 : page.start + 1}–${page.start + page.items.length} (of ${page.total} failures)
 ${page.items.length === page.count ? link(page.start + page.count, 'older ›') : ''}</p>`;
}

export function failurePage(ctx: PageContext, f: FailureView): string {
  const body = html`<dl><dt>Queue</dt><dd>${f.queue ?? '—'}</dd><dt>Class</dt><dd>${f.className ?? '—'}</dd><dt>Worker</dt><dd>${f.worker ?? '—'}</dd>
<dt>Failed at</dt><dd>${timeText(f.failedAt)}</dd><dt>Retried at</dt><dd>${timeText(f.retriedAt)}</dd><dt>Exception</dt><dd><b>${f.exception ?? '—'}</b></dd>
<dt>Error</dt><dd><pre>${f.error ?? ''}</pre></dd><dt>Args</dt><dd><pre>${jsonText(f.args, 100_000)}</pre></dd></dl>
<p>${action(ctx, 'Retry', `/failed/${f.index}/retry`, { raw: f.raw })} ${action(ctx, 'Remove', `/failed/${f.index}/remove`, { raw: f.raw }, 'Remove this failure?', `${ctx.base}/failed`)}</p>
<h2>Backtrace</h2><pre class="backtrace">${f.backtrace.join('\n')}</pre>`;
  return layout(ctx, '/failed', `Failure #${f.index}`, body);
}

export function delayedPage(ctx: PageContext, page: Page<DelayedTimestampRow>): string {
  const rows = page.items.map(
    (t) => html`<tr><td><a href="${ctx.base}/delayed/${t.at}">${timeText(t.at)}</a></td><td class="num">${t.at}</td><td class="num">${t.size}</td></tr>`,
  );
  const body = html`<p>${page.total} timestamps hold delayed jobs.</p>${pager(ctx, '/delayed', page)}
${table(html`<tr><th>Due</th><th class="num">Timestamp</th><th class="num">Jobs</th></tr>`, rows, 'No delayed jobs.')}`;
  return layout(ctx, '/delayed', 'Delayed', body);
}

export function delayedAtPage(ctx: PageContext, at: number, page: Page<DelayedJobView>): string {
  const rows = page.items.map(
    (j) => html`<tr><td class="num">${j.index}</td><td>${j.className ?? html`<em>unreadable</em>`}</td><td>${j.queue ?? '—'}</td><td><code>${j.args ? jsonText(j.args) : jsonText(j.raw)}</code></td>
<td>${j.className ? action(ctx, 'Enqueue now', `/delayed/${at}/enqueue`, { raw: j.raw }) : ''} ${action(ctx, 'Remove', `/delayed/${at}/remove`, { raw: j.raw }, 'Remove this delayed job?')}</td></tr>`,
  );
  const body = html`<p>Due ${timeText(at)}: ${page.total} jobs.</p>${pager(ctx, `/delayed/${at}`, page)}
${table(html`<tr><th>#</th><th>Class</th><th>Queue</th><th>Args</th><th></th></tr>`, rows, 'Nothing is due at this timestamp.')}`;
  return layout(ctx, '/delayed', `Delayed at ${at}`, body);
}

export function schedulesPage(ctx: PageContext, schedules: ScheduleView[]): string {
  const rows = schedules.map(
    (s) => html`<tr><td>${s.name}${s.description ? html`<br><small>${s.description}</small>` : ''}</td><td>${s.source}</td><td><code>${s.cron ?? (s.every ? `every ${s.every}` : '—')}</code></td>
<td>${s.className ?? '—'}</td><td>${s.queue ?? '—'}</td><td><code>${jsonText(s.args)}</code></td><td>${s.problem ? html`<span class="problem">${s.problem}</span>` : timeText(s.nextRun)}</td>
<td>${timeText(s.lastEnqueuedAt)}</td><td>${s.problem ? '' : action(ctx, 'Enqueue now', `/schedules/${encodeURIComponent(s.name)}/enqueue`)}</td></tr>`,
  );
  const head = html`<tr><th>Name</th><th>Source</th><th>When</th><th>Class</th><th>Queue</th><th>Args</th><th>Next run</th><th>Last enqueued</th><th></th></tr>`;
  return layout(ctx, '/schedules', 'Schedules', html`${table(head, rows, 'No recurring schedules.')}`);
}

/** The job's last `ctx.progress()`: a percentage as a bar and its number, an object as JSON; nothing when none. */
function progressItem(progress: ResqueProgress | null): SafeHtml {
  if (progress === null) return html``;
  if (typeof progress === 'number') {
    return html`<dt>Progress</dt><dd class="progress"><progress max="100" value="${String(progress)}"></progress> ${String(progress)}%</dd>`;
  }
  return html`<dt>Progress</dt><dd class="progress"><pre>${jsonText(progress, 2_000)}</pre></dd>`;
}

export function jobPage(ctx: PageContext, job: JobView | null, problem?: string): string {
  const form = html`<form method="get" action="${ctx.base}/jobs" class="filter"><input name="id" placeholder="job id (32 hex)" value="${job?.id ?? ''}"><button type="submit">Look up</button></form>`;
  let result: SafeHtml = problem ? html`<p class="problem">${problem}</p>` : html``;
  if (job && !job.status) result = html`<p class="empty">No status for ${job.id} (untracked, expired after a day, or unknown).</p>`;
  if (job?.status) {
    const s = job.status;
    result = html`<dl><dt>Id</dt><dd><code>${job.id}</code></dd><dt>Status</dt><dd><span class="status-${job.statusName ?? 'unknown'}">${job.statusName ?? s.status}</span></dd>
<dt>Enqueued</dt><dd>${timeText(s.started)}</dd><dt>Updated</dt><dd>${timeText(s.updated)}</dd>${progressItem(s.progress)}<dt>Result</dt><dd><pre>${jsonText(s.result, 100_000)}</pre></dd></dl>`;
  }
  return layout(ctx, '/jobs', 'Job status', html`${form}${result}`);
}

export function statsPage(ctx: PageContext, stats: StatsView): string {
  const info = Object.entries(stats.redis).map(([k, v]) => html`<tr><td>${k}</td><td>${v}</td></tr>`);
  const keys = stats.keys.map((k) => html`<tr><td><code>${k.key}</code></td><td>${k.type}</td><td class="num">${k.size}</td></tr>`);
  const body = html`<h2>Redis</h2>${table(html`<tr><th>Field</th><th>Value</th></tr>`, info, 'No INFO.')}
<h2>Keys</h2><p>${stats.dbsize} keys in this database (DBSIZE).</p>${table(html`<tr><th>Key</th><th>Type</th><th class="num">Size</th></tr>`, keys, '')}`;
  return layout(ctx, '/stats', 'Stats', body);
}

export function notFoundPage(ctx: PageContext, what: string): string {
  return layout(ctx, '', 'Not found', html`<p class="empty">${what}</p>`);
}

// The table (with ours-vs-peer and vs-floor ratios) and the JSON lines.
const fmt = (v, digits = 0) => (v === null || v === undefined || Number.isNaN(v) ? '–' : Number(v).toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }));

function pad(rows) {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => String(r[c]).length)));
  return rows.map((r) => r.map((cell, c) => (c >= 2 && c <= 6 ? String(cell).padStart(widths[c]) : String(cell).padEnd(widths[c]))).join('  ').trimEnd());
}

function note(r) {
  if (r.skipped) return `skipped: ${r.skipped}`;
  if (r.na) return `n/a: ${r.na}`;
  if (r.error) return `ERROR: ${r.error.split('\n')[0]}`;
  const bits = [];
  if (r.lateness_p50_ms !== undefined) bits.push(`lateness p50 ${fmt(r.lateness_p50_ms)} ms, p99 ${fmt(r.lateness_p99_ms)} ms, max ${fmt(r.lateness_max_ms)} ms${r.early ? `, ${r.early} early` : ''}`);
  if (r.enqueue_ms !== undefined) bits.push(`enqueue ${fmt(r.enqueue_ms)} ms${r.enqueued_before_due === false ? ' (NOT done before first due)' : ''}`);
  if (r.rss_growth_mb !== undefined) {
    bits.push(
      `parent RSS ${fmt(r.rss_after_warmup_mb, 1)} MB after warm-up, peak ${fmt(r.rss_peak_mb, 1)} (+${fmt(r.rss_growth_mb, 1)}), end ${fmt(r.rss_end_mb, 1)} over ${fmt(r.jobs_measured)} jobs; heap ${r.heap_growth_mb >= 0 ? '+' : ''}${fmt(r.heap_growth_mb, 1)} MB${r.forced_gc ? ' (live, full GC before each sample)' : ' (used, no forced GC)'}`,
    );
  }
  if (r.ms_per_job !== undefined) bits.push(`${fmt(r.ms_per_job, 1)} ms/job`);
  if (r.max_procs > 1) bits.push(`${r.max_procs} procs`);
  if (r.workers_at_end !== undefined) bits.push(`${r.workers_at_end} workers at end`);
  if (r.leftover_processes) bits.push(`${r.leftover_processes} leftover processes reaped`);
  return bits.join('; ');
}

/** Ratio lines for one scenario: ours vs each peer, and everyone vs the floors. */
function ratios(rows, scenario) {
  const ok = rows.filter((r) => r.jobs_per_s && !r.error);
  const ours = ok.find((r) => r.system === 'ours');
  const peers = ok.filter((r) => r.system !== 'ours' && !r.floor);
  const floors = ok.filter((r) => r.floor);
  const label = (r) => `${r.system} (${r.variant})`;
  const out = [];
  const delayed = scenario.kind === 'delayed';
  if (!ours) {
    const skipped = rows.find((r) => r.system === 'ours');
    out.push(`ours: ${skipped?.skipped ?? skipped?.error?.split('\n')[0] ?? 'no result'} — no ratios`);
  } else {
    for (const p of peers) {
      out.push(
        delayed
          ? `ours vs ${label(p)}: lateness p50 ${fmt(ours.lateness_p50_ms)} vs ${fmt(p.lateness_p50_ms)} ms, p99 ${fmt(ours.lateness_p99_ms)} vs ${fmt(p.lateness_p99_ms)} ms`
          : `ours vs ${label(p)}: ×${fmt(ours.jobs_per_s / p.jobs_per_s, 2)} throughput` +
              (ours.steady_jobs_per_s && p.steady_jobs_per_s ? `, ×${fmt(ours.steady_jobs_per_s / p.steady_jobs_per_s, 2)} steady` : '') +
              `, ×${fmt(ours.peak_rss_mb / p.peak_rss_mb, 2)} RSS`,
      );
    }
  }
  for (const f of floors) {
    for (const r of ok.filter((x) => !x.floor)) out.push(`${label(r)} = ${fmt((100 * r.jobs_per_s) / f.jobs_per_s, 1)} % of floor ${label(f)}`);
  }
  return out;
}

/** A scenario that re-runs another on different Redis (pool-4-cluster vs pool-4): ours here vs ours there, same run. */
function baselineRatios(results, scenario) {
  if (!scenario.compareTo) return [];
  const mine = results.find((r) => r.scenario === scenario.id && r.system === 'ours' && r.jobs_per_s && !r.error);
  const base = results.find((r) => r.scenario === scenario.compareTo && r.system === 'ours' && r.jobs_per_s && !r.error);
  if (!mine || !base) return [`ours vs ours on ${scenario.compareTo}: no ${mine ? scenario.compareTo : scenario.id} result in this run (run both: --only ${scenario.compareTo})`];
  return [
    `ours here vs ours on ${scenario.compareTo}: ×${fmt(mine.jobs_per_s / base.jobs_per_s, 2)} throughput` +
      (mine.steady_jobs_per_s && base.steady_jobs_per_s ? `, ×${fmt(mine.steady_jobs_per_s / base.steady_jobs_per_s, 2)} steady` : '') +
      `, ×${fmt(mine.peak_rss_mb / base.peak_rss_mb, 2)} RSS`,
  ];
}

/** The dashboard scenario: one line per page, server-time p50/p99 (ms) for each variant (adapter), and the page size. */
function dashboardTable(rows) {
  const measured = rows.filter((r) => r.pages);
  if (!measured.length) return [];
  const head = ['page'];
  for (const r of measured) head.push(`${r.variant} p50`, 'p99');
  head.push('KiB');
  const table = [head];
  for (const [i, { page, kib }] of measured[0].pages.entries()) {
    const line = [page];
    for (const r of measured) line.push(fmt(r.pages[i]?.p50_ms, 1), fmt(r.pages[i]?.p99_ms, 1));
    line.push(fmt(kib, 1));
    table.push(line);
  }
  const widths = head.map((_, c) => Math.max(...table.map((l) => String(l[c]).length)));
  return ['server time per page, ms (request received → response finished):', ...table.map((l) => l.map((cell, c) => (c ? String(cell).padStart(widths[c]) : String(cell).padEnd(widths[c]))).join('  ').trimEnd())];
}

export function printTable(results, scenarios, meta, write = (s) => process.stdout.write(s)) {
  write(`\nnestjs-resque bench — ${meta.mode} run, redis ${meta.redis_version}, node ${meta.node}, ${meta.cpus} CPUs, ${meta.pin}\n`);
  if (meta.load_1m > 0.5) write(`WARNING: load average ${meta.load_1m.toFixed(2)} at start — other work on this machine; numbers are noisy\n`);
  write(`versions: ${Object.entries(meta.versions).map(([k, v]) => `${k} ${v}`).join(', ')}\n`);
  write(`jobs/s = n / seconds from worker start (boot included); steady = jobs/s after the first 10 %; RSS = peak of the measured process tree\n`);
  for (const s of scenarios) {
    const rows = results.filter((r) => r.scenario === s.id);
    if (!rows.length) continue;
    write(`\n## ${s.id}: ${s.title}\n`);
    const table = [['system', 'variant', 'n', 'seconds', 'jobs/s', 'steady/s', 'RSS MB', 'notes']];
    for (const r of rows) {
      table.push([r.system + (r.floor ? ' (floor)' : ''), r.variant ?? '', fmt(r.n), fmt(r.seconds, 3), fmt(r.jobs_per_s), fmt(r.steady_jobs_per_s), fmt(r.peak_rss_mb, 1), note(r)]);
    }
    for (const line of pad(table)) write(`  ${line}\n`);
    if (s.kind === 'dashboard') {
      for (const line of dashboardTable(rows)) write(`  ${line}\n`);
      continue;
    }
    for (const line of ratios(rows, s)) write(`  → ${line}\n`);
    for (const line of baselineRatios(results, s)) write(`  → ${line}\n`);
  }
}

/** One JSON object per row: system, scenario, n, seconds, jobs_per_s, peak_rss_mb, then extras. */
export function jsonLine(r) {
  const { system, scenario, n, seconds, jobs_per_s, peak_rss_mb, ...extra } = r;
  return JSON.stringify({ system, scenario, n: n ?? null, seconds: seconds ?? null, jobs_per_s: jobs_per_s ?? null, peak_rss_mb: peak_rss_mb ?? null, ...extra });
}

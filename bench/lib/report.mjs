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
  if (r.round !== undefined) bits.push(`round ${r.round}`);
  if (r.cpu_us_per_job !== undefined && r.steady_jobs_per_s === undefined) bits.push(`CPU/enqueue: producer ${fmt(r.cpu_us_per_job, 1)} µs, redis-server ${fmt(r.redis_cpu_us_per_job, 1)} µs`);
  else if (r.cpu_us_per_job !== undefined) bits.push(`CPU/job steady: worker ${fmt(r.cpu_us_per_job, 1)} µs, redis-server ${fmt(r.redis_cpu_us_per_job, 1)} µs`);
  if (r.unique_locks !== undefined && r.unique_locks) bits.push(`${fmt(r.unique_locks)} unique locks taken`);
  if (r.cpu_ms_per_s !== undefined) {
    const top = Object.entries(r.redis_cmds ?? {}).sort((a, b) => b[1] - a[1]).slice(0, 4);
    bits.push(`worker CPU ${fmt(r.cpu_ms_per_s, 2)} ms/s; Redis ${fmt(r.redis_cmds_per_s, 1)} commands/s (${top.map(([c, v]) => `${c} ${fmt(v, 1)}`).join(', ') || 'none'}), redis-server CPU ${fmt(r.redis_cpu_ms_per_s, 2)} ms/s; ${r.processed} run, ${r.waiting} waiting`);
  }
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

const median = (values) => {
  const v = values.filter((x) => typeof x === 'number' && !Number.isNaN(x)).sort((a, b) => a - b);
  if (!v.length) return null;
  const mid = Math.floor(v.length / 2);
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
};

/**
 * Policy scenarios: the median of each variant's rounds next to the first variant's (the plain path, or the
 * idle worker), as ratios; with `maxCostPct`, whether the throughput stays within it.
 */
function policySummary(rows, scenario) {
  if (!scenario.policies) return [];
  const ok = rows.filter((r) => r.policy && !r.error && !r.skipped);
  const of = (policy) => ok.filter((r) => r.policy === policy);
  const m = (policy, field) => median(of(policy).map((r) => r[field]));
  const ratio = (a, b) => (a === null || b === null || !b ? '–' : `×${fmt(a / b, 3)}`);
  const out = [];
  if (scenario.kind === 'idle') {
    // Against the first variant (an idle worker on an empty queue); client calls = scripts + blocking pops.
    const base = of(scenario.policies[0])[0];
    for (const p of scenario.policies) {
      const r = of(p)[0];
      if (!r) continue;
      const calls = (r.redis_cmds?.evalsha ?? 0) + (r.redis_cmds?.blmove ?? 0);
      let line = `${r.variant}: worker CPU ${fmt(r.cpu_ms_per_s, 2)} ms/s (${fmt(r.cpu_ms_per_s / 10, 3)} % of a CPU), ${fmt(calls, 1)} client calls/s (EVALSHA ${fmt(r.redis_cmds?.evalsha ?? 0, 1)}, BLMOVE ${fmt(r.redis_cmds?.blmove ?? 0, 1)}), ${fmt(r.redis_cmds_per_s, 1)} Redis commands/s with the scripts' own`;
      if (base && r !== base) line += `; vs ${base.variant}: CPU ${ratio(r.cpu_ms_per_s, base.cpu_ms_per_s)}, commands ${ratio(r.redis_cmds_per_s, base.redis_cmds_per_s)}`;
      out.push(line);
    }
    return out;
  }
  const [base, ...others] = scenario.policies;
  const baseLabel = of(base)[0]?.variant ?? base;
  for (const p of others) {
    const label = of(p)[0]?.variant ?? p;
    const [a, b] = [m(p, 'jobs_per_s'), m(base, 'jobs_per_s')];
    if (a === null || b === null) {
      out.push(`${label}: no result to compare with ${baseLabel}`);
      continue;
    }
    const steady = [m(p, 'steady_jobs_per_s'), m(base, 'steady_jobs_per_s')];
    let line = `${label} vs ${baseLabel}, medians of ${of(p).length} and ${of(base).length} interleaved runs: ${fmt(a)} vs ${fmt(b)} jobs/s = ${ratio(a, b)}`;
    if (steady[0] !== null && steady[1] !== null) line += `, steady ${fmt(steady[0])} vs ${fmt(steady[1])} = ${ratio(...steady)}`;
    // CPU per job (worker + redis-server, steady part): what a policy adds, and far less sensitive than
    // wall-clock throughput to other work on a shared machine.
    const cpu = (policy) => {
      const [w, r] = [m(policy, 'cpu_us_per_job'), m(policy, 'redis_cpu_us_per_job')];
      return w === null || r === null ? null : w + r;
    };
    if (m(p, 'cpu_us_per_job') !== null && m(p, 'steady_jobs_per_s') === null) {
      line += `; CPU/enqueue producer ${ratio(m(p, 'cpu_us_per_job'), m(base, 'cpu_us_per_job'))}, redis-server ${ratio(m(p, 'redis_cpu_us_per_job'), m(base, 'redis_cpu_us_per_job'))}, both ${fmt(cpu(p), 1)} vs ${fmt(cpu(base), 1)} µs = ${ratio(cpu(p), cpu(base))}`;
    } else if (m(p, 'cpu_us_per_job') !== null) {
      line += `; CPU/job worker ${ratio(m(p, 'cpu_us_per_job'), m(base, 'cpu_us_per_job'))}, redis-server ${ratio(m(p, 'redis_cpu_us_per_job'), m(base, 'redis_cpu_us_per_job'))}, both ${fmt(cpu(p), 1)} vs ${fmt(cpu(base), 1)} µs = ${ratio(cpu(p), cpu(base))}`;
    }
    out.push(line);
    if (scenario.maxCostPct !== undefined) {
      const pct = scenario.maxCostPct;
      // Throughput: the policy's rate may not fall below (1 − pct) of the plain one; CPU per job may not exceed (1 + pct).
      const signed = (x, y) => `${x / y >= 1 ? '+' : ''}${fmt(100 * (x / y - 1), 1)} %`;
      const rate = (x, y, what) => `${what} ${signed(x, y)} (${x / y >= 1 - pct / 100 ? `ok: not ${pct} % slower` : `OUTSIDE: more than ${pct} % slower`})`;
      const cost = (x, y) => `CPU/job ${signed(x, y)} (${x / y <= 1 + pct / 100 ? `ok: not ${pct} % more` : `OUTSIDE: more than ${pct} % more`})`;
      const verdicts = [rate(a, b, 'throughput')];
      if (steady[0] !== null && steady[1] !== null) verdicts.push(rate(steady[0], steady[1], 'steady'));
      if (cpu(p) !== null && cpu(base) !== null) verdicts.push(cost(cpu(p), cpu(base)));
      out.push(`${label}: ${verdicts.join(', ')}`);
    }
  }
  return out;
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
    if (s.note) write(`  (${s.note})\n`);
    const table = [['system', 'variant', 'n', 'seconds', 'jobs/s', 'steady/s', 'RSS MB', 'notes']];
    for (const r of rows) {
      table.push([r.system + (r.floor ? ' (floor)' : ''), r.variant ?? '', fmt(r.n), fmt(r.seconds, 3), fmt(r.jobs_per_s), fmt(r.steady_jobs_per_s), fmt(r.peak_rss_mb, 1), note(r)]);
    }
    for (const line of pad(table)) write(`  ${line}\n`);
    if (s.kind === 'dashboard') {
      for (const line of dashboardTable(rows)) write(`  ${line}\n`);
      continue;
    }
    if (!s.policies) for (const line of ratios(rows, s)) write(`  → ${line}\n`);
    for (const line of baselineRatios(results, s)) write(`  → ${line}\n`);
    for (const line of policySummary(rows, s)) write(`  → ${line}\n`);
  }
}

/** One JSON object per row: system, scenario, n, seconds, jobs_per_s, peak_rss_mb, then extras. */
export function jsonLine(r) {
  const { system, scenario, n, seconds, jobs_per_s, peak_rss_mb, ...extra } = r;
  return JSON.stringify({ system, scenario, n: n ?? null, seconds: seconds ?? null, jobs_per_s: jobs_per_s ?? null, peak_rss_mb: peak_rss_mb ?? null, ...extra });
}

// One measured process: runs one role (enqueue | work | delayed | …) of one system and reports the
// result to the harness over IPC. Options come in BENCH_OPTS.
//
// A system may re-execute this script in its own children (the worker host re-runs its parent's entry
// with the same argv and env). Those are not the harness's direct children: they call the system's
// `reexec(opts)` instead of speaking the harness protocol.
import { existsSync } from 'node:fs';

const opts = JSON.parse(process.env.BENCH_OPTS ?? '{}');
const isHarnessChild = typeof process.send === 'function' && String(process.ppid) === process.env.BENCH_HARNESS_PID;
// A re-executed child loads the system's light `<id>.reexec.mjs` when there is one: only what a user's
// worker entry would load (the fork floor's children load no harness code either).
const light = new URL(`./systems/${opts.system}.reexec.mjs`, import.meta.url);
const system = await import(!isHarnessChild && existsSync(light) ? light.href : `./systems/${opts.system}.mjs`);

if (!isHarnessChild) {
  if (typeof system.reexec !== 'function') {
    console.error(`bench/child.mjs started outside the harness and ${opts.system} has no reexec()`);
    process.exit(2);
  }
  await system.reexec(opts);
} else {
  let message;
  try {
    const fn = system[opts.role];
    if (typeof fn !== 'function') throw new Error(`${opts.system} has no role "${opts.role}"`);
    const result = await fn(opts);
    message = { type: 'result', result: { ...result, max_rss_kb: process.resourceUsage().maxRSS } };
  } catch (error) {
    message = { type: 'error', error: error?.stack ?? String(error) };
  }
  // Exit explicitly once reported: the roles close what they opened, but a lingering handle in a
  // system under test must not stall the whole bench run (leftover children are reaped by the harness).
  process.send(message, () => process.exit(message.type === 'result' ? 0 : 1));
}

import { spawn, type ChildProcess } from 'node:child_process';
import type { DynamicModule } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { ResqueSchedules } from '../../lib/scheduler/scheduler.schedules.service.js';
import { ResqueScheduler } from '../../lib/scheduler/scheduler.service.js';
import type { FixtureKeys } from '../support/fixtures.js';

/**
 * Test helpers for the scheduler specs (not an entrypoint): fixture timestamp shifting and a scheduler
 * process started the way users run a .ts entrypoint.
 */

/** Rewrites every delayed timestamp of a fixture state (key names, zset members and scores, index members). */
export function shiftTimestamps(keys: FixtureKeys, mapping: Record<string, number>): FixtureKeys {
  const swap = (text: string): string => text.replace(/delayed:(\d+)/g, (m, ts: string) => (mapping[ts] ? `delayed:${mapping[ts]}` : m));
  const out: FixtureKeys = {};
  for (const [key, entry] of Object.entries(keys)) {
    const name = key.includes(':timestamps:') ? key : swap(key);
    if (entry.type === 'zset' && key.endsWith(':delayed_queue_schedule')) {
      const pairs = (entry.value as Array<[string, number]>).map(([m]) => {
        const ts = mapping[m] ?? Number(m);
        return [String(ts), ts] as [string, number];
      });
      out[name] = { ...entry, value: pairs };
    } else if (entry.type === 'set' && key.includes(':timestamps:')) {
      out[name] = { ...entry, value: (entry.value as string[]).map(swap) };
    } else {
      out[name] = entry;
    }
  }
  return out;
}

export interface SchedulerProcess {
  readonly child: ChildProcess;
  /** Resolves with the lock owner (`host:pid`) once the first pass has run. */
  readonly ready: Promise<string>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output(): string;
}

/** `node --import ./test/support/ts-register.mjs test/apps/scheduler-main.ts` with the given env. */
export function startSchedulerProcess(env: Record<string, string>): SchedulerProcess {
  const child = spawn(process.execPath, ['--import', './test/support/ts-register.mjs', 'test/apps/scheduler-main.ts'], {
    cwd: new URL('../..', import.meta.url).pathname,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const ready = new Promise<string>((resolve, reject) => {
    const onData = (): void => {
      const match = /^ready (\S+)$/m.exec(out);
      if (match) {
        child.stdout.off('data', onData);
        resolve(match[1]!);
      }
    };
    child.stdout.on('data', onData);
    void exited.then(({ code, signal }) => reject(new Error(`scheduler exited (${code ?? signal}) before ready:\n${out}`)));
  });
  ready.catch(() => undefined);
  return { child, ready, exited, output: () => out };
}

/** Polls until check() is true (or fails after the deadline, with what it last saw). */
export async function waitFor(check: () => Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Pushes `count` due items of our format in pages (one timestamp per 1000 items). */
export async function pushDueItems(redis: Redis, namespace: string, count: number, baseTs: number): Promise<void> {
  const perTs = 1000;
  for (let start = 0; start < count; start += perTs) {
    const ts = baseTs + Math.floor(start / perTs);
    const items: string[] = [];
    for (let n = start; n < Math.min(count, start + perTs); n++) items.push(JSON.stringify({ class: 'Bulk', args: [{ n }], queue: 'bulk' }));
    const multi = redis.multi().rpush(`${namespace}:delayed:${ts}`, ...items).zadd(`${namespace}:delayed_queue_schedule`, ts, String(ts));
    for (const item of items) multi.sadd(`${namespace}:timestamps:${item}`, `delayed:${ts}`);
    await multi.exec();
  }
}

/**
 * ResqueModule.forRoot() with the scheduler's providers added inside it, as the lead wires them in
 * lib/resque.module.ts (so they can inject the module options), for tests that run before that lands.
 */
export function withSchedulerProviders(module: DynamicModule): DynamicModule {
  const extra = [ResqueScheduler, ResqueSchedules];
  const providers = [...(module.providers ?? [])];
  const exports = [...(module.exports ?? [])];
  for (const provider of extra) {
    if (!providers.includes(provider)) providers.push(provider);
    if (!exports.includes(provider)) exports.push(provider);
  }
  return { ...module, providers, exports };
}

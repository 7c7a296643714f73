import { existsSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { normalizeNamespace } from '../protocol/index.js';

/**
 * Shared readers for php-resque's environment variables (resque-protocol.md §11). Every reader rejects a
 * bad value with an EnvConfigError naming the variable and quoting the value, before anything starts.
 *
 * Unset and empty are the same for every variable except BLOCKING: php-resque tests them with PHP's
 * `empty()`, so `COUNT=` or `PREFIX=` mean "use the default". For the on/off switches LOGGING, VERBOSE and
 * VVERBOSE php's `empty()` also treats "0" as off, and so do we. BLOCKING is php's `getenv() !== false`:
 * any value, even "0" or "", turns it on.
 */
export type Env = Readonly<Record<string, string | undefined>>;

export class EnvConfigError extends Error {
  override readonly name = 'EnvConfigError';
  constructor(
    readonly variable: string,
    readonly value: string,
    expected: string,
  ) {
    super(`${variable} ${expected}, got ${JSON.stringify(value)}`);
  }
}

/** The value, or undefined when unset or empty (php's `empty()` for strings other than "0"). */
export function envValue(env: Env, name: string): string | undefined {
  const value = env[name];
  return value === undefined || value === '' ? undefined : value;
}

/** php's `empty()`: unset, "" and "0" are off; anything else is on. */
export function envFlag(env: Env, name: string): boolean {
  const value = env[name];
  return value !== undefined && value !== '' && value !== '0';
}

/** php's `getenv(NAME) !== false`: set at all (even to "" or "0") means on. */
export function envPresent(env: Env, name: string): boolean {
  return env[name] !== undefined;
}

export function envPositiveInt(env: Env, name: string): number | undefined {
  const raw = envValue(env, name);
  if (raw === undefined) return undefined;
  const text = raw.trim();
  if (!/^\d+$/.test(text) || Number(text) < 1 || !Number.isSafeInteger(Number(text))) {
    throw new EnvConfigError(name, raw, 'must be a positive integer');
  }
  return Number(text);
}

export function envNonNegativeInt(env: Env, name: string): number | undefined {
  const raw = envValue(env, name);
  if (raw === undefined) return undefined;
  const text = raw.trim();
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(Number(text))) {
    throw new EnvConfigError(name, raw, 'must be a non-negative integer');
  }
  return Number(text);
}

/** Seconds, fractions allowed (`0.5`); returned as a number, never truncated (php's (int) cast on BLPOP blocks forever). */
export function envSeconds(env: Env, name: string): number | undefined {
  const raw = envValue(env, name);
  if (raw === undefined) return undefined;
  const text = raw.trim();
  const value = Number(text);
  if (!/^(\d+(\.\d*)?|\.\d+)$/.test(text) || !Number.isFinite(value) || value <= 0) {
    throw new EnvConfigError(name, raw, 'must be a positive number of seconds (fractions allowed)');
  }
  return value;
}

/** Ruby's RESQUE_*_TIMEOUT: seconds >= 0, fractions allowed (`Float(ENV[...])`), returned in milliseconds. */
export function envSecondsAsMs(env: Env, name: string): number | undefined {
  const raw = envValue(env, name);
  if (raw === undefined) return undefined;
  const text = raw.trim();
  const value = Number(text);
  if (!/^(\d+(\.\d*)?|\.\d+)$/.test(text) || !Number.isFinite(value)) {
    throw new EnvConfigError(name, raw, 'must be a number of seconds >= 0 (fractions allowed)');
  }
  return Math.round(value * 1000);
}

/** PREFIX: php appends ':' when missing, so `foo` and `foo:` are the same namespace `foo`. */
export function envNamespace(env: Env, name = 'PREFIX'): string | undefined {
  const raw = envValue(env, name);
  if (raw === undefined) return undefined;
  try {
    return normalizeNamespace(raw);
  } catch {
    throw new EnvConfigError(name, raw, 'must be a key namespace such as "resque" or "resque:"');
  }
}

/** Log levels the env switches select: LOGGING/VERBOSE → 'verbose', VVERBOSE → 'debug' (the louder one wins). */
export type EnvLogLevel = 'verbose' | 'debug';

export function envLogLevel(env: Env): EnvLogLevel | undefined {
  if (envFlag(env, 'VVERBOSE')) return 'debug';
  if (envFlag(env, 'LOGGING') || envFlag(env, 'VERBOSE')) return 'verbose';
  return undefined;
}

/** PIDFILE as an absolute path (resolved against the working directory). */
export function envPidFile(env: Env): string | undefined {
  const raw = envValue(env, 'PIDFILE');
  return raw === undefined ? undefined : resolve(raw);
}

/** APP_INCLUDE as an absolute path; like php-resque, a missing file is an error. */
export function envAppInclude(env: Env): string | undefined {
  const raw = envValue(env, 'APP_INCLUDE');
  if (raw === undefined) return undefined;
  const path = isAbsolute(raw) ? raw : resolve(raw);
  if (!existsSync(path)) throw new EnvConfigError('APP_INCLUDE', raw, `must name an existing file (${path} not found)`);
  return path;
}

/** Imports APP_INCLUDE (if set) for its side effects, before the worker or scheduler module is loaded. */
export async function importAppInclude(env: Env): Promise<string | undefined> {
  const path = envAppInclude(env);
  if (path !== undefined) await import(pathToFileURL(path).href);
  return path;
}

/** Nest's log levels, as a list for `createApplicationContext({ logger })`. */
export type NestLogLevel = 'log' | 'error' | 'warn' | 'debug' | 'verbose' | 'fatal';

/**
 * One verbosity mapping for every process we start. Worker and scheduler parents: errors, warnings and
 * lifecycle lines; pool children: errors and warnings (a job's `Logger.log` stays quiet). LOGGING/VERBOSE add
 * `verbose` (and `log` in children), VVERBOSE adds `debug` too: louder never hides what quieter showed.
 */
export function resqueLogLevels(level: EnvLogLevel | undefined, role: 'parent' | 'child' = 'parent'): NestLogLevel[] {
  const levels: NestLogLevel[] = role === 'child' ? ['fatal', 'error', 'warn'] : ['fatal', 'error', 'warn', 'log'];
  if (level === 'verbose' || level === 'debug') {
    if (role === 'child') levels.push('log');
    levels.push('verbose');
  }
  if (level === 'debug') levels.push('debug');
  return levels;
}

import { BadRequestException } from '@nestjs/common';
import type { FailureFilter } from '../admin/admin.types.js';

/** Reading the dashboard's route parameters, query strings and bodies: bad input is a 400 naming the field. */
export type QueryMap = Record<string, string | string[] | undefined>;
export type BodyMap = Record<string, unknown> | undefined;

export function intParam(value: unknown, name: string, fallback?: number): number {
  if ((value === undefined || value === '') && fallback !== undefined) return fallback;
  const n = typeof value === 'string' && /^\d{1,15}$/.test(value) ? Number(value) : typeof value === 'number' ? value : NaN;
  if (!Number.isSafeInteger(n) || n < 0) throw new BadRequestException(`${name} must be a non-negative integer`);
  return n;
}

export function stringField(body: BodyMap, name: string): string {
  const value = body?.[name];
  if (typeof value !== 'string' || value === '') throw new BadRequestException(`body.${name} must be a non-empty string`);
  return value;
}

export function filterOf(source: QueryMap | BodyMap): FailureFilter {
  const filter: FailureFilter = {};
  for (const key of ['queue', 'class', 'exception'] as const) {
    const value = source?.[key];
    if (typeof value === 'string' && value !== '') filter[key] = value;
  }
  return filter;
}

/** The filter, or undefined when it names nothing (the action then covers the whole list). */
export function filterOrAll(source: BodyMap): FailureFilter | undefined {
  const f = filterOf(source);
  return f.queue !== undefined || f.class !== undefined || f.exception !== undefined ? f : undefined;
}

export function startOf(query: QueryMap): number {
  return intParam(query['start'], 'start', 0);
}

/** 1..500 (a count of 0 would make LRANGE start..start-1 read to the end of the list). */
export function countOf(query: QueryMap, pageSize: number): number {
  const count = intParam(query['count'], 'count', pageSize);
  if (count < 1 || count > 500) throw new BadRequestException('count must be 1..500');
  return count;
}

/** An index alone, or with the exact entry read (`raw`) so the action follows it if the list shifted. */
export function failureTarget(index: string, body: BodyMap): number | { index: number; raw: string } {
  const i = intParam(index, 'index');
  const raw = body?.['raw'];
  return typeof raw === 'string' && raw !== '' ? { index: i, raw } : i;
}

/** Service errors about bad input (TypeError/RangeError) become 400 instead of 500. */
export async function input<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof TypeError || error instanceof RangeError) throw new BadRequestException(error.message);
    throw error;
  }
}

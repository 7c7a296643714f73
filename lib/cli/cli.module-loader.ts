import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Type } from '@nestjs/common';

// Nest's @Module() stores these metadata keys on the class (MODULE_METADATA in @nestjs/common/constants,
// not exported from the package root, so spelled out here).
const MODULE_KEYS = ['imports', 'providers', 'controllers', 'exports'] as const;

/**
 * True for a class decorated with @Module() with at least one of imports/providers/controllers/exports:
 * Nest stores nothing for `@Module({})`, so an empty module can only be chosen by name or as the default export.
 */
export function isNestModuleClass(value: unknown): value is Type<unknown> {
  if (typeof value !== 'function') return false;
  return MODULE_KEYS.some((key) => Reflect.getMetadataKeys(value).includes(key));
}

/**
 * Imports the file and picks its Nest module: the export named `moduleName`, else the default export if it
 * is a module, else the only exported module class. Errors name the file and the candidates.
 */
export async function loadModuleClass(path: string, moduleName?: string): Promise<Type<unknown>> {
  const file = resolve(path);
  if (!existsSync(file)) throw new Error(`module file not found: ${file}`);
  const exports = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  return pickModuleClass(exports, file, moduleName);
}

export function pickModuleClass(exports: Record<string, unknown>, file: string, moduleName?: string): Type<unknown> {
  const modules = Object.entries(exports).filter(([, value]) => isNestModuleClass(value));
  const names = modules.map(([name]) => name).join(', ') || 'none';
  if (moduleName !== undefined) {
    const chosen = exports[moduleName];
    if (chosen === undefined) throw new Error(`${file} has no export named "${moduleName}" (Nest modules exported: ${names})`);
    if (typeof chosen !== 'function') throw new Error(`export "${moduleName}" of ${file} is not a Nest module class`);
    return chosen as Type<unknown>;
  }
  const fallback = exports['default'];
  if (isNestModuleClass(fallback)) return fallback;
  const distinct = [...new Set(modules.map(([, value]) => value))];
  if (distinct.length === 1) return distinct[0] as Type<unknown>;
  // An empty `@Module({})` default export leaves no metadata to recognise it by.
  if (distinct.length === 0 && typeof fallback === 'function') return fallback as Type<unknown>;
  if (distinct.length === 0) throw new Error(`${file} exports no Nest module class (a class decorated with @Module())`);
  throw new Error(`${file} exports several Nest modules (${names}): choose one with --module <name>`);
}

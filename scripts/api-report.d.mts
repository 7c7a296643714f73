/** One package entry with typings (see api-report.mjs). */
export interface ApiEntry {
  /** '.' for the root, './testing', ... */
  readonly subpath: string;
  /** Its .d.ts, relative to the package root (or absolute). */
  readonly types: string;
  /** Its JavaScript file, when the entry has one. */
  readonly js: string | undefined;
}

export interface ApiName {
  readonly name: string;
  /** 'class', 'function', 'interface', 'type', 'const', 'let', 'enum', 'namespace', or 'type-only <value kind>'. */
  readonly kinds: string[];
}

export interface ApiEntryReport extends ApiEntry {
  readonly names: ApiName[];
}

export function entries(packageJson: { exports?: unknown; types?: string; main?: string }): ApiEntry[];
export function collect(entryList: readonly ApiEntry[]): ApiEntryReport[];
export function render(report: readonly ApiEntryReport[]): string;
export function runtimeMismatches(report: readonly ApiEntryReport[]): Promise<string[]>;
export function differences(committed: string, current: string): { added: string[]; removed: string[] };

// The README is the manual: these checks fail when an option, variable or event exists in the code but not
// in the README (or a section the lead fills is gone). Snippet compilation itself is scripts/check-readme.mjs.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { RESQUE_EVENT_NAMES } from '../lib/events/events.types.js';
import { USAGE } from '../lib/cli/cli.args.js';

const root = new URL('../', import.meta.url);
const readme = readFileSync(new URL('README.md', root), 'utf8');
const sampleReadme = readFileSync(new URL('sample/README.md', root), 'utf8');

/** Member names of an exported interface, read from its source (`  name?: type;` lines). */
function interfaceMembers(file: string, name: string): string[] {
  const source = readFileSync(new URL(file, root), 'utf8');
  const start = source.search(new RegExp(`export interface ${name}\\b[^{]*\\{`));
  if (start < 0) throw new Error(`interface ${name} not found in ${file}`);
  const body = source.slice(source.indexOf('{', start) + 1);
  const members: string[] = [];
  let depth = 0;
  for (const line of body.split('\n')) {
    if (depth === 0 && /^\}/.test(line)) break;
    const m = /^ {2}(\w+)\??:/.exec(line);
    if (depth === 0 && m) members.push(m[1]!);
    depth += (line.match(/\{/g) ?? []).length - (line.match(/\}/g) ?? []).length;
  }
  if (members.length === 0) throw new Error(`interface ${name} in ${file} has no members`);
  return members;
}

function undocumented(names: readonly string[]): string[] {
  return names.filter((n) => !readme.includes(`\`${n}\``));
}

type Extract = (markdown: string) => Array<{ firstLine: number; body: string[] }>;

describe('README.md documents what the code has', () => {
  it('every ResqueModule option', () => {
    expect(undocumented([...interfaceMembers('lib/resque.options.ts', 'ResqueModuleOptions'), 'isGlobal'])).toEqual([]);
  });

  it('every worker host option', () => {
    expect(undocumented(interfaceMembers('lib/worker/worker.options.ts', 'ResqueWorkerHostOptions'))).toEqual([]);
  });

  it('every scheduler option', () => {
    expect(undocumented(interfaceMembers('lib/scheduler/scheduler.types.ts', 'SchedulerOptions'))).toEqual([]);
    expect(undocumented(interfaceMembers('lib/scheduler/scheduler.env.ts', 'ResqueSchedulerHostOptions'))).toEqual([]);
  });

  it('every @Job option and recurring schedule member', () => {
    expect(undocumented(interfaceMembers('lib/decorators/decorators.types.ts', 'JobOptions'))).toEqual([]);
    const schedule = interfaceMembers('lib/scheduler/scheduler.types.ts', 'RecurringScheduleConfig').filter((m) => m !== 'persist');
    expect(undocumented(schedule)).toEqual([]);
  });

  it('every environment variable the CLI lists, plus QUEUES', () => {
    const vars = [...USAGE.matchAll(/^\s{2}([A-Z_]+)(?:, ([A-Z_]+))?/gm)].flatMap((m) => [m[1]!, m[2]].filter(Boolean) as string[]);
    expect(vars).toEqual(expect.arrayContaining(['QUEUE', 'COUNT', 'PREFIX', 'INTERVAL', 'BLOCKING', 'PIDFILE', 'REDIS_BACKEND']));
    expect(undocumented([...vars, 'VVERBOSE', 'QUEUES'])).toEqual([]);
  });

  it('every event', () => {
    expect(undocumented(RESQUE_EVENT_NAMES)).toEqual([]);
  });

  it('keeps the placeholders the lead fills with measured numbers', () => {
    expect(readme).toContain('<!-- bench:isolation -->');
    expect(readme).toContain('<!-- bench:table -->');
  });

  it('the sample README covers the demo switches and resque-web', () => {
    for (const word of ['SAMPLE_EXIT_AFTER_DEMO', 'REDIS_URL', 'resque-web', '-N resque', 'sample/.data']) {
      expect(sampleReadme).toContain(word);
    }
  });
});

// A string variable, not a literal: the .mjs script has no declaration file for TypeScript to resolve.
const CHECK_README: string = '../scripts/check-readme.mjs';

describe('scripts/check-readme.mjs', () => {
  it('extracts ```ts blocks with the README line of their first line', async () => {
    const { extractTsBlocks } = (await import(CHECK_README)) as { extractTsBlocks: Extract };
    const markdown = ['# t', '```ts', 'const a = 1;', '```', 'text', '```sh', 'ls', '```', '```typescript', '// not-compiled', 'x', '```'].join('\n');
    expect(extractTsBlocks(markdown)).toEqual([
      { firstLine: 3, body: ['const a = 1;'] },
      { firstLine: 10, body: ['// not-compiled', 'x'] },
    ]);
    expect(() => extractTsBlocks('```ts\nconst open = true;\n')).toThrow(/never closed/);
  });

  it('finds every ts block of the README (a fence typo would hide a snippet from the check)', async () => {
    const { extractTsBlocks } = (await import(CHECK_README)) as { extractTsBlocks: Extract };
    const fences = readme.split('\n').filter((line) => /^\s*```\s*(ts|typescript)\s*$/.test(line)).length;
    expect(fences).toBeGreaterThan(10);
    expect(extractTsBlocks(readme)).toHaveLength(fences);
  });
});

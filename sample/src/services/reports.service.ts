import { Injectable } from '@nestjs/common';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** Renders small text reports to the sample's data folder. */
@Injectable()
export class ReportsService {
  readonly folder = join(process.env.SAMPLE_DATA_DIR ?? join(process.cwd(), 'sample', '.data'), 'reports');

  async render(title: string, rows: number[]): Promise<{ file: string; total: number }> {
    await mkdir(this.folder, { recursive: true });
    const total = rows.reduce((sum, n) => sum + n, 0);
    const file = join(this.folder, `${title.replace(/[^a-z0-9]/gi, '-')}-${Date.now()}.txt`);
    const lines = rows.map((n, i) => `row ${i + 1}: ${n}`);
    await writeFile(file, [`# ${title}`, ...lines, `total: ${total}`, ''].join('\n'));
    return { file, total };
  }
}

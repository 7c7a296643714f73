import { Injectable } from '@nestjs/common';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** A stand-in mailer: writes each message as an .eml file under the sample's data folder. */
@Injectable()
export class OutboxService {
  readonly folder = join(process.env.SAMPLE_DATA_DIR ?? join(process.cwd(), 'sample', '.data'), 'outbox');

  async send(to: string, subject: string, body: string): Promise<string> {
    await mkdir(this.folder, { recursive: true });
    const file = join(this.folder, `${Date.now()}-${to.replace(/[^a-z0-9@.]/gi, '_')}.eml`);
    await writeFile(file, `To: ${to}\nSubject: ${subject}\n\n${body}\n`);
    return file;
  }
}

import { Job, Perform } from 'nestjs-resque';
import { ReportsService } from '../services/reports.service.js';

/** A recurring job: the scheduler enqueues it every 5 seconds (6-field cron). */
@Job('Digest', { queue: 'reports', schedule: { cron: '*/5 * * * * *', params: { kind: 'five-second digest' } } })
export class DigestJob {
  constructor(private readonly reports: ReportsService) {}

  @Perform()
  async perform(params: { kind: string }): Promise<{ file: string }> {
    const { file } = await this.reports.render(params.kind, [1, 2, 3]);
    return { file };
  }
}
